"""Deliverer against the fake Slack Web API: layout, threads, retries, races, outbox."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from vigil.adapters.slack.client import SlackChatClient, web_client
from vigil.adapters.slack.outbox import OutboxClient
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.errors import (
    ClaimHeldElsewhere,
    DeliveryOutcomeUnknown,
    RetryableDeliveryError,
    SlackAuthError,
)
from vigil.domain.models import Alert, Item, Severity, Story, Subscription, TopicMatch
from vigil.render.preview import preview_text
from vigil.runtime.local import make_client
from vigil.services.delivery import Deliverer
from vigil.services.store import Store

from tests.fakeslack import FakeSlack, Reply, lost, rate_limited, server_error, slack_error

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_alert(channel: str = "C1", story_id: str = "s1", source: str = "reuters",
               kind: str = "new", title: str = "PLA drills near Taiwan") -> Alert:
    story = Story(id=story_id, title=title, first_seen=NOW, last_seen=NOW, topics=("taiwan",),
                  severity=Severity.NOTABLE, sources=(source,))
    item = Item(key=f"{source}-{story_id}", source_id=source, title=title,
                summary="Ships moved. Jets flew.", url=f"https://{source}.example/a", published=NOW,
                source_name=source.title())
    match = TopicMatch("taiwan", 2.5, Severity.NOTABLE, ("PLA", "Taiwan"))
    return Alert(channel, story, item, (match,), kind)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def slack(fake: FakeSlack, sleep: Callable[[float], None] = lambda _: None) -> SlackChatClient:
    return SlackChatClient(web_client("xoxb-test", base_url=fake.api_url, sleep=sleep))


@pytest.fixture
def client(fake_slack: FakeSlack, sleeps: list[float]) -> SlackChatClient:
    return slack(fake_slack, sleeps.append)


@pytest.fixture
def deliverer(store: Store, client: SlackChatClient, sleeps: list[float]) -> Deliverer:
    return Deliverer(store, client, sleep=sleeps.append)


def test_new_story_is_posted_once_with_the_alert_layout(deliverer: Deliverer, store: Store,
                                                        fake_slack: FakeSlack) -> None:
    assert deliverer.deliver(make_alert()) == "sent"

    [call] = fake_slack.calls_to("chat.postMessage")
    body = call.body
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert body["channel"] == "C1"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["metadata"] == {"event_type": "vigil_story", "event_payload": {"story_id": "s1"}}
    assert "PLA drills near Taiwan" in body["text"]
    assert [b["type"] for b in body["blocks"]] == ["context", "section", "context", "context", "actions"]
    assert "<https://reuters.example/a|PLA drills near Taiwan>" in body["blocks"][1]["text"]["text"]
    delivery = store.get_delivery("s1", "C1")
    assert delivery is not None and delivery.status == "sent" and delivery.ts == call.ts


def test_other_outlets_become_one_thread_reply_each(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    deliverer.deliver(make_alert(source="reuters"))
    parent_ts = fake_slack.top_level("C1")[0].ts

    assert deliverer.deliver(make_alert(source="ap")) == "replied"
    assert deliverer.deliver(make_alert(source="ap", kind="update")) == "duplicate"
    assert deliverer.deliver(make_alert(source="reuters")) == "duplicate"

    assert len(fake_slack.top_level("C1")) == 1
    [reply] = fake_slack.replies("C1")
    assert reply.body["thread_ts"] == parent_ts
    assert reply.body["text"].startswith("Also reported by Ap")


def test_a_thread_reply_slack_could_not_take_is_retried_not_lost(deliverer: Deliverer,
                                                                   fake_slack: FakeSlack) -> None:
    # Given a story already posted, and Slack failing every attempt at the next reply
    deliverer.deliver(make_alert(source="reuters"))
    fake_slack.script("chat.postMessage", *[server_error(503)] * 3)
    # When another outlet's report arrives, the failure is retryable (queue or next run)
    with pytest.raises(RetryableDeliveryError):
        deliverer.deliver(make_alert(source="ap"))
    # Then the retry, once Slack is back, posts the reply exactly once
    assert deliverer.deliver(make_alert(source="ap")) == "replied"
    assert deliverer.deliver(make_alert(source="ap")) == "duplicate"
    assert len(fake_slack.replies("C1")) == 1


def test_update_for_a_story_the_channel_never_saw_starts_a_thread(deliverer: Deliverer,
                                                                  fake_slack: FakeSlack) -> None:
    assert deliverer.deliver(make_alert(kind="update")) == "sent"
    assert len(fake_slack.top_level("C1")) == 1


def test_rate_limit_waits_for_retry_after_then_posts_once(deliverer: Deliverer, fake_slack: FakeSlack,
                                                         sleeps: list[float]) -> None:
    fake_slack.script("chat.postMessage", rate_limited(retry_after=7))

    assert deliverer.deliver(make_alert()) == "sent"

    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]
    assert 7.0 in sleeps
    assert len(fake_slack.top_level()) == 1


def test_long_retry_after_is_left_to_the_queue(deliverer: Deliverer, store: Store,
                                               fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", rate_limited(retry_after=120))

    with pytest.raises(RetryableDeliveryError):
        deliverer.deliver(make_alert())

    assert store.get_delivery("s1", "C1") is None  # claim released: the retry may post


def test_server_error_is_retried_without_a_duplicate(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", server_error(500))

    assert deliverer.deliver(make_alert()) == "sent"
    assert deliverer.deliver(make_alert()) == "duplicate"

    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [500, 200]
    assert len(fake_slack.top_level()) == 1


def test_persistent_outage_releases_the_claim_and_a_later_retry_posts_once(
        deliverer: Deliverer, store: Store, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", server_error(503), server_error(500), server_error(502))

    with pytest.raises(RetryableDeliveryError):
        deliverer.deliver(make_alert())
    assert store.get_delivery("s1", "C1") is None

    assert deliverer.deliver(make_alert()) == "sent"
    assert len(fake_slack.top_level()) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_permanent_channel_error_disables_the_channel(deliverer: Deliverer, store: Store,
                                                      fake_slack: FakeSlack, error: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    store.put_subscription(Subscription("C1", "taiwan"))
    store.put_subscription(Subscription("C1", "sanctions"))
    store.put_subscription(Subscription("C2", "taiwan"))
    fake_slack.script("chat.postMessage", slack_error(error))

    assert deliverer.deliver(make_alert()) == "disabled"

    assert store.get_channel("C1").disabled_reason == error
    assert [s.active for s in store.subscriptions("C1")] == [False, False]
    assert [s.active for s in store.subscriptions("C2")] == [True]
    assert "channel disabled" in caplog.text
    # No more calls for that channel: it is not retried forever.
    assert deliverer.deliver(make_alert(story_id="s2")) == "disabled"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_refused_token_keeps_the_alert_queued_and_channels_enabled(deliverer: Deliverer, store: Store,
                                                                   fake_slack: FakeSlack) -> None:
    store.put_subscription(Subscription("C1", "taiwan"))
    fake_slack.script("chat.postMessage", slack_error("invalid_auth"))

    with pytest.raises(SlackAuthError):
        deliverer.deliver(make_alert())

    assert store.get_channel("C1").disabled_reason == ""
    assert store.get_delivery("s1", "C1") is None


def test_rejected_blocks_fall_back_to_plain_text(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", slack_error("invalid_blocks"))

    assert deliverer.deliver(make_alert()) == "sent"

    first, second = fake_slack.calls_to("chat.postMessage")
    assert "blocks" in first.body and "blocks" not in second.body
    assert second.body["text"] == first.body["text"]


def test_pending_claim_of_another_worker_is_retried_later(deliverer: Deliverer, store: Store,
                                                         fake_slack: FakeSlack) -> None:
    assert store.claim_delivery("s1", "C1")  # a worker that has not heard back from Slack yet

    with pytest.raises(RetryableDeliveryError):
        deliverer.deliver(make_alert(source="ap"))

    assert fake_slack.calls_to("chat.postMessage") == []


def test_two_workers_racing_post_one_top_level_message(tmp_path: Path, fake_slack: FakeSlack) -> None:
    stores = [Store(SQLiteKV(tmp_path / "state.db")) for _ in range(2)]
    workers = [Deliverer(s, slack(fake_slack), sleep=lambda _: None) for s in stores]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(worker: Deliverer, source: str) -> None:
        barrier.wait()
        try:
            outcomes.append(worker.deliver(make_alert(source=source)))
        except RetryableDeliveryError:
            outcomes.append("retry")

    threads = [threading.Thread(target=run, args=(w, "reuters")) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()

    assert len(fake_slack.top_level("C1")) == 1
    assert fake_slack.replies("C1") == []
    assert sorted(outcomes) in (["duplicate", "sent"], ["retry", "sent"])


def test_posts_to_one_channel_are_paced_but_channels_are_independent(store: Store,
                                                                     fake_slack: FakeSlack) -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    deliverer = Deliverer(store, slack(fake_slack), clock=lambda: now[0], sleep=sleep)
    deliverer.deliver(make_alert(story_id="a"))
    deliverer.deliver(make_alert(story_id="b"))
    deliverer.deliver(make_alert(story_id="c", channel="C2"))
    deliverer.deliver(make_alert(story_id="d"))

    assert sleeps == [1.0, 1.0]


def test_outbox_records_the_exact_request_body_and_previews(tmp_path: Path, store: Store) -> None:
    outbox = tmp_path / "outbox.jsonl"
    screen = io.StringIO()
    deliverer = Deliverer(store, OutboxClient(outbox, preview=screen, formatter=preview_text), sleep=lambda _: None)

    assert deliverer.deliver(make_alert()) == "sent"
    assert deliverer.deliver(make_alert(source="ap")) == "replied"

    first, reply = (json.loads(line) for line in outbox.read_text().splitlines())
    assert first["method"] == "chat.postMessage"
    assert first["payload"]["channel"] == "C1"
    assert first["payload"]["blocks"][1]["type"] == "section"
    assert reply["payload"]["thread_ts"] == store.get_delivery("s1", "C1").ts
    assert "PLA drills near Taiwan (https://reuters.example/a)" in screen.getvalue()
    assert "[Not relevant]" in screen.getvalue()


def test_make_client_uses_slack_only_with_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  fake_slack: FakeSlack) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert isinstance(make_client(tmp_path / "o.jsonl", preview=False), OutboxClient)

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    client = make_client(tmp_path / "o.jsonl")
    assert isinstance(client, SlackChatClient)
    assert client.client.base_url == fake_slack.api_url


def test_channel_paused_or_source_muted_since_routing_gets_nothing(deliverer: Deliverer, store: Store,
                                                                   fake_slack: FakeSlack) -> None:
    settings = store.get_channel("C1")
    settings.muted_sources = frozenset({"reuters"})
    store.put_channel(settings)
    assert deliverer.deliver(make_alert(source="reuters")) == "muted"

    settings.paused = True
    store.put_channel(settings)
    assert deliverer.deliver(make_alert(source="ap")) == "paused"

    assert fake_slack.calls == []
    assert store.get_delivery("s1", "C1") is None


# ---------------------------------------------------------------- unknown outcomes


def reconciling(store: Store, fake: FakeSlack, **kw: Any) -> Deliverer:
    """A deliverer that reconciles unresolved claims at once (no grace), as after a crash."""
    return Deliverer(store, slack(fake), sleep=lambda _: None, interval=0, grace=timedelta(0), **kw)


def test_a_post_whose_answer_was_lost_is_found_in_history_not_posted_again(store: Store,
                                                                           fake_slack: FakeSlack) -> None:
    # Given Slack takes the message but the connection breaks before its answer
    fake_slack.script("chat.postMessage", lost())
    deliverer = reconciling(store, fake_slack)
    with pytest.raises(DeliveryOutcomeUnknown):
        deliverer.deliver(make_alert())
    assert store.get_delivery("s1", "C1").status == "pending", "the claim stays: the outcome is unknown"

    # When the alert is tried again
    assert deliverer.deliver(make_alert()) == "duplicate"

    # Then the message Slack has is recorded, and nothing was posted twice
    [message] = fake_slack.top_level("C1")
    assert store.get_delivery("s1", "C1").ts == message.ts
    assert fake_slack.calls_to("conversations.history")[0].body["include_all_metadata"] in ("1", "true", "True")


def test_a_lost_answer_for_a_message_slack_never_got_is_posted_once(store: Store, fake_slack: FakeSlack) -> None:
    # Given the connection broke before Slack recorded anything
    fake_slack.script("chat.postMessage", Reply(500, {"ok": False, "error": "internal_error"}),
                      Reply(500, {"ok": False, "error": "internal_error"}),
                      Reply(500, {"ok": False, "error": "internal_error"}))
    deliverer = reconciling(store, fake_slack)
    with pytest.raises(RetryableDeliveryError):
        deliverer.deliver(make_alert())
    # When it is tried again, history shows no message: it is posted, once
    assert deliverer.deliver(make_alert()) == "sent"
    assert len(fake_slack.top_level("C1")) == 1


def test_a_thread_reply_whose_answer_was_lost_is_found_in_the_thread(store: Store, fake_slack: FakeSlack) -> None:
    deliverer = reconciling(store, fake_slack)
    assert deliverer.deliver(make_alert()) == "sent"
    fake_slack.script("chat.postMessage", lost())
    with pytest.raises(DeliveryOutcomeUnknown):
        deliverer.deliver(make_alert(source="ap", kind="update"))
    assert "ap" in store.get_delivery("s1", "C1").reply_claims

    assert deliverer.deliver(make_alert(source="ap", kind="update")) == "duplicate"

    assert len(fake_slack.replies("C1")) == 1
    assert store.get_delivery("s1", "C1").reply_claims == {}
    assert fake_slack.calls_to("conversations.replies")


def test_without_history_access_an_unresolved_claim_waits_for_its_lease(store: Store,
                                                                         fake_slack: FakeSlack) -> None:
    # Given an app without the history scopes and a post whose answer was lost
    fake_slack.script("conversations.history", *[slack_error("missing_scope")] * 3)
    fake_slack.script("chat.postMessage", lost())
    patient = reconciling(store, fake_slack, lease=timedelta(minutes=5))
    with pytest.raises(DeliveryOutcomeUnknown):
        patient.deliver(make_alert())

    # Then within the lease nothing is posted again
    with pytest.raises(RetryableDeliveryError, match="lease"):
        patient.deliver(make_alert())
    assert len(fake_slack.top_level("C1")) == 1

    # And after it the claim is taken over (the documented cost: a possible second post)
    assert reconciling(store, fake_slack, lease=timedelta(0)).deliver(make_alert()) == "sent"
    assert len(fake_slack.top_level("C1")) == 2


def test_a_claim_whose_holder_died_is_resolved_at_once(store: Store, fake_slack: FakeSlack) -> None:
    # Given a claim held by a process that no longer runs (a killed `vigil run`)
    assert store.claim_delivery("s1", "C1", holder="host:999999")
    alive = {"host:999999": False}
    deliverer = Deliverer(store, slack(fake_slack), sleep=lambda _: None, interval=0,
                          is_holder_alive=alive.get)

    # Then it is reconciled without waiting for the grace period, and posted once
    assert deliverer.deliver(make_alert()) == "sent"
    assert len(fake_slack.top_level("C1")) == 1


def test_a_claim_whose_holder_still_runs_is_left_alone(store: Store, fake_slack: FakeSlack) -> None:
    assert store.claim_delivery("s1", "C1", holder="host:1")
    deliverer = Deliverer(store, slack(fake_slack), sleep=lambda _: None, interval=0, grace=timedelta(0),
                          is_holder_alive=lambda _: True)
    with pytest.raises(ClaimHeldElsewhere):
        deliverer.deliver(make_alert())
    assert fake_slack.calls_to("chat.postMessage") == []


def test_connection_errors_on_a_post_are_not_retried_blindly(store: Store) -> None:
    # A closed port: the client must not re-send on its own (the post may have landed).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = SlackChatClient(web_client("xoxb-test", base_url=f"http://127.0.0.1:{port}/api/",
                                        sleep=lambda _: None))
    handlers = [type(h).__name__ for h in client.client.retry_handlers]
    assert "ConnectionErrorRetryHandler" not in handlers and "ConnectionErrorHandler" not in handlers
    with pytest.raises(DeliveryOutcomeUnknown):
        client.post_message("C1", {"text": "hello"})
