"""One poll cycle with fake adapters: routing, channel settings, backlog, hand-over failures."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.adapters.state.memory import MemoryKV
from vigil.domain.codec import alert_from_dict
from vigil.domain.errors import ConfigError
from vigil.domain.models import (
    Alert,
    ChannelSettings,
    Item,
    Severity,
    Source,
    SourceState,
    Subscription,
    Topic,
)
from vigil.domain.query import parse
from vigil.domain.topic_limits import custom_topic_problem
from vigil.ports import FeedOutcome
from vigil.runtime.settings import cycle_options
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.store import Store

from tests.deadline import within

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOPICS = load_topics()
SOURCES = [Source("wire", "https://wire.example/feed", name="Wire"), Source("post", "https://post.example/feed")]

# Our own wording.
PATROL = "Russian and Chinese bombers fly a joint patrol over the Sea of Japan"
DRILLS = "PLA launches live-fire drills around Taiwan, simulating a blockade"
QUAKE = "Strong earthquake shakes eastern Taiwan; no damage reported"


def item(source: str, title: str, published: datetime | None = NOW - timedelta(minutes=20), n: int = 0) -> Item:
    return Item(key=f"{source}:{n}:{title[:12]}", source_id=source, title=title, summary="",
                url=f"https://{source}.example/{n}", published=published, source_name=source.title())


class FakeReader:
    def __init__(self, feeds: dict[str, FeedOutcome]) -> None:
        self.feeds = feeds
        self.read_ids: list[str] = []

    def read(self, sources: Sequence[Source], states: dict[str, SourceState]) -> Iterator[tuple[Source, FeedOutcome]]:
        for source in sources:
            self.read_ids.append(source.id)
            yield source, self.feeds.get(source.id, FeedOutcome(items=[], status=200))


class ListSink:
    """Takes outbox keys as the SQS sink does, and reads back the alerts they name."""

    def __init__(self, store: Store | None = None, fail: bool = False) -> None:
        self.store = store
        self.keys: list[str] = []
        self.fail = fail

    def send(self, keys: list[str]) -> None:
        if self.fail:
            raise ConnectionError("queue unreachable")
        self.keys.extend(keys)

    @property
    def alerts(self) -> list[Alert]:
        assert self.store is not None
        return [alert_from_dict(entry.alert) for key in self.keys if (entry := self.store.outbox_entry(key))]


def known_sources_store(sources: Sequence[Source], subscriptions: Sequence[Subscription] = ()) -> Store:
    """An in-memory store where every source was polled before (nothing is a new
    source's backlog), with the given subscriptions."""
    s = Store(MemoryKV())
    for source in sources:
        s.put_source_state(SourceState(source.id, first_polled=NOW - timedelta(days=1),
                                       last_attempt=NOW - timedelta(hours=1)))
    for sub in subscriptions:
        s.put_subscription(sub)
    return s


@pytest.fixture
def store() -> Iterator[Store]:
    s = known_sources_store(SOURCES)
    yield s
    s.close()


def cycle(store: Store, feeds: dict[str, list[Item]], sink: ListSink | None = None,
          options: CycleOptions | None = None, topics: Sequence[Topic] = TOPICS) -> tuple[ListSink, CycleReport]:
    sink = sink or ListSink()
    sink.store = store
    reader = FakeReader({sid: FeedOutcome(items=items, status=200) for sid, items in feeds.items()})
    report = run_cycle(SOURCES, topics, store, reader, sink, options or CycleOptions(), now=NOW)
    return sink, report


def test_each_subscribed_channel_gets_its_topics_and_nothing_else(store: Store) -> None:
    store.put_subscription(Subscription("C-TW", "taiwan"))
    store.put_subscription(Subscription("C-RC", "russia-china-military"))
    sink, report = cycle(store, {"wire": [item("wire", PATROL), item("wire", DRILLS, n=1), item("wire", QUAKE, n=2)]})
    routed = {(a.channel, a.item.title) for a in sink.alerts}
    assert routed == {("C-TW", DRILLS), ("C-RC", PATROL)}
    assert report.items_new == 3
    assert report.items_matched == 2


def test_extra_channel_hears_every_default_topic(store: Store) -> None:
    sink, _ = cycle(store, {"wire": [item("wire", PATROL), item("wire", DRILLS, n=1)]},
                    options=CycleOptions(extra_channels=("C-ALL",)))
    assert {a.item.title for a in sink.alerts if a.channel == "C-ALL"} == {PATROL, DRILLS}


def test_muted_source_paused_channel_and_threshold_are_honoured(store: Store) -> None:
    for channel in ("C-MUTE", "C-PAUSE", "C-URGENT", "C-OK"):
        store.put_subscription(Subscription(channel, "taiwan"))
    store.put_channel(ChannelSettings("C-MUTE", muted_sources=frozenset({"wire"})))
    store.put_channel(ChannelSettings("C-PAUSE", paused=True))
    store.put_channel(ChannelSettings("C-URGENT", threshold=Severity.URGENT))
    routine = "Taiwan's opposition KMT names its candidate for the 2028 presidential election"
    sink, _ = cycle(store, {"wire": [item("wire", routine)]})
    assert {a.channel for a in sink.alerts} == {"C-OK"}


def test_digest_channels_get_a_queued_entry_instead_of_an_alert(store: Store) -> None:
    store.put_subscription(Subscription("C-DIGEST", "taiwan"))
    store.put_channel(ChannelSettings("C-DIGEST", digest="hourly"))
    sink, report = cycle(store, {"wire": [item("wire", DRILLS)]})
    assert sink.alerts == []
    assert report.digest_queued == 1
    assert [e["title"] for e in store.take_digest("C-DIGEST")] == [DRILLS]


def test_same_story_from_a_second_outlet_is_a_follow_up(store: Store) -> None:
    store.put_subscription(Subscription("C-TW", "taiwan"))
    other = "Chinese military stages live-fire drills around Taiwan to rehearse a blockade"
    sink, report = cycle(store, {"wire": [item("wire", DRILLS)], "post": [item("post", other)]})
    assert [a.kind for a in sink.alerts] == ["new", "update"]
    assert sink.alerts[0].story.id == sink.alerts[1].story.id
    assert report.follow_ups == 1


def test_an_item_is_alerted_once_across_cycles(store: Store) -> None:
    store.put_subscription(Subscription("C-TW", "taiwan"))
    first, _ = cycle(store, {"wire": [item("wire", DRILLS)]}, options=CycleOptions(force=True))
    again, report = cycle(store, {"wire": [item("wire", DRILLS)]}, options=CycleOptions(force=True))
    assert len(first.alerts) == 1
    assert again.alerts == []
    assert report.items_new == 0


def test_a_new_sources_backlog_does_not_flood_the_channel(store: Store) -> None:
    store.put_subscription(Subscription("C-TW", "taiwan"))
    fresh = Source("fresh", "https://fresh.example/feed")
    reader = FakeReader({"fresh": FeedOutcome(items=[
        item("fresh", DRILLS, published=NOW - timedelta(hours=1)),
        item("fresh", "Taiwan's legislature passes special defence budget for drones", NOW - timedelta(days=3), 1),
        item("fresh", "US approves F-16V sale to Taiwan", published=None, n=2),
    ], status=200)})
    sink = ListSink(store)
    run_cycle([fresh], TOPICS, store, reader, sink, CycleOptions(), now=NOW)
    assert [a.item.title for a in sink.alerts] == [DRILLS]
    assert store.get_source_state("fresh").first_polled is not None


def test_alerts_stay_in_the_outbox_when_the_sink_cannot_take_them(store: Store) -> None:
    store.put_subscription(Subscription("C-TW", "taiwan"))
    _, report = cycle(store, {"wire": [item("wire", DRILLS)]}, sink=ListSink(fail=True),
                      options=CycleOptions(force=True))
    assert report.warnings and "outbox" in report.warnings[0][1]
    [entry] = store.outbox()
    assert alert_from_dict(entry.alert).item.title == DRILLS, "nothing is lost when the queue was down"
    sink, _ = cycle(store, {"wire": [item("wire", DRILLS)]}, options=CycleOptions(force=True))
    assert sink.alerts == [], "the item was committed with its alert: it is not new again"


def test_custom_topics_with_the_same_name_stay_in_their_own_channel(store: Store) -> None:
    # Given two channels that each define a topic called "ports", with different queries
    store.put_custom_topic(Topic(id="ports", name="ports", query='"Kaohsiung"', channel="C-A"))
    store.put_custom_topic(Topic(id="ports", name="ports", query='"Vladivostok"', channel="C-B"))
    store.put_subscription(Subscription("C-A", "ports"))
    store.put_subscription(Subscription("C-B", "ports"))
    kaohsiung = "Container volumes rise at Kaohsiung harbour"
    vladivostok = "New ferry line opens in Vladivostok"
    # When items matching each query arrive
    sink, _ = cycle(store, {"wire": [item("wire", kaohsiung), item("wire", vladivostok, n=1)]})
    # Then each channel hears only its own query's match, under its own name
    routed = {(a.channel, a.item.title) for a in sink.alerts}
    assert routed == {("C-A", kaohsiung), ("C-B", vladivostok)}
    assert {m.topic for a in sink.alerts for m in a.matches} == {"ports"}


def test_failures_and_warnings_are_reported_per_source(store: Store) -> None:
    reader = FakeReader({
        "wire": FeedOutcome(items=None, status=503, error="HTTP 503", retry_after=120),
        "post": FeedOutcome(items=[], status=200, warning="malformed feed, parsed best-effort"),
    })
    report = run_cycle(SOURCES, TOPICS, store, reader, ListSink(), CycleOptions(force=True), now=NOW)
    assert report.failures == [("wire", "HTTP 503")]
    assert report.warnings == [("post", "malformed feed, parsed best-effort")]
    state = store.get_source_state("wire")
    assert state.consecutive_failures == 1
    assert state.last_error == "HTTP 503"
    assert "sources: 1 ok, 1 failed" in report.summary_line()
    assert store.cycles()[0]["sources_failed"] == 1


def test_sources_not_due_are_not_read(store: Store) -> None:
    store.put_source_state(SourceState("wire", first_polled=NOW - timedelta(days=1), last_attempt=NOW,
                                       last_success=NOW))
    reader = FakeReader({})
    report = run_cycle(SOURCES, TOPICS, store, reader, ListSink(), CycleOptions(), now=NOW)
    assert reader.read_ids == ["post"]
    assert report.sources_skipped == 1


def test_options_from_the_environment() -> None:
    options = cycle_options({"VIGIL_STORY_WINDOW_HOURS": "24", "VIGIL_BACKLOG_HOURS": "0.5"})
    assert options.story_window == timedelta(hours=24)
    assert options.backlog_grace == timedelta(minutes=30)
    assert options.failing_after == CycleOptions().failing_after
    assert cycle_options({}) == CycleOptions()


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "99999"])
def test_a_bad_option_in_the_environment_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="VIGIL_BACKLOG_HOURS"):
        cycle_options({"VIGIL_BACKLOG_HOURS": value})


