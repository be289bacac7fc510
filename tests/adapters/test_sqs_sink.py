"""The SQS adapters: alerts queued as JSON (and back), failed entries retried, then an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from vigil.adapters.sqs import QueueError, SqsAlertSink, send_bodies
from vigil.adapters.state.memory import MemoryKV
from vigil.domain.codec import alert_from_dict, outbox_ref_from_dict
from vigil.domain.models import Alert, Item, Severity, Story, TopicMatch
from vigil.runtime.settings import SettingsError, load_settings
from vigil.services.store import Store

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def alert(n: int) -> Alert:
    item = Item(f"k{n}", "bbc", f"title {n} — 台灣", "summary", f"https://e.org/{n}", NOW)
    story = Story(f"s{n}", f"title {n}", NOW, NOW, ("taiwan",), Severity.URGENT, ("bbc",), (item.key,))
    return Alert("C1", story, item, (TopicMatch("taiwan", 3.0, Severity.URGENT, ("taiwan strait",)),))


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        yield client, client.create_queue(QueueName="alerts")["QueueUrl"]


def test_outbox_keys_round_trip_through_the_queue(sqs: tuple[Any, str]) -> None:
    client, url = sqs
    store = Store(MemoryKV())
    sent = store.add_to_outbox([alert(n) for n in range(13)])  # more than one SendMessageBatch
    sink = SqsAlertSink(url, client)
    sink.send(sent)
    got: list[Alert] = []
    while msgs := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in msgs:
            entry = store.outbox_entry(outbox_ref_from_dict(json.loads(m["Body"])))
            assert entry is not None
            got.append(alert_from_dict(entry.alert))
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(a.story.id for a in got) == sorted(f"s{n}" for n in range(13))
    assert got[0] == next(alert(n) for n in range(13) if f"s{n}" == got[0].story.id)
    assert sink.sent == 13


class FlakySqs:
    """SendMessageBatch fails the first entry `times` times (throttling), or as a sender fault."""

    def __init__(self, times: int, sender_fault: bool = False) -> None:
        self.times, self.sender_fault, self.calls = times, sender_fault, 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls += 1
        if self.times <= 0:
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}
        self.times -= 1
        first = Entries[0]["Id"]
        return {"Failed": [{"Id": first, "SenderFault": self.sender_fault, "Code": "X", "Message": "m"}]}


def test_failed_entries_are_retried() -> None:
    client = FlakySqs(times=2)
    assert send_bodies(client, "q", ["a", "b"]) == 2  # type: ignore[arg-type]
    assert client.calls == 3


def test_persistent_failure_raises() -> None:
    with pytest.raises(QueueError, match="failed after retries"):
        send_bodies(FlakySqs(times=99), "q", ["a"])  # type: ignore[arg-type]
    with pytest.raises(QueueError, match="refused"):
        send_bodies(FlakySqs(times=1, sender_fault=True), "q", ["a"])  # type: ignore[arg-type]


def test_settings_name_every_problem_at_once() -> None:
    env = {"SLACK_TOKEN_PARAM": "vigil/token", "SOURCES_PER_BATCH": "0"}
    with pytest.raises(SettingsError) as err:
        load_settings(["TABLE_NAME", "SLACK_TOKEN_PARAM"], env)
    message = str(err.value)
    assert "TABLE_NAME is not set" in message
    assert "SOURCES_PER_BATCH must be 1..500" in message
    assert "starting with '/'" in message
    assert load_settings(["TABLE_NAME"], {"TABLE_NAME": "t", "VIGIL_ADMINS": "U1, U2"}).admins == {"U1", "U2"}
