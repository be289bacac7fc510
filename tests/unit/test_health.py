"""Source health, scheduling and backlog protection (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from vigil.domain import health
from vigil.domain.models import Item, Source, SourceState

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
SOURCE = Source("wire", "https://wire.example.com/rss", interval_minutes=15)


@dataclass
class Outcome:
    items: list[Item] | None = field(default_factory=list)
    status: int = 200
    error: str = ""
    etag: str = '"e2"'
    modified: str = "Mon, 06 Jan 2025 11:00:00 GMT"
    retry_after: float | None = None


def item(published: datetime | None) -> Item:
    return Item("k", "wire", "title", "", "https://wire.example.com/a", published)


def failed(error: str = "HTTP 500", status: int = 500, retry_after: float | None = None) -> Outcome:
    return Outcome(items=None, status=status, error=error, etag="", modified="", retry_after=retry_after)


# ---------------------------------------------------------------- record_outcome


def test_success_records_validators_items_and_first_poll() -> None:
    state = health.record_outcome(SourceState("wire"), Outcome(items=[item(NOW)] * 4), NOW)
    assert (state.etag, state.modified) == ('"e2"', "Mon, 06 Jan 2025 11:00:00 GMT")
    assert state.last_success == state.last_attempt == state.first_polled == NOW
    assert state.items_seen == 4 and state.last_status == 200 and state.consecutive_failures == 0


def test_the_input_state_is_not_modified() -> None:
    before = SourceState("wire")
    health.record_outcome(before, failed(), NOW)
    assert before == SourceState("wire")


def test_failures_count_up_and_remember_when_they_started() -> None:
    state = SourceState("wire", etag='"e1"', modified="old")
    state = health.record_outcome(state, failed("timed out"), NOW)
    state = health.record_outcome(state, failed("HTTP 502", 502), NOW + timedelta(minutes=15))
    assert state.consecutive_failures == 2
    assert state.failing_since == NOW
    assert (state.last_error, state.last_status) == ("HTTP 502", 502)
    # Validators survive failures, so the next success can still be a cheap 304.
    assert (state.etag, state.modified) == ('"e1"', "old")


def test_a_parse_failure_keeps_the_old_validators() -> None:
    # A 200 whose body did not parse: storing its ETag would make the next poll a 304
    # that silently hides the broken feed.
    outcome = Outcome(items=None, status=200, error="not a feed: the server sent an HTML page")
    state = health.record_outcome(SourceState("wire", etag='"e1"'), outcome, NOW)
    assert state.etag == '"e1"' and state.consecutive_failures == 1


def test_success_after_failures_clears_the_failure() -> None:
    state = health.record_outcome(SourceState("wire"), failed(), NOW)
    state = health.record_outcome(state, Outcome(), NOW + timedelta(minutes=20))
    assert state.consecutive_failures == 0 and state.failing_since is None and state.last_error == ""


def test_not_modified_keeps_the_item_count_and_first_poll() -> None:
    state = SourceState("wire", items_seen=7, first_polled=NOW - timedelta(days=1))
    state = health.record_outcome(state, Outcome(items=None, status=304), NOW)
    assert state.items_seen == 7 and state.first_polled == NOW - timedelta(days=1)
    assert state.last_success == NOW


def test_retry_after_defers_the_source() -> None:
    state = health.record_outcome(SourceState("wire"), failed("HTTP 429", 429, retry_after=600), NOW)
    assert state.retry_after == NOW + timedelta(minutes=10)
    assert not health.is_due(SOURCE, state, NOW + timedelta(minutes=9))
    assert health.is_due(SOURCE, state, NOW + timedelta(minutes=16))


# ---------------------------------------------------------------- scheduling


def test_a_new_source_is_due() -> None:
    assert health.is_due(SOURCE, None, NOW)
    assert health.is_due(SOURCE, SourceState("wire"), NOW)


@pytest.mark.parametrize(
    ("minutes_ago", "due"), [(5, False), (14, False), (14.6, True), (15, True), (60, True)]
)
def test_the_source_interval_is_honoured(minutes_ago: float, due: bool) -> None:
    state = SourceState("wire", last_attempt=NOW - timedelta(minutes=minutes_ago))
    assert health.is_due(SOURCE, state, NOW) is due


def test_a_failing_source_is_polled_less_often_but_at_least_hourly() -> None:
    state = SourceState("wire", consecutive_failures=3, last_attempt=NOW)
    assert health.poll_interval(SOURCE, state) == timedelta(hours=1)
    assert health.poll_interval(SOURCE, SourceState("wire", consecutive_failures=2)) == timedelta(minutes=30)
    assert not health.is_due(SOURCE, state, NOW + timedelta(minutes=45))
    assert health.is_due(SOURCE, state, NOW + timedelta(minutes=60))


def test_failing_long_is_reported_after_the_threshold() -> None:
    state = SourceState("wire", consecutive_failures=9, failing_since=NOW - timedelta(hours=7))
    assert health.is_failing_long(state, NOW, timedelta(hours=6))
    assert not health.is_failing_long(state, NOW, timedelta(hours=8))
    assert not health.is_failing_long(SourceState("wire"), NOW)
    assert "(failing long)" in health.problem(state, NOW)


# ---------------------------------------------------------------- backlog protection


@pytest.mark.parametrize(
    ("age", "alert"),
    [
        (timedelta(minutes=10), True),
        (timedelta(hours=5, minutes=59), True),
        (timedelta(hours=7), False),
        (timedelta(days=30), False),
        (-timedelta(minutes=30), True),  # a little in the future: clock skew
        (-timedelta(days=2), False),  # far in the future: a bogus date
    ],
)
def test_first_poll_alerts_only_on_recent_items(age: timedelta, alert: bool) -> None:
    assert health.should_alert_on_first_poll(item(NOW - age), NOW) is alert


def test_first_poll_never_alerts_on_undated_items() -> None:
    assert not health.should_alert_on_first_poll(item(None), NOW)


def test_the_backlog_grace_is_configurable_in_hours_or_as_a_timedelta() -> None:
    three_hours_old = item(NOW - timedelta(hours=3))
    assert not health.should_alert_on_first_poll(three_hours_old, NOW, 2)
    assert health.should_alert_on_first_poll(three_hours_old, NOW, timedelta(hours=4))