def test_two_batches_of_one_cycle_share_a_story_stored_meanwhile(store: Store) -> None:
    # Given two fan-out workers in one cycle: B has loaded the story window, and only
    # then does A store a new story (A runs inside B's fetch, which makes it deterministic)
    store.put_subscription(Subscription("C-TW", "taiwan"))
    other = "Chinese military stages live-fire drills around Taiwan to rehearse a blockade"
    worker_a = ListSink(store)

    class ReaderRunningA(FakeReader):
        def read(
            self, sources: Sequence[Source], states: dict[str, SourceState]
        ) -> Iterator[tuple[Source, FeedOutcome]]:
            cycle(store, {"wire": [item("wire", DRILLS)]}, sink=worker_a, options=CycleOptions(force=True))
            yield from super().read(sources, states)

    worker_b = ListSink(store)
    reader = ReaderRunningA({"post": FeedOutcome(items=[item("post", other)], status=200)})
    # When B then processes another outlet's report of the same event
    run_cycle([SOURCES[1]], TOPICS, store, reader, worker_b, CycleOptions(force=True), now=NOW)
    # Then B's report joins A's story as a follow-up instead of opening a second story
    [first] = worker_a.alerts
    [second] = worker_b.alerts
    assert second.story.id == first.story.id
    assert second.kind == "update"


