"""One contract for the Store, run against every backend: SQLite and DynamoDB (moto)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.adapters.state.memory import MemoryKV
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.codec import alert_from_dict
from vigil.domain.errors import Conflict, Contention
from vigil.domain.models import (
    Alert,
    ChannelSettings,
    Item,
    Severity,
    Source,
    SourceState,
    Story,
    Subscription,
    Topic,
    TopicMatch,
)
from vigil.ports import MAX_TRANSACT_WRITES, Write
from vigil.services.store import Store

from tests.aws_stack import create_table, make_moto_dynamodb_atomic

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# An exception inside a racing thread must fail the test, not pass as a warning.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    if request.param == "memory":
        yield Store(MemoryKV())
        return
    if request.param == "sqlite":
        s = Store(SQLiteKV(tmp_path / "state.db"))
        yield s
        s.close()
        return
    make_moto_dynamodb_atomic(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "StateTable", "vigil-state")
        yield Store(DynamoKV("vigil-state", client))


def story(story_id: str, first_seen: datetime, **kw: object) -> Story:
    return Story(id=story_id, title=f"story {story_id}", first_seen=first_seen, last_seen=first_seen,
                 topics=("taiwan",), severity=Severity.NOTABLE, sources=("a",), item_keys=("k1",), **kw)


def race(n: int, fn: Callable[[], bool]) -> list[bool]:
    """Run fn in n threads released at the same moment; return every result."""
    barrier = threading.Barrier(n)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        ok = fn()
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---------------------------------------------------------------- seen items


def test_unseen_items_become_seen_once(store: Store) -> None:
    assert store.unseen(["a", "b", "a"]) == {"a", "b"}
    assert store.mark_seen("a", "src") is True
    assert store.mark_seen("a", "other-src") is False
    assert store.unseen(["a", "b"]) == {"b"}


def test_unseen_checks_more_keys_than_one_batch(store: Store) -> None:
    keys = [f"item-{i}" for i in range(250)]
    for key in keys[::3]:
        store.mark_seen(key, "src")
    assert store.unseen([*keys, *keys[:10]]) == {k for i, k in enumerate(keys) if i % 3}


def test_expired_seen_item_is_unseen_and_can_be_marked_again(store: Store) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=40)  # SEEN_TTL is 30 days
    assert store.mark_seen("old", "src", now=long_ago)
    assert store.unseen(["old"]) == {"old"}
    assert store.mark_seen("old", "src") is True
    assert store.unseen(["old"]) == set()


def test_forget_seen_makes_an_item_new_again(store: Store) -> None:
    store.mark_seen("a", "src")
    store.forget_seen("a")
    assert store.unseen(["a"]) == {"a"}


# ---------------------------------------------------------------- sources


def test_source_states_round_trip(store: Store) -> None:
    state = SourceState("bbc", etag='"abc"', last_success=NOW, consecutive_failures=2, last_status=503,
                        last_error="HTTP 503")
    store.put_source_state(state)
    store.put_source_state(SourceState("afp"))
    assert store.get_source_state("bbc") == state
    assert store.get_source_state("missing") is None
    assert [s.source_id for s in store.source_states()] == ["afp", "bbc"]


def test_source_states_of_reads_only_the_named_sources(store: Store) -> None:
    for sid in ("afp", "bbc", "cna"):
        store.put_source_state(SourceState(sid, last_status=200))
    states = store.source_states_of(["cna", "afp", "missing", "afp"])
    assert sorted(states) == ["afp", "cna"]
    assert states["cna"] == SourceState("cna", last_status=200)


def test_custom_sources_are_added_listed_and_deleted(store: Store) -> None:
    src = Source("ria", "https://ria.example/rss", name="RIA", lang="ru", interval_minutes=15)
    store.put_custom_source(src)
    assert store.custom_sources() == [src]
    assert store.delete_custom_source("ria") is True
    assert store.delete_custom_source("ria") is False
    assert store.custom_sources() == []


def test_custom_sources_follow_the_configured_ones_and_never_shadow_them(store: Store) -> None:
    configured = [Source("ria", "https://configured.example/rss"), Source("afp", "https://afp.example/rss")]
    store.put_custom_source(Source("ria", "https://added.example/rss"))
    store.put_custom_source(Source("cna", "https://cna.example/rss"))
    merged = store.with_custom_sources(configured)
    assert [(s.id, s.url) for s in merged] == [
        ("ria", "https://configured.example/rss"), ("afp", "https://afp.example/rss"), ("cna", "https://cna.example/rss"),
    ]


# ---------------------------------------------------------------- stories


def test_stories_since_returns_only_the_window(store: Store) -> None:
    # Real time, not NOW: put_story's TTL runs from last_seen and would expire them.
    now = datetime.now(UTC)
    store.put_story(story("old", now - timedelta(hours=50)))
    store.put_story(story("mid", now - timedelta(hours=10)))
    store.put_story(story("new", now - timedelta(minutes=1)))
    got = store.stories_since(now - timedelta(hours=48))
    assert [s.id for s in got] == ["mid", "new"]
    assert got[0] == story("mid", now - timedelta(hours=10))


def test_story_found_by_id_and_updated_in_place(store: Store) -> None:
    s = story("s1", datetime.now(UTC))
    store.put_story(s)
    s.sources = ("a", "b")
    store.put_story(s)
    assert store.get_story("s1") == s
    assert store.get_story("nope") is None
    assert len(store.stories_since(s.first_seen - timedelta(seconds=1))) == 1


# ---------------------------------------------------------------- subscriptions and channels


def test_subscriptions_are_listed_per_channel(store: Store) -> None:
    store.put_subscription(Subscription("C1", "taiwan", created_at=NOW))
    store.put_subscription(Subscription("C1", "sanctions"))
    store.put_subscription(Subscription("C10", "taiwan"))
    assert {(s.channel, s.topic) for s in store.subscriptions("C1")} == {("C1", "taiwan"), ("C1", "sanctions")}
    assert len(store.subscriptions()) == 3
    assert store.subscriptions("C1")[1].created_at == NOW
    assert store.delete_subscription("C1", "taiwan") is True
    assert store.delete_subscription("C1", "taiwan") is False
    assert [s.topic for s in store.subscriptions("C1")] == ["sanctions"]


def test_channel_settings_default_and_round_trip(store: Store) -> None:
    assert store.get_channel("C1") == ChannelSettings("C1")
    settings = ChannelSettings("C1", muted_sources=frozenset({"x", "y"}), threshold=Severity.URGENT,
                               digest="daily 08:00 UTC", paused=True)
    store.put_channel(settings)
    assert store.get_channel("C1") == settings
    assert store.channels() == [settings]


def test_update_channel_changes_the_latest_settings(store: Store) -> None:
    store.put_channel(ChannelSettings("C1", muted_sources=frozenset({"x"})))

    stored = store.update_channel("C1", lambda s: replace(s, threshold=Severity.URGENT))

    assert stored == ChannelSettings("C1", muted_sources=frozenset({"x"}), threshold=Severity.URGENT)
    assert store.get_channel("C1") == stored


def test_update_channel_that_declines_writes_nothing(store: Store) -> None:
    assert store.update_channel("C1", lambda s: None) is None
    assert store.channels() == []


def test_update_channel_that_keeps_losing_raises_and_saves_nothing(store: Store) -> None:
    store.sleep = lambda _seconds: None

    def lose_every_race(settings: ChannelSettings) -> ChannelSettings:
        # Another writer changes the channel between every read and write.
        store.put_channel(ChannelSettings("C1", paused=not settings.paused))
        return replace(settings, threshold=Severity.URGENT)

    with pytest.raises(Contention):
        store.update_channel("C1", lose_every_race)
    assert store.get_channel("C1").threshold is Severity.ROUTINE


def test_subscribe_creates_once_and_reactivates(store: Store) -> None:
    assert store.subscribe("C1", "taiwan", NOW) is True
    assert store.subscribe("C1", "taiwan", NOW) is False
    store.put_subscription(Subscription("C1", "taiwan", active=False, created_at=NOW))
    later = NOW + timedelta(days=1)

    assert store.subscribe("C1", "taiwan", later) is True

    assert store.subscriptions("C1") == [Subscription("C1", "taiwan", True, later)]


def test_subscription_removed_meanwhile_is_not_recreated(store: Store) -> None:
    store.put_subscription(Subscription("C1", "taiwan"))

    def deactivate_after_an_unsubscribe(sub: Subscription) -> Subscription:
        store.delete_subscription("C1", "taiwan")  # lands between the read and the write
        return replace(sub, active=False)

    assert store.update_subscription("C1", "taiwan", deactivate_after_an_unsubscribe) is None
    assert store.subscriptions("C1") == []
    assert store.update_subscription("C1", "gone", lambda s: s) is None
    assert store.subscriptions() == []


def test_set_subscriptions_active_changes_only_that_channel(store: Store) -> None:
    store.put_subscription(Subscription("C1", "taiwan"))
    store.put_subscription(Subscription("C1", "sanctions", active=False))
    store.put_subscription(Subscription("C2", "taiwan"))

    assert store.set_subscriptions_active("C1", False) == ["taiwan"]
    assert [s.active for s in store.subscriptions("C1")] == [False, False]
    assert store.set_subscriptions_active("C1", True) == ["sanctions", "taiwan"]
    assert [s.active for s in store.subscriptions()] == [True, True, True]


def test_custom_topics_belong_to_a_channel(store: Store) -> None:
    t1 = Topic("arctic", "Arctic", '"northern sea route"', channel="C1")
    t2 = Topic("arctic", "Arctic", "arctic", channel="C2")
    store.put_custom_topic(t1)
    store.put_custom_topic(t2)
    assert store.custom_topics("C1") == [t1]
    assert store.custom_topics() == [t1, t2]
    assert store.delete_custom_topic("C1", "arctic") is True
    assert store.custom_topics() == [t2]


# ---------------------------------------------------------------- deliveries


def test_delivery_is_claimed_once(store: Store) -> None:
    assert store.claim_delivery("s1", "C1") is True
    assert store.claim_delivery("s1", "C1") is False
    assert store.claim_delivery("s1", "C2") is True
    assert store.get_delivery("s1", "C1").status == "pending"


def test_stale_claim_is_taken_over_after_the_lease(store: Store) -> None:
    assert store.claim_delivery("s1", "C1", now=datetime.now(UTC) - timedelta(minutes=10))
    assert store.claim_delivery("s1", "C1", lease=timedelta(minutes=5)) is True
    assert store.claim_delivery("s1", "C1", lease=timedelta(minutes=5)) is False


def test_completed_delivery_is_never_claimed_again(store: Store) -> None:
    store.claim_delivery("s1", "C1")
    store.complete_delivery("s1", "C1", ts="171.0001", outlet="bbc")
    d = store.get_delivery("s1", "C1")
    assert (d.status, d.ts, d.outlets) == ("sent", "171.0001", ("bbc",))
    assert store.claim_delivery("s1", "C1", lease=timedelta(0)) is False


def test_the_posted_message_and_its_figures_survive_completion_and_only_rise(store: Store) -> None:
    message = {"text": "story", "metadata": {"event_type": "vigil_story", "event_payload": {"story_id": "s1"}},
               "blocks": [{"type": "context", "block_id": "vigil_confirmations",
                           "elements": [{"type": "mrkdwn", "text": "1 independent outlet"}]}]}
    assert store.take_over_claim("s1", "C1", None, datetime.now(UTC), outlet="bbc", message=message,
                                 shown=(1, False))
    store.complete_delivery("s1", "C1", ts="1.2", outlet="bbc")
    d = store.get_delivery("s1", "C1")
    assert (d.message, d.shown_confirmations, d.shown_official) == (message, 1, False)
    assert store.record_shown("s1", "C1", 3, False).shown_confirmations == 3
    after = store.record_shown("s1", "C1", 2, True)  # a slower edit: the count never goes down
    assert (after.shown_confirmations, after.shown_official) == (3, True)
    assert store.get_delivery("s1", "C1").message == message


def test_released_claim_can_be_claimed_again(store: Store) -> None:
    store.claim_delivery("s1", "C1")
    store.release_delivery("s1", "C1")
    assert store.get_delivery("s1", "C1") is None
    assert store.claim_delivery("s1", "C1") is True


def test_release_leaves_a_sent_delivery_alone(store: Store) -> None:
    store.claim_delivery("s1", "C1")
    store.complete_delivery("s1", "C1", ts="1.2", outlet="bbc")
    store.release_delivery("s1", "C1")
    assert store.get_delivery("s1", "C1").status == "sent"


def test_each_outlet_gets_one_thread_reply(store: Store) -> None:
    assert store.claim_outlet("s1", "C1", "afp") is None  # nothing sent yet
    store.claim_delivery("s1", "C1")
    store.complete_delivery("s1", "C1", ts="1.2", outlet="bbc")
    assert store.claim_outlet("s1", "C1", "bbc") is None
    got = store.claim_outlet("s1", "C1", "afp")
    assert got is not None
    assert got.outlets == ("bbc", "afp")
    assert store.claim_outlet("s1", "C1", "afp") is None


def test_a_released_outlet_can_be_claimed_again(store: Store) -> None:
    store.claim_delivery("s1", "C1")
    store.complete_delivery("s1", "C1", ts="1.2", outlet="bbc")
    assert store.claim_outlet("s1", "C1", "afp") is not None
    store.release_outlet("s1", "C1", "afp")
    assert store.get_delivery("s1", "C1").outlets == ("bbc",)
    assert store.claim_outlet("s1", "C1", "afp") is not None
    store.release_outlet("s1", "C1", "nobody")  # releasing what was never claimed changes nothing
    assert store.get_delivery("s1", "C1").outlets == ("bbc", "afp")


# ---------------------------------------------------------------- feedback, digests, cycles


def test_feedback_is_recorded_and_filtered_by_channel(store: Store) -> None:
    store.add_feedback("C1", "U1", "useful", "s1", "taiwan", item_key="k", title="t")
    store.add_feedback("C2", "U2", "noise", "s2", "sanctions")
    assert [f["verdict"] for f in store.feedback("C1")] == ["useful"]
    assert len(store.feedback()) == 2


def test_feedback_is_one_verdict_per_user_item_and_topic(store: Store) -> None:
    store.add_feedback("C1", "U1", "relevant", "s1", "taiwan", item_key="k")
    store.add_feedback("C1", "U1", "not_relevant", "s1", "taiwan", item_key="k")  # changed their mind
    store.add_feedback("C1", "U1", "relevant", "s1", "sanctions", item_key="k")  # another topic
    store.add_feedback("C1", "U2", "relevant", "s1", "taiwan", item_key="k")  # another user
    assert sorted((f["user"], f["topic"], f["verdict"]) for f in store.feedback("C1")) == [
        ("U1", "sanctions", "relevant"), ("U1", "taiwan", "not_relevant"), ("U2", "taiwan", "relevant")]


def test_digest_queue_is_taken_once(store: Store) -> None:
    store.queue_digest("C1", story("s1", NOW), "taiwan")
    store.queue_digest("C1", story("s2", NOW), "taiwan")
    store.queue_digest("C2", story("s3", NOW), "sanctions")
    taken = store.take_digest("C1")
    assert [e["story_id"] for e in taken] == ["s1", "s2"]
    assert taken[0]["severity"] == int(Severity.NOTABLE)
    assert store.take_digest("C1") == []
    assert len(store.take_digest("C2")) == 1


def test_cycles_newest_first_with_limit(store: Store) -> None:
    for n in range(3):
        store.record_cycle({"n": n, "sources_ok": n})
    assert [c["n"] for c in store.cycles()] == [2]
    assert [c["n"] for c in store.cycles(limit=5)] == [2, 1, 0]


def alert(story_id: str, channel: str = "C1", source: str = "a", kind: str = "new") -> Alert:
    s = story(story_id, NOW)
    item = Item(f"{source}-{story_id}", source, "title", "", "https://x.example/1", NOW)
    return Alert(channel, s, item, (TopicMatch("taiwan", 2.0, Severity.NOTABLE, ("pla",)),), kind)


def test_an_item_is_committed_with_its_story_alerts_and_digests_at_once(store: Store) -> None:
    s = story("s1", datetime.now(UTC))  # stories expire 14 days after they were last seen
    keys = store.commit_item("k1", "a", NOW, story=s, alerts=[alert("s1"), alert("s1", "C2")],
                             digests=[("C3", "taiwan")])
    assert keys is not None and len(keys) == 2
    assert store.unseen(["k1"]) == set()
    assert store.get_story("s1") is not None
    assert [e.key for e in store.outbox()] == keys
    assert [d["story_id"] for d in store.pending_digest("C3")] == ["s1"]


def test_a_second_commit_of_the_same_item_writes_nothing(store: Store) -> None:
    assert store.commit_item("k1", "a", NOW, story=story("s1", NOW), alerts=[alert("s1")]) is not None
    assert store.commit_item("k1", "b", NOW, story=story("s2", NOW), alerts=[alert("s2")]) is None
    assert store.get_story("s2") is None
    assert [alert_from_dict(e.alert).story.id for e in store.outbox()] == ["s1"]


def test_more_alerts_than_one_transaction_are_all_recorded(store: Store) -> None:
    alerts = [alert("s1", f"C{n}") for n in range(MAX_TRANSACT_WRITES + 5)]
    keys = store.commit_item("k1", "a", NOW, story=story("s1", NOW), alerts=alerts)
    assert keys is not None and len(store.outbox()) == len(alerts)
    assert store.unseen(["k1"]) == set()


def test_a_transaction_with_a_failed_condition_writes_nothing(store: Store) -> None:
    store.kv.put("X", "taken", {"n": 1})
    with pytest.raises(Conflict):
        store.kv.transact([Write("X", "free", {"n": 2}), Write("X", "taken", {"n": 3}, expect_version=None)])
    assert store.kv.get("X", "free") is None
    assert store.kv.get("X", "taken")["n"] == 1


def test_outbox_entries_are_deferred_then_done(store: Store) -> None:
    [key] = store.add_to_outbox([alert("s1")], now=NOW)
    [entry] = store.outbox()
    store.outbox_defer(entry, "slack down", NOW + timedelta(minutes=1))
    [again] = store.outbox()
    assert (again.key, again.attempts, again.last_error) == (key, 1, "slack down")
    assert alert_from_dict(again.alert) == alert("s1")
    store.outbox_done(key)
    assert store.outbox() == [] and store.outbox_entry(key) is None


def test_an_unconfirmed_reply_is_kept_until_confirmed(store: Store) -> None:
    store.claim_delivery("s1", "C1")
    store.complete_delivery("s1", "C1", ts="1.2", outlet="bbc")
    store.claim_outlet("s1", "C1", "afp", "2025-03-01T12:00:00+00:00|host:1")
    assert store.get_delivery("s1", "C1").reply_claims == {"afp": "2025-03-01T12:00:00+00:00|host:1"}
    assert store.claim_outlet("s1", "C1", "afp") is None
    assert store.claim_outlet("s1", "C1", "afp", takeover=True) is not None
    store.confirm_outlet("s1", "C1", "afp")
    got = store.get_delivery("s1", "C1")
    assert got.reply_claims == {} and "afp" in got.outlets


# ---------------------------------------------------------------- key/value semantics


def test_versions_guard_concurrent_updates(store: Store) -> None:
    kv = store.kv
    v1 = kv.put("X", "a", {"n": 1}, expect_version=None)
    with pytest.raises(Conflict):
        kv.put("X", "a", {"n": 2}, expect_version=None)
    v2 = kv.put("X", "a", {"n": 2}, expect_version=v1)
    with pytest.raises(Conflict):
        kv.put("X", "a", {"n": 3}, expect_version=v1)
    assert v2 == v1 + 1
    assert kv.put("X", "a", {"n": 4}) == v2 + 1
    assert kv.get("X", "a") == {"n": 4, "_v": v2 + 1}
    with pytest.raises(Conflict):
        kv.put("X", "missing", {}, expect_version=1)


def test_query_skips_expired_records_and_honours_limit(store: Store) -> None:
    kv = store.kv
    past, future = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    for i in range(6):
        kv.put("Q", f"k{i}", {"i": i}, ttl=past if i % 2 else future)
    assert [sk for sk, _ in kv.query("Q")] == ["k0", "k2", "k4"]
    assert [sk for sk, _ in kv.query("Q", limit=2, reverse=True)] == ["k4", "k2"]
    assert kv.get("Q", "k1") is None
    assert kv.batch_get([("Q", "k1"), ("Q", "k2")]).keys() == {("Q", "k2")}


def test_query_prefix_is_literal_and_combines_with_start(store: Store) -> None:
    kv = store.kv
    for sk in ["a%1", "a_2", "ab#3", "a%#9", "b"]:
        kv.put("P", sk, {})
    assert [sk for sk, _ in kv.query("P", prefix="a%")] == ["a%#9", "a%1"]
    assert [sk for sk, _ in kv.query("P", prefix="a", start="a_")] == ["a_2", "ab#3"]
    assert [sk for sk, _ in kv.query("P", start="ab")] == ["ab#3", "b"]


def test_records_keep_json_types(store: Store) -> None:
    data = {"f": 0.1, "n": None, "l": [1, "x", [2.5]], "u": "台灣 — Тайвань"}
    store.kv.put("J", "1", data)
    assert store.kv.get("J", "1") == {**data, "_v": 1}


# ---------------------------------------------------------------- concurrency


def test_concurrent_claims_have_exactly_one_winner(store: Store) -> None:
    results = race(8, lambda: store.claim_delivery("s-race", "C1"))
    assert sorted(results) == [False] * 7 + [True]


def test_concurrent_mark_seen_has_exactly_one_winner(store: Store) -> None:
    results = race(8, lambda: store.mark_seen("k-race", "src"))
    assert sorted(results) == [False] * 7 + [True]


def test_concurrent_outlet_claims_keep_every_outlet(store: Store) -> None:
    store.claim_delivery("s1", "C1")
    store.complete_delivery("s1", "C1", ts="1.2", outlet="o0")
    outlets = [f"o{i}" for i in range(1, 5)]
    it = iter(outlets)
    lock = threading.Lock()

    def claim() -> bool:
        with lock:
            outlet = next(it)
        return store.claim_outlet("s1", "C1", outlet) is not None

    assert all(race(4, claim))
    assert sorted(store.get_delivery("s1", "C1").outlets) == ["o0", *outlets]


def test_concurrent_channel_updates_keep_every_change(store: Store) -> None:
    sources = iter(f"src-{i:02d}" for i in range(20))
    lock = threading.Lock()

    def mute_one() -> bool:
        with lock:
            source = next(sources)
        return store.update_channel("C1", lambda s: replace(s, muted_sources=s.muted_sources | {source})) is not None

    assert all(race(20, mute_one))
    assert store.get_channel("C1").muted_sources == frozenset(f"src-{i:02d}" for i in range(20))


def test_concurrent_subscribes_create_one_subscription(store: Store) -> None:
    results = race(8, lambda: store.subscribe("C1", "taiwan", NOW))
    assert sorted(results) == [False] * 7 + [True]
    assert store.subscriptions("C1") == [Subscription("C1", "taiwan", True, NOW)]
