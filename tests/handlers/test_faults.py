"""The Lambda path under faults: a crash or timeout between any two writes, a DynamoDB
error, an SQS send that fails — then the next invocations deliver every alert once.

Faults are injected at the state table (the DynamoDB adapter every function shares)
and at the alert queue; the reference is the same cycle run cleanly into another
channel of the same fake Slack.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.adapters.slack.client import SlackChatClient, web_client
from vigil.adapters.sqs import QueueError
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.adapters.state.memory import MemoryKV
from vigil.domain.clock import now_utc
from vigil.domain.errors import StoreError
from vigil.domain.models import Source, SourceState, Subscription
from vigil.runtime import lambdas
from vigil.runtime.local import feed_reader
from vigil.services import outbox
from vigil.services.cycle import CycleOptions, run_cycle
from vigil.services.delivery import Deliverer
from vigil.services.store import Store

from tests.handlers.conftest import LambdaContext, Stack, load_event
from tests.handlers.test_handlers import CHANNEL, TOPICS, known_sources, subscribe_all

REFERENCE = "C0REFERENCE"
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


class Crash(BaseException):
    """The invocation dies here (timeout, out of memory): nothing after it runs."""


@contextmanager
def writes_fail_after(kv: DynamoKV, n: int, fault: Callable[[], BaseException]) -> Iterator[list[int]]:
    """Let `n` writes through, then raise `fault()` on every write."""
    done = [0]
    originals = {name: getattr(kv, name) for name in ("put", "transact", "delete")}

    def guarded(name: str) -> Callable[..., Any]:
        def write(*args: Any, **kwargs: Any) -> Any:
            if done[0] >= n:
                raise fault()
            done[0] += 1
            return originals[name](*args, **kwargs)
        return write

    for name in originals:
        setattr(kv, name, guarded(name))
    try:
        yield done
    finally:
        for name, fn in originals.items():
            setattr(kv, name, fn)


def poll_event(n: int) -> dict[str, Any]:
    event = load_event("poll-schedule.json")
    event["id"] = f"poll-{n}"  # each schedule tick is a new event (idempotency key)
    return event


def drain_queue(stack: Stack, notify: Any, context: LambdaContext) -> None:
    """Feed every alert-queue message to notify until the queue is empty (SQS retries included)."""
    for _ in range(20):
        resp = stack.sqs.receive_message(QueueUrl=stack.alert_queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        messages = resp.get("Messages", [])
        if not messages:
            return
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"} for m in messages]
        result = notify.lambda_handler({"Records": records}, context)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                stack.sqs.delete_message(QueueUrl=stack.alert_queue, ReceiptHandle=m["ReceiptHandle"])


_REFERENCE: dict[str, tuple[int, int]] = {}


def reference_run(sources: list[Source], fake_slack: Any) -> tuple[int, int]:
    """What one clean cycle delivers: (stories, follow-ups), run once per session."""
    if "counts" not in _REFERENCE:
        store = Store(MemoryKV())
        for topic in TOPICS:
            store.put_subscription(Subscription(REFERENCE, topic, created_at=now_utc() - timedelta(days=30)))
        for s in sources:
            store.put_source_state(SourceState(s.id, first_polled=now_utc() - timedelta(days=1)))
        reader = feed_reader()  # VIGIL_ALLOW_PRIVATE_NETWORKS=1 in the stack: the feeds are on loopback
        try:
            run_cycle(sources, load_topics(), store, reader, outbox.DrainLater(), CycleOptions())
        finally:
            reader.close()
        client = SlackChatClient(web_client("xoxb-ref", base_url=fake_slack.api_url, sleep=lambda _: None))
        report = outbox.drain(store, Deliverer(store, client, interval=0), now_utc())
        assert report.delivered > 0, "the reference run delivers the demo stories"
        _REFERENCE["counts"] = (report.delivered - report.follow_ups, report.follow_ups)
    return _REFERENCE["counts"]


def delivered(fake_slack: Any, channel: str) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    def payload(call: Any) -> dict[str, Any]:
        return call.body["metadata"]["event_payload"]
    top = Counter(payload(c)["story_id"] for c in fake_slack.top_level(channel))
    replies = Counter((payload(c)["story_id"], payload(c)["outlet"]) for c in fake_slack.replies(channel))
    return top, replies


FAULTS: dict[str, Callable[[], BaseException]] = {
    "crash": lambda: Crash("invocation killed"),
    "dynamodb-error": lambda: StoreError("dynamodb UpdateItem failed: ProvisionedThroughputExceededException"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("after_writes", [0, 1, 3, 8, 21, 30])
def test_poll_interrupted_between_any_two_writes_loses_and_doubles_nothing(
    stack: Stack, handler: Any, context: LambdaContext, demo_sources: list[Source], fake_slack: Any,
    after_writes: int, fault: str,
) -> None:
    stories, follow_ups = reference_run(demo_sources, fake_slack)
    known_sources(stack, demo_sources)
    subscribe_all(stack)
    poll = handler("poll")
    poll.SOURCES = demo_sources
    kv = lambdas.dynamo(poll.SETTINGS.table_name)

    # Given a poll invocation that dies after `after_writes` writes to the state table
    with writes_fail_after(kv, after_writes, FAULTS[fault]) as done, contextlib.suppress(Crash, StoreError):
        poll.lambda_handler(poll_event(1), context)
    assert done[0] == after_writes, "the fault struck after exactly that many writes"

    # When the next scheduled invocations run, notify drains the queue, and the sweeper
    # re-queues what the dead invocation recorded but never handed to the queue
    notify = handler("notify")
    poll = handler("poll")  # (loading a handler resets the shared builders: a cold start)
    poll.SOURCES = demo_sources
    notify.deliverer().interval = 0
    poll.lambda_handler(poll_event(2), context)
    drain_queue(stack, notify, context)
    outbox.sweep(stack.store, lambdas.alert_sink(poll.SETTINGS.alert_queue_url).send,
                 now_utc() + timedelta(minutes=11))
    drain_queue(stack, notify, context)

    # Then every story reached the channel exactly once, every follow-up once
    top, replies = delivered(fake_slack, CHANNEL)
    assert all(n == 1 for n in top.values()), top
    assert all(n == 1 for n in replies.values()), replies
    assert (len(top), len(replies)) == (stories, follow_ups)
    assert stack.store.outbox() == []


@pytest.mark.parametrize("after_writes", [0, 1, 2])
def test_notify_interrupted_between_its_writes_posts_once(
    stack: Stack, handler: Any, context: LambdaContext, demo_sources: list[Source], fake_slack: Any,
    after_writes: int,
) -> None:
    known_sources(stack, demo_sources)
    subscribe_all(stack)
    poll = handler("poll")
    poll.SOURCES = demo_sources
    poll.lambda_handler(poll_event(1), context)
    queued = len(stack.store.outbox())

    # Given notify dies after `after_writes` writes on its first batch (claim, complete, outbox)
    notify = handler("notify")
    notify.deliverer().interval = 0
    notify.deliverer().grace = timedelta(0)  # the dead invocation's claims are reconciled at once
    kv = lambdas.dynamo(notify.SETTINGS.table_name)
    resp = stack.sqs.receive_message(QueueUrl=stack.alert_queue, MaxNumberOfMessages=1, VisibilityTimeout=0)
    [message] = resp["Messages"]
    record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
              "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"}
    with writes_fail_after(kv, after_writes, lambda: Crash("killed")), contextlib.suppress(Crash):
        notify.lambda_handler({"Records": [record]}, context)

    # When SQS redelivers (the message was never deleted) and the rest is drained
    drain_queue(stack, notify, context)
    outbox.sweep(stack.store, lambdas.alert_sink(poll.SETTINGS.alert_queue_url).send,
                 now_utc() + timedelta(minutes=11))
    drain_queue(stack, notify, context)

    # Then nothing was posted twice and nothing is left
    top, replies = delivered(fake_slack, CHANNEL)
    assert all(n == 1 for n in itertools.chain(top.values(), replies.values())), (top, replies)
    assert len(top) + len(replies) == queued
    assert stack.store.outbox() == []
    assert json.loads(message["Body"])["type"] == "outbox_ref"


def test_alerts_the_queue_refused_are_swept_up_and_delivered_once(
    stack: Stack, handler: Any, context: LambdaContext, demo_sources: list[Source], fake_slack: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stories, follow_ups = reference_run(demo_sources, fake_slack)
    known_sources(stack, demo_sources)
    subscribe_all(stack)
    notify = handler("notify")
    poll = handler("poll")
    poll.SOURCES = demo_sources
    notify.deliverer().interval = 0
    sink = lambdas.alert_sink(poll.SETTINGS.alert_queue_url)

    # Given SQS throttles every send during the cycle
    def refuse(keys: list[str]) -> None:
        raise QueueError("sqs SendMessageBatch failed: ThrottlingException")

    with monkeypatch.context() as patch:
        patch.setattr(sink, "send", refuse)
        result = poll.lambda_handler(poll_event(1), context)
    drain_queue(stack, notify, context)
    assert result["cycle"]["alerts"] > 0
    assert fake_slack.posted(CHANNEL) == [], "nothing reached the queue"

    # When the sweeper runs on a later poll (past its deadline) and notify drains the queue
    outbox.sweep(stack.store, sink.send, now_utc() + timedelta(minutes=11))
    drain_queue(stack, notify, context)

    # Then every alert reached Slack once
    top, replies = delivered(fake_slack, CHANNEL)
    assert (len(top), len(replies)) == (stories, follow_ups)
    assert all(n == 1 for n in itertools.chain(top.values(), replies.values()))


def test_a_poll_near_its_timeout_takes_no_new_sources_and_leaves_them_due(
    stack: Stack, handler: Any, context: LambdaContext, demo_sources: list[Source],
) -> None:
    known_sources(stack, demo_sources)
    subscribe_all(stack)
    poll = handler("poll")
    poll.SOURCES = demo_sources

    # Given an invocation with less time left than the margin
    hurried = LambdaContext()
    hurried.get_remaining_time_in_millis = lambda: lambdas.TIME_MARGIN_MS - 1  # type: ignore[method-assign]
    result = poll.lambda_handler(poll_event(1), hurried)

    # Then it stops before the first source, writes no item, and every source stays due
    assert result["cycle"]["sources_deferred"] == len(demo_sources)
    assert result["cycle"]["items_new"] == 0
    assert all(s.last_attempt is None or s.last_attempt < now_utc() - timedelta(minutes=30)
               for s in stack.store.source_states())
    again = poll.lambda_handler(poll_event(2), context)
    assert again["cycle"]["sources_ok"] == len(demo_sources) and again["cycle"]["items_new"] > 0
