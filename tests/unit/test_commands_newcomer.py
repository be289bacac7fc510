"""/vigil as a newcomer types it (issue 14): custom topics with a severity, Slack-friendly
operators, shipped term lists, names with spaces, "did you mean", compact listings,
status over close runs, and subscriptions refused in direct messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from vigil.adapters.config.topics import load_term_lists, load_topics
from vigil.domain.classify import Classifier
from vigil.domain.models import Item, Severity, Source, SourceState, Subscription, Topic
from vigil.ports import FeedOutcome
from vigil.services.commands import Commands, SlashCommand
from vigil.services.cycle import CycleOptions, run_cycle
from vigil.services.store import Store

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SOURCES = [Source("harbor-ledger", "https://harbor.example/rss", "Harbor Ledger"),
           Source("reuters", "https://reuters.example/feed", "Reuters")]
TERMS = load_term_lists()
TOPICS = load_topics()


@pytest.fixture
def vigil(store: Store) -> Commands:
    return Commands(store, TOPICS, SOURCES, admins=frozenset({"UADMIN"}), now=lambda: NOW, terms=TERMS)


def run(vigil: Commands, text: str, channel: str = "C1", channel_name: str = "general") -> dict[str, str]:
    cmd = SlashCommand(channel=channel, user="U1", text=text, channel_name=channel_name)
    return vigil.handle(cmd).as_slack()


def snapshot(store: Store) -> tuple[object, ...]:
    return (store.subscriptions(), store.channels(), store.custom_topics(), store.custom_sources())


# ---------------------------------------------------------------- custom topics: severity


def test_a_custom_topic_takes_the_channels_threshold_by_default(vigil: Commands, store: Store) -> None:
    run(vigil, "threshold notable")

    reply = run(vigil, "topic add gallium gallium AND export")

    [topic] = store.custom_topics("C1")
    assert topic.severity is Severity.NOTABLE
    assert "notable" in reply["text"] and ":warning:" not in reply["text"]


def test_a_custom_topic_below_the_channels_threshold_is_saved_with_a_warning(vigil: Commands,
                                                                              store: Store) -> None:
    run(vigil, "threshold urgent")

    reply = run(vigil, "topic add gallium routine gallium AND export")

    [topic] = store.custom_topics("C1")
    assert (topic.severity, topic.query) == (Severity.ROUTINE, "gallium AND export")
    assert ":warning: This channel's threshold is *urgent*" in reply["text"]
    assert "topic add gallium urgent" in reply["text"]


def test_a_lone_word_after_the_name_is_the_query_not_a_severity(vigil: Commands, store: Store) -> None:
    run(vigil, "topic add alarms urgent")

    [topic] = store.custom_topics("C1")
    assert (topic.query, topic.severity) == ("urgent", Severity.ROUTINE)


def test_the_classifier_gives_a_custom_topics_matches_its_severity() -> None:
    topic = Topic("C1/gallium", "gallium", "gallium", channel="C1", severity=Severity.NOTABLE)

    [match] = Classifier([topic]).classify("China bans gallium exports")

    assert match.severity is Severity.NOTABLE


class OneFeed:
    def __init__(self, items: list[Item]) -> None:
        self.items = items

    def read(self, sources: Sequence[Source], states: dict[str, SourceState]
             ) -> Iterator[tuple[Source, FeedOutcome]]:
        for source in sources:
            yield source, FeedOutcome(items=self.items, status=200)


class Keys:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def send(self, keys: list[str]) -> None:
        self.keys += keys


def test_a_notable_channel_gets_the_stories_of_its_notable_custom_topic(vigil: Commands, store: Store) -> None:
    # Given a channel with threshold notable that adds a custom topic (taking that severity)
    now = datetime.now(UTC)
    vigil.now = lambda: now - timedelta(hours=1)
    run(vigil, "threshold notable")
    run(vigil, "topic add gallium gallium")
    store.put_source_state(SourceState("reuters", first_polled=now - timedelta(days=1)))
    story = Item("k1", "reuters", "China bans gallium exports to the US", "", "https://reuters.example/1",
                 now - timedelta(minutes=5))
    sink = Keys()
    # When a poll cycle sees a story on it
    run_cycle([SOURCES[1]], load_topics(), store, OneFeed([story]), sink, CycleOptions(), now=now)
    # Then the channel gets the alert (a routine custom topic was filtered out)
    [entry] = [store.outbox_entry(k) for k in sink.keys]
    assert entry is not None and entry.alert["channel"] == "C1"


# ---------------------------------------------------------------- custom topics: query


def test_lower_case_operators_are_operators_in_slack(vigil: Commands, store: Store) -> None:
    run(vigil, "topic add orword taiwan or penghu and not earthquake")

    [topic] = store.custom_topics("C1")
    assert topic.query == "taiwan OR penghu AND NOT earthquake"
    classifier = Classifier([topic])
    assert classifier.classify("Drills near Penghu")
    assert not classifier.classify("Penghu earthquake")


def test_a_quoted_operator_word_is_searched_for(vigil: Commands, store: Store) -> None:
    run(vigil, 'topic add either "or" near/3 else')

    [topic] = store.custom_topics("C1")
    assert topic.query == '"or" NEAR/3 else'


def test_custom_topics_can_use_the_shipped_term_lists(vigil: Commands, store: Store) -> None:
    reply = run(vigil, "topic add rudrills @russia and drills")

    assert reply["response_type"] == "in_channel", reply["text"]
    [topic] = store.custom_topics("C1")
    assert topic.description == "@russia and drills"
    assert "@" not in topic.query and "kremlin" in topic.query  # stored self-contained
    assert Classifier([topic]).classify("Moscow announces naval drills in the Pacific")


def test_a_long_term_list_counts_as_one_term_against_the_limits(vigil: Commands, store: Store) -> None:
    reply = run(vigil, "topic add pair @pair NEAR/10 (drills OR exercise)")

    assert reply["response_type"] == "in_channel", reply["text"]


def test_an_unknown_term_list_is_refused(vigil: Commands, store: Store) -> None:
    before = snapshot(store)

    reply = run(vigil, "topic add x @rusia AND drills")

    assert "unknown term list @rusia" in reply["text"] and "@russia" in reply["text"]
    assert snapshot(store) == before


# ---------------------------------------------------------------- names with spaces


def test_mute_a_source_by_its_name_with_spaces(vigil: Commands, store: Store) -> None:
    reply = run(vigil, "mute Harbor Ledger")

    assert reply["response_type"] == "in_channel"
    assert store.get_channel("C1").muted_sources == frozenset({"harbor-ledger"})
    assert run(vigil, "unmute harbor ledger")["response_type"] == "in_channel"


@pytest.mark.parametrize("name", ["Russia–China military ties", "russia-china military ties",
                                  "Russia—China  Military Ties"])
def test_subscribe_by_a_topic_name_with_spaces_and_any_dash(vigil: Commands, store: Store, name: str) -> None:
    reply = run(vigil, f"subscribe {name}")

    assert reply["response_type"] == "in_channel", reply["text"]
    assert [s.topic for s in store.subscriptions("C1")] == ["russia-china-military"]


# ---------------------------------------------------------------- did you mean


def test_a_mistyped_subcommand_gets_did_you_mean_instead_of_the_whole_help(vigil: Commands,
                                                                           store: Store) -> None:
    before = snapshot(store)

    text = run(vigil, "subscrbe taiwan")["text"]

    assert text.startswith("Unknown subcommand `subscrbe`. Did you mean `/vigil subscribe taiwan`?")
    assert len(text.splitlines()) == 2
    assert snapshot(store) == before


def test_a_mistyped_two_word_subcommand_gets_did_you_mean(vigil: Commands) -> None:
    assert "Did you mean `/vigil source add https://x.example/rss`" in run(
        vigil, "sorce add https://x.example/rss")["text"]


def test_topic_alone_gets_the_topic_usage(vigil: Commands) -> None:
    text = run(vigil, "topic")["text"]

    assert "Unknown subcommand" not in text
    assert "/vigil topic add NAME [routine|notable|urgent] QUERY" in text
    assert "/vigil topic remove NAME" in text
    assert "/vigil subscribe" not in text


def test_a_mistyped_topic_gets_did_you_mean(vigil: Commands) -> None:
    assert "No topic `taiwn`. Did you mean `taiwan`?" in run(vigil, "subscribe taiwn")["text"]


def test_a_mistyped_source_gets_did_you_mean(vigil: Commands) -> None:
    assert "No source `harbor-ledgr`. Did you mean `harbor-ledger`?" in run(vigil, "mute harbor-ledgr")["text"]


# ---------------------------------------------------------------- listings and status


def test_topics_lists_each_topic_on_one_line(vigil: Commands, store: Store) -> None:
    run(vigil, "topic add gallium gallium AND (export OR ban)")

    lines = run(vigil, "topics")["text"].splitlines()

    assert lines[0] == "*Topics*"
    assert len(lines) == 1 + len(load_topics()) + 1
    assert all(len(line) < 220 for line in lines)
    assert any(line.startswith(":white_check_mark: `gallium` — `gallium AND (export OR ban)`") for line in lines)


def test_status_does_not_add_up_two_runs_a_minute_apart(vigil: Commands, store: Store) -> None:
    # Given two `vigil run`s a minute apart over the same 2 sources
    now = datetime.now(UTC)
    for n, at in enumerate([now - timedelta(seconds=70), now - timedelta(seconds=10)]):
        store.kv.put("CYCLE", f"r{n}", {"at": at.isoformat(), "sources_ok": 2, "items_new": 3, "alerts": 1})
    vigil.now = lambda: now
    # When the channel asks for status
    text = run(vigil, "status")["text"]
    # Then the last poll is the last run alone
    assert "2 sources ok, 0 failed, 3 new items, 1 alerts" in text


# ---------------------------------------------------------------- direct messages


@pytest.mark.parametrize(("channel", "channel_name"), [
    ("D0123ABCD", "directmessage"), ("D0123ABCD", ""), ("G0123ABCD", "mpdm-ann--bob-1"),
])
@pytest.mark.parametrize("text", ["subscribe taiwan", "topic add drills drills"])
def test_subscribing_in_a_direct_message_is_refused(vigil: Commands, store: Store, channel: str,
                                                    channel_name: str, text: str) -> None:
    before = snapshot(store)

    reply = run(vigil, text, channel=channel, channel_name=channel_name)

    assert reply["response_type"] == "ephemeral"
    assert "cannot post alerts in a direct message" in reply["text"]
    assert snapshot(store) == before


def test_a_private_channel_may_subscribe(vigil: Commands, store: Store) -> None:
    store.put_subscription(Subscription("G0PRIVATE", "sanctions"))

    assert run(vigil, "subscribe taiwan", channel="G0PRIVATE", channel_name="privategroup")[
        "response_type"] == "in_channel"
