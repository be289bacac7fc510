"""What a cycle reads from the store: nothing it can do without (DynamoDB bills every read)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from vigil.adapters.state.memory import MemoryKV
from vigil.domain import health
from vigil.domain.models import SourceState, Subscription
from vigil.ports import FeedOutcome
from vigil.services.cycle import CycleOptions, run_cycle
from vigil.services.store import Store

from tests.unit.test_pipeline import DRILLS, NOW, PATROL, QUAKE, SOURCES, TOPICS, FakeReader, ListSink, item


class CountingKV(MemoryKV):
    """MemoryKV that records the keys each batch_get asks for and the partitions each query reads."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_keys: list[tuple[str, str]] = []
        self.queries: Counter[str] = Counter()
        self.consistent: dict[str, set[bool]] = {}

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        self.batch_keys += keys
        return super().batch_get(keys)

    def query(self, pk: str, **kwargs: Any) -> list[tuple[str, Any]]:
        self.queries[pk] += 1
        self.consistent.setdefault(pk, set()).add(kwargs.get("consistent", True))
        return super().query(pk, **kwargs)


def _store() -> tuple[Store, CountingKV]:
    kv = CountingKV()
    store = Store(kv)
    for source in SOURCES:
        store.put_source_state(SourceState(source.id, first_polled=NOW - timedelta(days=1),
                                           last_attempt=NOW - timedelta(hours=1)))
    store.put_subscription(Subscription("C-TW", "taiwan"))
    return store, kv


def _cycle(store: Store, feeds: dict[str, list[Any]], minutes: int = 0) -> ListSink:
    sink = ListSink(store)
    reader = FakeReader({sid: FeedOutcome(items=items, status=200) for sid, items in feeds.items()})
    run_cycle(SOURCES, TOPICS, store, reader, sink, CycleOptions(force=True), now=NOW + timedelta(minutes=minutes))
    return sink


def test_items_of_the_previous_parse_skip_the_seen_check_and_new_ones_still_alert() -> None:
    # Given a feed polled once
    store, kv = _store()
    old = [item("wire", QUAKE, n=1), item("wire", PATROL, n=2)]
    _cycle(store, {"wire": old})
    # When it is polled again with one new item on top
    kv.batch_keys.clear()
    sink = _cycle(store, {"wire": [item("wire", DRILLS, n=3), *old]}, minutes=5)
    # Then only the new item's seen-mark (and its URL's, for cross-source copies) is read,
    # and it alerts once
    seen_reads = [k for k in kv.batch_keys if k[0].startswith("SEEN#")]
    assert [k for k in seen_reads if not k[0].startswith("SEEN#url:")] == [
        (f"SEEN#{item('wire', DRILLS, n=3).key}", "-")]
    assert len([k for k in seen_reads if k[0].startswith("SEEN#url:")]) == 1
    assert [a.item.title for a in sink.alerts] == [DRILLS]


def test_a_state_without_recent_digests_checks_every_item() -> None:
    store, kv = _store()
    items = [item("wire", QUAKE, n=1), item("wire", PATROL, n=2)]
    _cycle(store, {"wire": items})
    state = store.get_source_state("wire")
    assert state is not None and state.recent
    store.put_source_state(SourceState(**{**{f: getattr(state, f) for f in state.__slots__}, "recent": ""}))
    kv.batch_keys.clear()
    sink = _cycle(store, {"wire": items}, minutes=5)
    assert len([k for k in kv.batch_keys if k[0].startswith("SEEN#")]) == 2
    assert sink.alerts == []


def test_recent_digests_stay_under_the_cap_and_match_only_their_keys() -> None:
    keys = [f"wire:{n:024x}" for n in range(health.RECENT_MAX + 10)]
    state = SourceState("wire", recent=health.recent_digest(keys))
    assert len(state.recent) == 8 * health.RECENT_MAX
    assert health.recently_seen(state, keys) == set(keys[: health.RECENT_MAX])
    assert health.recently_seen(state, ["wire:other"]) == set()
    assert health.recently_seen(SourceState("wire"), keys) == set()


def test_a_cycle_without_on_topic_items_never_reads_the_story_window() -> None:
    store, kv = _store()
    _cycle(store, {"wire": [item("wire", "Local council approves a new park")]})
    assert kv.queries["STORY"] == 0


def test_the_story_window_is_read_once_eventually_consistent_when_an_item_matches() -> None:
    store, kv = _store()
    _cycle(store, {"wire": [item("wire", DRILLS)]})
    assert kv.queries["STORY"] == 1
    assert kv.consistent["STORY"] == {False}


