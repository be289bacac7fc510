"""Local mode's alert sink: a Slack outage defers alerts to the next run, losing none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.services.delivery import Deliverer, web_client
from vigil.services.local_delivery import InProcessSink
from vigil.services.store import Store

from tests.adapters.test_deliver import make_alert
from tests.fakeslack import FakeSlack, server_error


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(SQLiteKV(tmp_path / "state.db"))
    yield s
    s.close()


def _sink(store: Store) -> InProcessSink:
    return InProcessSink(store, Deliverer(store, web_client("xoxb-test", sleep=lambda _: None),
                                          interval=0, sleep=lambda _: None))


def test_an_outage_defers_alerts_and_the_next_run_delivers_each_once(store: Store, fake_slack: FakeSlack) -> None:
    # Given Slack failing every call for the whole of one run
    fake_slack.script("chat.postMessage", *[server_error(503)] * 20)
    alerts = [make_alert(story_id="s1"), make_alert(story_id="s2", channel="C2")]
    first = _sink(store)
    first.send(alerts)
    assert fake_slack.top_level() == []
    assert first.outcomes == {"deferred": 2}
    assert len(store.pending_retries()) == 2

    # When Slack is back and the next run retries what was kept
    fake_slack.reset()
    second = _sink(store)
    still_pending = second.retry_pending()

    # Then each alert is posted exactly once and the retry queue is empty
    assert still_pending == 0
    assert sorted(c.body["channel"] for c in fake_slack.top_level()) == ["C1", "C2"]
    assert store.pending_retries() == []
    assert second.retry_pending() == 0
    assert len(fake_slack.top_level()) == 2


def test_an_alert_still_failing_on_retry_stays_queued_once(store: Store, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", *[server_error(500)] * 40)
    sink = _sink(store)
    sink.send([make_alert(story_id="s1")])
    assert sink.retry_pending() == 1
    assert len(store.pending_retries()) == 1, "a failed retry does not queue a second copy"
