"""Provenance of sources and items, and a story's count of independent confirmations."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from vigil.adapters.config.sources import load_sources
from vigil.domain import provenance
from vigil.domain.errors import ConfigError
from vigil.domain.models import ChannelSettings, Item, Source, Story, Subscription
from vigil.domain.stories import confirmed_by
from vigil.ports import FeedOutcome
from vigil.render.slack import render_alert, render_digest, render_reply
from vigil.services.commands import Commands, SlashCommand
from vigil.services.cycle import CycleOptions, run_cycle
from vigil.services.store import Store

from tests.unit.test_pipeline import NOW, TOPICS, FakeReader, ListSink, item, known_sources_store

# Our own wording: one event, three reports.
WIRE_STORY = "Russia and China sign pact on joint bomber patrols over the Pacific"
REPRINT = "Russia and China sign pact on joint bomber patrols over the Pacific - Harbor Ledger"
OWN_REPORT = "Moscow and Beijing agree to more joint bomber patrols near Japan"

SOURCES = [
    Source("wire", "https://wire.example/feed", name="Wire", provenance="wire"),
    Source("paper", "https://paper.example/feed", name="Harbor Ledger"),
    Source("daily", "https://daily.example/feed", name="Daily"),
    Source("gov", "https://gov.example/feed", name="Ministry", provenance="official"),
]


@pytest.fixture
def store() -> Iterator[Store]:
    s = known_sources_store(SOURCES, [Subscription("C1", "russia-china-military")])
    yield s
    s.close()


def run(store: Store, feeds: dict[str, list[Item]]) -> ListSink:
    sink = ListSink(store)
    reader = FakeReader({sid: FeedOutcome(items=items, status=200) for sid, items in feeds.items()})
    run_cycle(SOURCES, TOPICS, store, reader, sink, CycleOptions(force=True), now=NOW)
    return sink


def report(source: str, title: str, n: int = 0) -> Item:
    return dataclasses.replace(item(source, title, n=n), source_name=next(
        s.display_name for s in SOURCES if s.id == source))


def test_config_defaults_provenance_from_known_outlets_and_validates_it(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[sources]]\nid = "tass"\nurl = "https://tass.com/rss/v2.xml"\n\n'
                    '[[sources]]\nid = "blog"\nurl = "https://blog.example/feed"\n\n'
                    '[[sources]]\nid = "mine"\nurl = "https://mine.example/feed"\nprovenance = "state:cn"\n',
                    encoding="utf-8")
    assert [s.provenance for s in load_sources(path)] == ["state:ru", "independent", "state:cn"]
    path.write_text('[[sources]]\nid = "x"\nurl = "https://x.example/"\nprovenance = "state-run"\n')
    with pytest.raises(ConfigError, match="provenance"):
        load_sources(path)
    path.write_text('[[sources]]\nid = "x"\nurl = "https://x.example/"\nkind = "telegram"\n')
    with pytest.raises(ConfigError, match="kind"):
        load_sources(path)


def test_every_shipped_source_states_its_provenance() -> None:
    shipped = Path(provenance.__file__).parents[1] / "data" / "sources.toml"
    text = shipped.read_text(encoding="utf-8")
    assert text.count('\nprovenance = "') == text.count("\n[[sources]]")
    by_id = {s.id: s for s in load_sources()}
    assert by_id["tass-en"].provenance == "state:ru"
    assert by_id["fedreg-ofac"].provenance == "official"


def test_aggregator_items_take_the_named_outlets_provenance() -> None:
    assert provenance.of_item("independent", "Google News: Taiwan", "Reuters") == "wire"
    assert provenance.of_item("independent", "Google News: Taiwan", "Xinhua") == "state:cn"
    assert provenance.of_item("official", "Treasury via Google News", "U.S. Treasury") == "official"
    assert provenance.of_item("wire", "Wire", "Wire") == "wire"


def test_alert_shows_provenance_and_the_confirmation_count(store: Store) -> None:
    sink = run(store, {"wire": [report("wire", WIRE_STORY)]})
    [alert] = sink.alerts
    text = str(render_alert(alert))
    assert "Wire (wire)" in text
    assert "1 independent outlet" in text


def test_a_second_independent_outlet_counts_once_and_a_wire_reprint_does_not(store: Store) -> None:
    run(store, {"wire": [report("wire", WIRE_STORY)]})
    reprint = run(store, {"paper": [report("paper", REPRINT)]}).alerts
    own = run(store, {"daily": [report("daily", OWN_REPORT)]}).alerts
    again = run(store, {"daily": [report("daily", OWN_REPORT + " as drills end", n=1)]}).alerts
    assert [a.kind for a in reprint + own] == ["update", "update"]
    assert reprint[0].story.confirmations == 1, "a reprint of the wire story is not a confirmation"
    assert own[0].story.confirmations == 2, "a separate report by another outlet is"
    assert [a.story.confirmations for a in again] in ([], [2]), "the same outlet twice counts once"
    assert "2 independent outlets" in str(render_reply(own[0]))


def test_wire_after_its_reprint_does_not_count_twice(store: Store) -> None:
    run(store, {"paper": [report("paper", REPRINT)]})
    wire = run(store, {"wire": [report("wire", WIRE_STORY)]}).alerts
    assert wire and wire[0].story.confirmations == 1


def test_official_item_joins_as_the_primary_source_and_is_not_an_outlet_count(store: Store) -> None:
    run(store, {"daily": [report("daily", OWN_REPORT)]})
    official = run(store, {"gov": [report("gov", "Ministry: Moscow and Beijing agree to more joint bomber patrols")]})
    [alert] = official.alerts
    assert alert.kind == "update"
    assert alert.story.official and alert.story.confirmations == 1
    text = str(render_reply(alert))
    assert "Primary source" in text and "(official)" in text
    assert "confirmed by an official source" in text


def test_digest_lines_carry_the_confirmation_count(store: Store) -> None:
    entry = {"story_id": "s1", "title": "t", "url": "https://x.example/", "topic": "sanctions",
             "severity": 2, "sources": ["Wire", "Daily"], "confirmations": 2, "official": True}
    text = str(render_digest("C1", [entry]))
    assert "2 independent outlets" in text and "official source" in text


def test_sources_shipped_off_are_valid_once_uncommented(tmp_path: Path) -> None:
    shipped = (Path(provenance.__file__).parents[1] / "data" / "sources.toml").read_text(encoding="utf-8")
    off = shipped.split("shipped off, with the reason", 1)[1]
    # Only the commented-out tables, not the prose that gives each one's reason.
    table_line = re.compile(r"^# (\[\[sources\]\]|[a-z_]+ = )")
    tables = [line.removeprefix("# ") for line in off.splitlines() if table_line.match(line)]
    path = tmp_path / "off.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    kinds = {s.id: s.kind for s in load_sources(path)}
    assert kinds == {"eu-fsf": "eu_sanctions", "ofac-changes": "ofac_delta", "mnd-pla-activity": "page_list",
                     "japan-joint-staff": "page_list"}


def test_slash_sources_shows_each_sources_provenance_and_kind(store: Store) -> None:
    sources = [*SOURCES, Source("ofac", "https://lists.example/sdn.csv", name="OFAC SDN", kind="ofac",
                                provenance="official"),
               Source("tass", "https://tass.com/rss/v2.xml", name="TASS", provenance="state:ru")]
    commands = Commands(store, TOPICS, sources, admins=frozenset(), now=lambda: NOW)
    text = commands.handle(SlashCommand(channel="C1", user="U1", text="sources")).as_slack()["text"]
    assert "`wire` Wire · wire" in text
    assert "`ofac` OFAC SDN · official · ofac" in text
    assert "`tass` TASS · state media (RU)" in text


def test_digest_entries_record_the_count_and_the_official_confirmation(store: Store) -> None:
    store.put_subscription(Subscription("C-DIGEST", "russia-china-military"))
    store.put_channel(ChannelSettings("C-DIGEST", digest="hourly"))
    run(store, {"gov": [report("gov", OWN_REPORT)]})
    [entry] = store.take_digest("C-DIGEST")
    assert entry["official"] is True and entry["confirmations"] == 0
    assert "confirmed by an official source" in str(render_digest("C-DIGEST", [entry]))


def test_a_story_stored_before_counting_counts_its_outlets_when_joined() -> None:
    old = Story(id="s1", title="t", first_seen=NOW, last_seen=NOW, sources=("Wire", "Daily"))
    joined = confirmed_by(old, report("paper", OWN_REPORT), "Harbor Ledger")
    assert joined.confirmations == 3


def test_owners_come_from_config_the_outlet_table_or_the_state() -> None:
    assert provenance.owner_of("https://feeds.bbci.co.uk/news/world/asia/rss.xml", "independent") == "BBC"
    assert provenance.owner_of("https://www.bbc.com/russian/index.xml", "independent") == "BBC"
    assert provenance.owner_of("https://asia.nikkei.com/rss/feed/nar", "independent") == "Nikkei"
    assert provenance.owner_of("https://www.globaltimes.cn/rss/outbrain.xml", "state:cn") == "state:cn"
    assert provenance.owner_of("https://blog.example/feed", "independent") == "", "its own owner"
    assert provenance.owner_of("https://blog.example/feed", "independent", "Example Media") == "Example Media"
    # Aggregator entries: the named outlet's owner, not the aggregator's.
    assert provenance.owner_of_item("", "Google News: Taiwan", "Financial Times", "independent") == "Nikkei"
    assert provenance.owner_of_item("", "Google News: Taiwan", "Xinhua", "state:cn") == "state:cn"
    assert provenance.owner_of_item("", "Google News: Taiwan", "Taiwan Weekly", "independent") == ""
    assert provenance.owner_of_item("BBC", "BBC News: Asia", "BBC News: Asia", "independent") == "BBC"


def test_config_reads_an_owner_and_defaults_it(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[sources]]\nid = "bbc"\nurl = "https://feeds.bbci.co.uk/news/rss.xml"\n\n'
                    '[[sources]]\nid = "a"\nurl = "https://a.example/feed"\nowner = "Example Media"\n\n'
                    '[[sources]]\nid = "b"\nurl = "https://b.example/feed"\n', encoding="utf-8")
    assert [s.owner for s in load_sources(path)] == ["BBC", "Example Media", ""]
    path.write_text('[[sources]]\nid = "x"\nurl = "https://x.example/"\nowner = 3\n')
    with pytest.raises(ConfigError, match="owner"):
        load_sources(path)


def test_outlets_of_one_owner_confirm_a_story_once() -> None:
    # Two outlets of one (made-up) media group and one outlet of its own.
    sources = [Source("group-a", "https://a.example/feed", name="Group A", owner="Example Media"),
               Source("group-b", "https://b.example/feed", name="Group B", owner="Example Media"),
               Source("daily", "https://daily.example/feed", name="Daily")]
    store = known_sources_store(sources, [Subscription("C1", "russia-china-military")])
    try:
        def post(source: str, title: str) -> list[int]:
            name = next(s.display_name for s in sources if s.id == source)
            item_ = dataclasses.replace(item(source, title), source_name=name)
            reader = FakeReader({source: FeedOutcome(items=[item_], status=200)})
            sink = ListSink(store)
            run_cycle(sources, TOPICS, store, reader, sink, CycleOptions(force=True), now=NOW)
            return [a.story.confirmations for a in sink.alerts]

        assert post("group-a", WIRE_STORY) == [1]
        assert post("group-b", OWN_REPORT) == [1], "the same owner's second outlet is not independent"
        assert post("daily", "Russia, China to fly more joint bomber patrols near Japan, Moscow says") == [2]
    finally:
        store.close()


def test_slash_sources_names_a_shared_owner(store: Store) -> None:
    owned = [*SOURCES, Source("bbc-asia", "https://feeds.bbci.co.uk/news/world/asia/rss.xml", name="BBC Asia",
                              owner="BBC")]
    commands = Commands(store, TOPICS, owned, admins=frozenset(), now=lambda: NOW)
    text = commands.handle(SlashCommand(channel="C1", user="U1", text="sources")).as_slack()["text"]
    assert "BBC Asia · independent · owned by BBC" in text
    assert "owned by" not in text.split("BBC Asia")[0], "outlets with no shared owner say nothing"