def test_batches_sharing_a_story_cache_read_the_window_once_and_still_join_one_story() -> None:
    from vigil.services.cycle import StoryCache

    store, kv = _store()
    cache = StoryCache(clock=lambda: NOW)
    other = "Chinese military stages live-fire drills around Taiwan to rehearse a blockade"
    sink = ListSink(store)
    # Two fan-out batches of one cycle in one container, one source each
    for source, title in ((SOURCES[0], DRILLS), (SOURCES[1], other)):
        reader = FakeReader({source.id: FeedOutcome(items=[item(source.id, title)], status=200)})
        run_cycle([source], TOPICS, store, reader, sink, CycleOptions(force=True), now=NOW, stories=cache)
    # The full window was read once (the second batch only caught up on recent stories)
    assert [a.kind for a in sink.alerts] == ["new", "update"]
    assert sink.alerts[0].story.id == sink.alerts[1].story.id
    assert kv.queries["STORY"] == 2


def test_a_story_cache_older_than_its_max_age_is_read_again() -> None:
    from vigil.services.cycle import StoryCache

    store, kv = _store()
    times = iter([NOW, NOW + timedelta(minutes=5)])
    cache = StoryCache(max_age=timedelta(minutes=2), clock=lambda: next(times))
    cache.window(store, NOW - timedelta(hours=48))
    cache.window(store, NOW - timedelta(hours=48))
    assert cache.read_at == NOW + timedelta(minutes=5)
    assert kv.queries["STORY"] == 2


def _poll_304(store: Store, at: Any, heartbeat: timedelta) -> SourceState:
    reader = FakeReader({s.id: FeedOutcome(items=None, status=304, etag='"e"') for s in SOURCES})
    run_cycle(SOURCES[:1], TOPICS, store, reader, ListSink(store), CycleOptions(force=True, state_heartbeat=heartbeat),
              now=at)
    state = store.get_source_state(SOURCES[0].id)
    assert state is not None
    return state


def test_an_unchanged_304_is_stored_only_once_the_stored_state_is_older_than_the_heartbeat() -> None:
    store, _ = _store()
    beat = timedelta(minutes=15)
    first = _poll_304(store, NOW, beat)  # 200 -> 304: the status changed, stored
    assert first.last_attempt == NOW
    assert _poll_304(store, NOW + timedelta(minutes=5), beat).last_attempt == NOW  # nothing new: not stored
    assert _poll_304(store, NOW + timedelta(minutes=10), beat).last_attempt == NOW
    assert _poll_304(store, NOW + timedelta(minutes=15), beat).last_attempt == NOW + timedelta(minutes=15)


def test_without_a_heartbeat_every_poll_is_stored() -> None:
    store, _ = _store()
    _poll_304(store, NOW, timedelta(0))
    assert _poll_304(store, NOW + timedelta(minutes=5), timedelta(0)).last_attempt == NOW + timedelta(minutes=5)


def test_a_304_after_a_failure_is_stored_at_once() -> None:
    store, _ = _store()
    store.put_source_state(SourceState(SOURCES[0].id, first_polled=NOW - timedelta(days=1), last_attempt=NOW,
                                       last_status=304, consecutive_failures=2, last_error="timeout"))
    state = _poll_304(store, NOW + timedelta(minutes=5), timedelta(minutes=15))
    assert state.consecutive_failures == 0 and state.last_attempt == NOW + timedelta(minutes=5)


def _poll_200(store: Store, at: Any, items: list[Any], etag: str) -> SourceState:
    reader = FakeReader({SOURCES[0].id: FeedOutcome(items=items, status=200, etag=etag)})
    run_cycle(SOURCES[:1], TOPICS, store, reader, ListSink(store),
              CycleOptions(force=True, state_heartbeat=timedelta(minutes=15)), now=at)
    state = store.get_source_state(SOURCES[0].id)
    assert state is not None
    return state


def test_a_200_of_the_stored_items_waits_for_the_heartbeat_and_new_items_are_stored_at_once() -> None:
    # A server that ignores validators: a new ETag and a 200 every poll, the same items.
    store, _ = _store()
    old = [item(SOURCES[0].id, QUAKE, n=1), item(SOURCES[0].id, PATROL, n=2)]
    assert _poll_200(store, NOW, old, '"e1"').last_attempt == NOW  # new items: stored
    unchanged = _poll_200(store, NOW + timedelta(minutes=5), old, '"e2"')
    assert unchanged.last_attempt == NOW and unchanged.etag == '"e1"'  # only times and validators: not stored
    fresh = [item(SOURCES[0].id, DRILLS, n=3), *old]
    changed = _poll_200(store, NOW + timedelta(minutes=10), fresh, '"e3"')
    assert changed.last_attempt == NOW + timedelta(minutes=10) and changed.etag == '"e3"'
    assert _poll_200(store, NOW + timedelta(minutes=25), fresh, '"e4"').etag == '"e4"'  # the heartbeat
