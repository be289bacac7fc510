"""Delivering what the outbox holds: every alert a committed item called for.

The cycle writes alerts to the outbox in the same transaction that marks their item
seen; this drains it. An entry leaves the outbox only when delivery reached a final
outcome (posted, already posted, or refused for good); anything retryable stays, with
its attempt count, for the next drain (local) or the queue and sweeper (AWS).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.domain.codec import alert_from_dict, outbox_ref_from_dict
from vigil.domain.errors import ClaimHeldElsewhere, RetryableDeliveryError, WireFormatError
from vigil.services.delivery import Deliverer
from vigil.services.store import OutboxEntry, Store

log = logging.getLogger("vigil.services.outbox")

DELIVERED = frozenset({"sent", "replied"})
# Final outcomes that are not a message in Slack: say so in the summary.
NOT_DELIVERED = frozenset({"failed", "disabled", "malformed"})
MAX_BACKOFF = timedelta(minutes=15)
# One drain handles at most this many entries; the rest wait for the next.
DRAIN_LIMIT = 2000
GIVE_UP_AFTER = 3
# An entry not delivered this long after it was written (or last queued) is queued again.
SWEEP_AFTER = timedelta(minutes=10)


@dataclass(slots=True)
class DrainReport:
    outcomes: dict[str, int] = field(default_factory=dict)
    pending: int = 0  # still in the outbox, to be delivered later
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(n for o, n in self.outcomes.items() if o in DELIVERED)

    @property
    def failed(self) -> int:
        return sum(n for o, n in self.outcomes.items() if o in NOT_DELIVERED)

    @property
    def in_flight(self) -> int:
        return self.outcomes.get("in_flight", 0)

    @property
    def follow_ups(self) -> int:
        return self.outcomes.get("replied", 0)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * 2 ** min(attempts, 10), MAX_BACKOFF)


def deliver_entry(store: Store, deliverer: Deliverer, entry: OutboxEntry, now: datetime) -> str:
    """Deliver one outbox entry; "pending" when it stays for a later attempt."""
    try:
        alert = alert_from_dict(entry.alert)
    except WireFormatError as exc:
        # Written by a version that this one cannot read: keep nothing that would block the rest.
        log.error("outbox entry unreadable, dropped: key=%s error=%s", entry.key, exc)
        store.outbox_done(entry.key)
        return "malformed"
    try:
        outcome = deliverer.deliver(alert)
    except ClaimHeldElsewhere as exc:
        # Not a failure: another worker is posting it and removes the entry when done.
        # If that worker dies, the next drain (or the sweeper) reconciles its claim.
        log.info("delivery in flight elsewhere: story=%s channel=%s: %s", alert.story.id, alert.channel, exc)
        return "in_flight"
    except RetryableDeliveryError as exc:
        if store.outbox_entry(entry.key) is None:
            return "duplicate"  # delivered by another worker meanwhile
        log.warning("delivery deferred: story=%s channel=%s attempt=%d: %s",
                    alert.story.id, alert.channel, entry.attempts + 1, exc)
        store.outbox_defer(entry, str(exc), now + backoff(entry.attempts))
        return "pending"
    store.outbox_done(entry.key)
    return outcome


def drain(store: Store, deliverer: Deliverer, now: datetime, *,
          should_stop: Callable[[], bool] = lambda: False, limit: int = DRAIN_LIMIT) -> DrainReport:
    """Deliver every outbox entry, oldest first, until done or told to stop."""
    report = DrainReport()
    entries = store.outbox(limit=limit)
    deferred_in_a_row = 0
    for n, entry in enumerate(entries):
        # Slack down: each attempt costs retries and waits, and the rest would fare the same.
        if should_stop() or deferred_in_a_row >= GIVE_UP_AFTER:
            report.pending += len(entries) - n
            break
        outcome = deliver_entry(store, deliverer, entry, now)
        if outcome == "pending":
            report.pending += 1
            report.errors.append(entry.key)
            deferred_in_a_row += 1
        else:
            report.count(outcome)
            deferred_in_a_row = 0
    return report


def sweep(store: Store, send: Callable[[list[str]], object], now: datetime, *,
          older_than: timedelta = SWEEP_AFTER, limit: int = DRAIN_LIMIT) -> int:
    """Queue again the entries nobody delivered for `older_than` (AWS).

    Covers a crash or timeout between the outbox write and the queue send, a send that
    failed, and messages that went to the dead-letter queue: the outbox, not the queue,
    is the record of what is owed. Returns how many were queued.
    """
    stale = [e for e in store.outbox(limit=limit) if (e.next_at or now) <= now - older_than]
    if not stale:
        return 0
    send([e.key for e in stale])
    for entry in stale:
        store.outbox_enqueued(entry, now)
    log.info("outbox swept: queued=%d", len(stale))
    return len(stale)


class DrainLater:
    """`AlertSink` for one machine: the alerts are already in the outbox, which the
    caller drains after the cycle (`drain`), so handing over is nothing to do."""

    def send(self, keys: list[str]) -> None:
        return None


class DeliveryDeferred(Exception):
    """A queued alert could not be delivered now; it stays in the outbox (and the queue retries)."""


@dataclass(slots=True)
class MessageResult:
    key: str
    outcome: str
    published: datetime | None = None


def deliver_message(store: Store, deliverer: Deliverer, message: Any, now: datetime) -> MessageResult:
    """One alert-queue message: an outbox reference, or (queued before the outbox existed) a whole alert."""
    if isinstance(message, dict) and message.get("type", "alert") == "alert" and "story" in message:
        return _deliver_legacy(deliverer, message)
    key = outbox_ref_from_dict(message)
    entry = store.outbox_entry(key)
    if entry is None:
        return MessageResult(key, "duplicate")  # delivered (and removed) by an earlier message
    outcome = deliver_entry(store, deliverer, entry, now)
    return MessageResult(key, outcome, _published(entry))


def _deliver_legacy(deliverer: Deliverer, message: dict[str, Any]) -> MessageResult:
    alert = alert_from_dict(message)
    key = f"legacy#{alert.story.id}#{alert.channel}"
    try:
        outcome = deliverer.deliver(alert)
    except RetryableDeliveryError as exc:
        log.warning("delivery deferred: story=%s channel=%s: %s", alert.story.id, alert.channel, exc)
        return MessageResult(key, "pending")
    return MessageResult(key, outcome, alert.item.published)


def _published(entry: OutboxEntry) -> datetime | None:
    try:
        return alert_from_dict(entry.alert).item.published
    except WireFormatError:
        return None
