"""Source health and scheduling: pure functions over `SourceState` (no I/O, no clock reads)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from vigil.domain.models import Item, Source, SourceState

DEFAULT_BACKLOG_GRACE = timedelta(hours=6)
DEFAULT_FAILING_AFTER = timedelta(hours=6)
# Schedulers fire a little early or late; without slack a 5-minute source polled by a
# 5-minute schedule would skip every other cycle whenever a cycle starts a second early.
DUE_SLACK = timedelta(seconds=30)
# A failing source is polled less and less often, but at least this often.
MAX_FAILURE_BACKOFF = timedelta(hours=1)
# Items dated this far in the future still count as "recent" (clock skew, time zones).
FUTURE_TOLERANCE = timedelta(hours=1)
# SourceState.recent: a 48-bit digest per item key (8 base64 characters), for at most
# this many items of a feed, so a stored state stays under DynamoDB's 1 KB write unit.
# The chance that a new item's digest equals one of a source's recent ones is below
# RECENT_MAX / 2**48 (about 2e-13): negligible next to every other way to miss an item.
RECENT_MAX = 64
_DIGEST_CHARS = 8


class Outcome(Protocol):
    """What one poll of a source produced (the pipeline's FeedOutcome fits)."""

    @property
    def items(self) -> Sequence[Item] | None: ...  # None: 304 or failed
    @property
    def status(self) -> int: ...
    @property
    def error(self) -> str: ...
    @property
    def etag(self) -> str: ...
    @property
    def modified(self) -> str: ...
    @property
    def retry_after(self) -> float | None: ...


def record_outcome(state: SourceState, outcome: Outcome, now: datetime) -> SourceState:
    """The state after one poll; the input is left unchanged.

    `items_seen` is the number of items the latest successful parse produced (a 304
    keeps the previous count).
    """
    base = dataclasses.replace(state, last_attempt=now, last_status=outcome.status)
    if outcome.error:
        return _failed(base, outcome, now)
    return _succeeded(base, outcome, now)


def _failed(state: SourceState, outcome: Outcome, now: datetime) -> SourceState:
    # Validators are kept as they were: storing the ETag of a body we could not parse
    # would turn the next poll into a 304 that hides the problem.
    retry_at = now + timedelta(seconds=outcome.retry_after) if outcome.retry_after else None
    return dataclasses.replace(
        state,
        last_error=outcome.error,
        consecutive_failures=state.consecutive_failures + 1,
        failing_since=state.failing_since or now,
        retry_after=retry_at,
    )


def _succeeded(state: SourceState, outcome: Outcome, now: datetime) -> SourceState:
    items = outcome.items
    return dataclasses.replace(
        state,
        etag=outcome.etag,
        modified=outcome.modified,
        last_success=now,
        last_error="",
        consecutive_failures=0,
        failing_since=None,
        retry_after=None,
        items_seen=len(items) if items is not None else state.items_seen,
        first_polled=state.first_polled or now,
        recent=recent_digest(i.key for i in items) if items is not None else state.recent,
    )


def _digest(key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.blake2b(key.encode(), digest_size=6).digest()).decode()


def recent_digest(keys: Iterable[str]) -> str:
    """SourceState.recent for a parse that produced items with these keys (feed order, first RECENT_MAX)."""
    out: dict[str, None] = {}
    for key in keys:
        out.setdefault(_digest(key))
        if len(out) >= RECENT_MAX:
            break
    return "".join(out)


def recently_seen(state: SourceState | None, keys: Iterable[str]) -> set[str]:
    """The keys among `keys` that the source's previous parse also produced (already seen)."""
    if state is None or not state.recent:
        return set()
    r = state.recent
    known = {r[i : i + _DIGEST_CHARS] for i in range(0, len(r), _DIGEST_CHARS)}
    return {k for k in keys if _digest(k) in known}


def poll_interval(source: Source, state: SourceState | None) -> timedelta:
    """The source's interval, doubled per consecutive failure up to an hour (never below it)."""
    interval = timedelta(minutes=max(1, source.interval_minutes))
    failures = state.consecutive_failures if state else 0
    if failures <= 1:
        return interval
    backed_off = interval * (2 ** min(failures - 1, 10))
    return max(interval, min(backed_off, MAX_FAILURE_BACKOFF))


def is_due(source: Source, state: SourceState | None, now: datetime) -> bool:
    """Whether a cycle at `now` should poll the source (interval and Retry-After honoured)."""
    if state is None:
        return True
    if state.retry_after is not None and now < state.retry_after:
        return False
    if state.last_attempt is None:
        return True
    return now >= state.last_attempt + poll_interval(source, state) - DUE_SLACK


def is_failing_long(state: SourceState, now: datetime, threshold: timedelta = DEFAULT_FAILING_AFTER) -> bool:
    """True when the source has failed without a success for at least `threshold`."""
    return state.failing_since is not None and now - state.failing_since >= threshold


def should_alert_on_first_poll(
    item: Item, now: datetime, grace: timedelta | float = DEFAULT_BACKLOG_GRACE
) -> bool:
    """On a new source's first poll, alert only on items published within `grace`.

    `grace` is a timedelta or a number of hours. Undated items are backlog: a feed
    without dates must not flood a channel on its first poll.
    """
    window = grace if isinstance(grace, timedelta) else timedelta(hours=grace)
    published = item.published
    if published is None:
        return False
    return now - window <= published <= now + FUTURE_TOLERANCE


def problem(state: SourceState, now: datetime, threshold: timedelta = DEFAULT_FAILING_AFTER) -> str:
    """One line for status displays: '' for a healthy source."""
    if not state.consecutive_failures:
        return ""
    since = f" since {state.failing_since:%Y-%m-%d %H:%M} UTC" if state.failing_since else ""
    long = " (failing long)" if is_failing_long(state, now, threshold) else ""
    return f"{state.consecutive_failures} failures{since}{long}: {state.last_error}"