def test_a_costly_custom_topic_in_one_channel_does_not_hold_up_another_channels_alert(store: Store) -> None:
    # Given channel A with the costliest custom topic the limits allow (six NEARs nested
    # two deep over common words), and channel B subscribed to a shipped topic
    costly = ("((the NEAR/1000 the) NEAR/1000 (the NEAR/1000 the)) "
              "AND ((of NEAR/1000 of) NEAR/1000 (of NEAR/1000 of))")
    assert custom_topic_problem(parse(costly), 0) is None
    store.put_custom_topic(Topic(id="costly", name="costly", query=costly, channel="C-A"))
    store.put_subscription(Subscription("C-A", "costly"))
    store.put_subscription(Subscription("C-B", "taiwan"))
    # When an item about Taiwan drills arrives whose summary repeats those words 250 times
    noisy = Item(key="wire:noisy", source_id="wire", title=DRILLS, summary="the of " * 250,
                 url="https://wire.example/noisy", published=NOW - timedelta(minutes=20))
    # (comparing every pair of occurrences would take hours; the deadline only stops a hang)
    sink, report = within(60.0, lambda: cycle(store, {"wire": [noisy]}))
    # Then channel B's alert arrives in the same cycle, and A's topic is reported as skipped
    assert [(a.channel, a.item.key) for a in sink.alerts] == [("C-B", "wire:noisy")]
    assert report.over_budget == [("C-A", "costly", 1)]
    assert store.cycles()[0]["over_budget"] == [["C-A", "costly", 1]]
