"""The outbox: a Slack outage keeps alerts for the next run, which delivers each once;
the AWS sweeper queues again what nobody delivered; queue messages name entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from vigil.adapters.slack.client import SlackChatClient, web_client
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.clock import now_utc
from vigil.domain.codec import alert_to_dict, outbox_ref_to_dict
from vigil.services import outbox
from vigil.services.delivery import Deliverer
from vigil.services.store import Store

from tests.adapters.test_deliver import make_alert
from tests.fakeslack import FakeSlack, server_error


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(SQLiteKV(tmp_path / "state.db"))
    yield s
    s.close()


def _deliverer(store: Store, fake: FakeSlack) -> Deliverer:
    client = SlackChatClient(web_client("xoxb-test", base_url=fake.api_url, sleep=lambda _: None))
    return Deliverer(store, client, interval=0, sleep=lambda _: None)


def test_an_outage_keeps_alerts_and_the_next_drain_delivers_each_once(store: Store, fake_slack: FakeSlack) -> None:
    # Given two alerts in the outbox and Slack failing every call for a whole run
    store.add_to_outbox([make_alert(story_id="s1"), make_alert(story_id="s2", channel="C2")])
    fake_slack.script("chat.postMessage", *[server_error(503)] * 20)
    first = outbox.drain(store, _deliverer(store, fake_slack), now_utc())
    assert fake_slack.top_level() == []
    assert (first.delivered, first.pending, first.failed) == (0, 2, 0)
    assert [e.attempts for e in store.outbox()] == [1, 1]

    # When Slack is back and the next run drains again
    fake_slack.reset()
    second = outbox.drain(store, _deliverer(store, fake_slack), now_utc())

    # Then each alert is posted exactly once and the outbox is empty
    assert (second.delivered, second.pending) == (2, 0)
    assert sorted(c.body["channel"] for c in fake_slack.top_level()) == ["C1", "C2"]
    assert store.outbox() == []
    assert outbox.drain(store, _deliverer(store, fake_slack), now_utc()).delivered == 0
    assert len(fake_slack.top_level()) == 2


def test_a_drain_stops_trying_once_slack_is_clearly_down(store: Store, fake_slack: FakeSlack) -> None:
    store.add_to_outbox([make_alert(story_id=f"s{n}") for n in range(10)])
    fake_slack.script("chat.postMessage", *[server_error(503)] * 100)
    report = outbox.drain(store, _deliverer(store, fake_slack), now_utc())
    assert report.pending == 10
    # Three alerts were tried (each with the client's own retries), the rest left alone.
    assert len(fake_slack.calls_to("chat.postMessage")) == 3 * 3
    assert len(store.outbox()) == 10


def test_an_alert_still_failing_stays_in_the_outbox_once(store: Store, fake_slack: FakeSlack) -> None:
    store.add_to_outbox([make_alert(story_id="s1")])
    fake_slack.script("chat.postMessage", *[server_error(500)] * 40)
    outbox.drain(store, _deliverer(store, fake_slack), now_utc())
    outbox.drain(store, _deliverer(store, fake_slack), now_utc())
    [entry] = store.outbox()
    assert entry.attempts == 2
    assert "500" in entry.last_error


def test_the_sweeper_queues_again_only_what_waited_too_long(store: Store) -> None:
    now = now_utc()
    [old] = store.add_to_outbox([make_alert(story_id="old")], now=now - timedelta(minutes=30))
    store.add_to_outbox([make_alert(story_id="new")], now=now)
    sent: list[list[str]] = []

    assert outbox.sweep(store, sent.append, now) == 1
    assert sent == [[old]]
    # Queued again just now: not swept again until it waits another while.
    assert outbox.sweep(store, sent.append, now + timedelta(minutes=1)) == 0
    assert outbox.sweep(store, sent.append, now + timedelta(minutes=11)) == 2


def test_a_queue_message_names_an_entry_and_a_second_copy_is_a_no_op(store: Store,
                                                                    fake_slack: FakeSlack) -> None:
    [key] = store.add_to_outbox([make_alert(story_id="s1")])
    deliverer = _deliverer(store, fake_slack)
    message = outbox_ref_to_dict(key)

    first = outbox.deliver_message(store, deliverer, message, now_utc())
    again = outbox.deliver_message(store, deliverer, message, now_utc())

    assert (first.outcome, again.outcome) == ("sent", "duplicate")
    assert len(fake_slack.top_level()) == 1
    assert store.outbox() == []


def test_an_alert_queued_before_the_outbox_is_still_delivered(store: Store, fake_slack: FakeSlack) -> None:
    result = outbox.deliver_message(store, _deliverer(store, fake_slack), alert_to_dict(make_alert()), now_utc())
    assert result.outcome == "sent"
    assert len(fake_slack.top_level()) == 1
