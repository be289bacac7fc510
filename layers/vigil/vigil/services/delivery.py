"""Posting alerts exactly once per (story, channel), and once per outlet in its thread.

The store's delivery record is the idempotency key. Only the worker that claims a
(story, channel) posts the top-level message; the claim becomes "sent" only after
Slack accepted the post. Later outlets become thread replies, each reserved before
posting and confirmed after. A claim or reservation whose outcome is unknown (its
worker died, or the connection broke after the request went out) is reconciled from
the channel's history — our messages carry the story id (and outlet) as metadata —
before anything is posted again; without history access it is taken over only after
a lease. Transient failures raise RetryableDeliveryError (the outbox keeps the alert);
a channel the bot can no longer post to gets its subscriptions disabled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from vigil.domain.clock import now_utc
from vigil.domain.codec import parse_time
from vigil.domain.errors import (
    ChannelUnavailable,
    ClaimHeldElsewhere,
    DeliveryOutcomeUnknown,
    HistoryUnavailable,
    MessageRejected,
    RetryableDeliveryError,
)
from vigil.domain.models import Alert, Delivery
from vigil.domain.provenance import says_more
from vigil.ports import ChatClient, Clock
from vigil.render.slack import message_content, render_alert, render_reply, with_confirmations
from vigil.services.store import Store

log = logging.getLogger("vigil.services.delivery")

# A claim younger than this may still be waiting on Slack (10 s timeout, 429 waits up
# to 30 s, retries): leave it to its holder unless the holder is known to be gone.
CLAIM_GRACE = timedelta(minutes=2)
# Without channel history, an unresolved claim is taken over after this long (the
# post may then appear twice if it did land: the cost of not having history).
CLAIM_LEASE = timedelta(minutes=5)
# Edits of one alert in a row at most, when racing workers keep raising its figures.
MAX_EDIT_ROUNDS = 3
# History is searched from a little before the claim: clocks of workers differ.
CLOCK_SKEW = timedelta(minutes=1)

# Whether the holder of a claim is still running: True/False, or None when unknown.
HolderCheck = Callable[[str], bool | None]


def _unknown_holder(_holder: str) -> bool | None:
    return None


class Deliverer:
    """Posts alerts once per (story, channel), paced at about one message per second per channel."""

    def __init__(self, store: Store, client: ChatClient, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 topic_names: Mapping[str, str] | None = None,
                 holder: str = "", is_holder_alive: HolderCheck = _unknown_holder,
                 grace: timedelta = CLAIM_GRACE, lease: timedelta = CLAIM_LEASE,
                 now: Clock = now_utc) -> None:
        self.store = store
        self.client = client
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.topic_names = topic_names
        self.holder = holder
        self.is_holder_alive = is_holder_alive
        self.grace = grace
        self.lease = lease
        self.now = now
        self._next_slot: dict[str, float] = {}
        self._pace_lock = threading.Lock()

    def deliver(self, alert: Alert) -> str:
        """Deliver one alert; returns "sent", "replied", "duplicate", "disabled", "paused",
        "muted" or "failed" (each final). Raises RetryableDeliveryError to be tried later.
        """
        settings = self.store.get_channel(alert.channel)
        # Routing checked these when the alert was made; the channel may have changed
        # since (a queued alert, a click on Mute), and the latest word wins.
        if settings.disabled_reason:
            return "disabled"
        if settings.paused:
            return "paused"
        if alert.item.source_id in settings.muted_sources:
            return "muted"
        return self._deliver_new(alert)

    # -- top-level message --------------------------------------------------

    def _deliver_new(self, alert: Alert) -> str:
        story_id, channel, outlet = alert.story.id, alert.channel, alert.item.source_id
        current = self.store.get_delivery(story_id, channel)
        if current is not None and current.status == "sent":
            return self._reply(alert, current)
        if current is not None:
            resolved = self._resolve_pending(alert, current)
            if resolved is not None:
                return resolved
        payload = render_alert(alert, self.topic_names)
        if not self.store.take_over_claim(story_id, channel, current, self.now(), outlet=outlet,
                                          holder=self.holder, message=message_content(payload),
                                          shown=(alert.story.confirmations, alert.story.official)):
            return self._after_claim_lost(alert)
        try:
            ts = self.post(channel, payload)
        except ChannelUnavailable as exc:
            self.store.release_delivery(story_id, channel)
            self._disable(channel, str(exc))
            return "disabled"
        except MessageRejected as exc:
            self.store.release_delivery(story_id, channel)
            log.error("slack rejected alert: story=%s channel=%s error=%s", story_id, channel, exc)
            return "failed"
        except DeliveryOutcomeUnknown:
            raise  # the claim stays: the next attempt reconciles it from the history
        except RetryableDeliveryError:
            self.store.release_delivery(story_id, channel)
            raise
        self._complete(story_id, channel, ts, outlet)
        log.info("alert sent: story=%s channel=%s ts=%s", story_id, channel, ts)
        return "sent"

    def _resolve_pending(self, alert: Alert, claim: Delivery) -> str | None:
        """A pending claim: leave it, record what its holder posted, or None to take it over."""
        story_id, channel = alert.story.id, alert.channel
        claimed_at = claim.claimed_at or self.now()
        ts = self._posted_meanwhile(channel, story_id, claimed_at, claim.claimed_by)
        if ts is None:
            return None
        claimed_outlet = claim.outlets[0] if claim.outlets else alert.item.source_id
        self._complete(story_id, channel, ts, claimed_outlet)
        log.info("in-flight alert found in slack: story=%s channel=%s ts=%s", story_id, channel, ts)
        if claimed_outlet == alert.item.source_id:
            return "duplicate"
        return self._after_claim_lost(alert)

    def _posted_meanwhile(self, channel: str, story_id: str, claimed_at: datetime, holder: str,
                          thread_ts: str = "", outlet: str = "") -> str | None:
        """The ts of the message an unresolved claim posted, or None if it posted nothing.

        Raises RetryableDeliveryError while the claim must be left alone.
        """
        age = self.now() - claimed_at
        if holder and holder == self.holder:
            alive: bool | None = False  # our own earlier attempt: this worker posts one thing at a time
        else:
            alive = self.is_holder_alive(holder) if holder else None
        if alive or (alive is None and age < self.grace):
            raise ClaimHeldElsewhere(f"story {story_id} is being posted to {channel}")
        try:
            return self.client.find_message(channel, story_id=story_id, oldest=claimed_at - CLOCK_SKEW,
                                            thread_ts=thread_ts, outlet=outlet)
        except HistoryUnavailable as exc:
            if age < self.lease:
                raise RetryableDeliveryError(
                    f"story {story_id} in {channel}: outcome unknown, no history ({exc}); "
                    f"taken over after the {self.lease} lease") from exc
            log.warning("claim lease expired without history: story=%s channel=%s outlet=%s",
                        story_id, channel, outlet or "-")
            return None

    def _complete(self, story_id: str, channel: str, ts: str, outlet: str) -> None:
        # Slack has the message: raising now would make the queue post it again, so
        # try hard to record it; otherwise the pending claim is reconciled later.
        for attempt in range(3):
            try:
                self.store.complete_delivery(story_id, channel, ts, outlet)
                return
            except Exception as exc:  # the store's backend errors vary (sqlite, dynamodb)
                log.error("recording delivery failed: story=%s channel=%s attempt=%d error=%s",
                          story_id, channel, attempt + 1, exc)
                self.sleep(0.2 * (attempt + 1))

    def _after_claim_lost(self, alert: Alert) -> str:
        delivery = self.store.get_delivery(alert.story.id, alert.channel)
        if delivery is None or delivery.status != "sent":
            # Another worker holds the claim (or just released it): its outcome decides
            # whether this becomes a thread reply, so look again later.
            raise ClaimHeldElsewhere(f"story {alert.story.id} is being posted to {alert.channel}")
        return self._reply(alert, delivery)

    # -- thread reply -------------------------------------------------------

    def _reply(self, alert: Alert, delivery: Delivery) -> str:
        outcome = self._reply_once(alert, delivery)
        if outcome in ("replied", "duplicate"):
            self._refresh_confirmations(alert)
        return outcome

    def _reply_once(self, alert: Alert, delivery: Delivery) -> str:
        story_id, channel, outlet = alert.story.id, alert.channel, alert.item.source_id
        if outlet in delivery.reply_claims:
            claimed_at, holder = _reply_claim(delivery.reply_claims[outlet])
            ts = self._posted_meanwhile(channel, story_id, claimed_at or self.now(), holder,
                                        thread_ts=delivery.ts, outlet=outlet)
            if ts is not None:
                self.store.confirm_outlet(story_id, channel, outlet)
                return "duplicate"
            reserved = self.store.claim_outlet(story_id, channel, outlet, self._claim_stamp(), takeover=True)
        elif outlet in delivery.outlets:
            return "duplicate"
        else:
            reserved = self.store.claim_outlet(story_id, channel, outlet, self._claim_stamp())
        if reserved is None:
            return self._reply_lost(alert)
        return self._post_reply(alert, reserved)

    def _claim_stamp(self) -> str:
        return f"{self.now().isoformat()}|{self.holder}"

    def _reply_lost(self, alert: Alert) -> str:
        delivery = self.store.get_delivery(alert.story.id, alert.channel)
        outlet = alert.item.source_id
        if delivery is not None and outlet in delivery.outlets and outlet not in delivery.reply_claims:
            return "duplicate"
        raise ClaimHeldElsewhere(f"reply of {outlet} to story {alert.story.id} is being posted")

    def _post_reply(self, alert: Alert, delivery: Delivery) -> str:
        story_id, channel, outlet = alert.story.id, alert.channel, alert.item.source_id
        payload = {**render_reply(alert), "thread_ts": delivery.ts}
        try:
            self.post(channel, payload)
        except ChannelUnavailable as exc:
            self.store.confirm_outlet(story_id, channel, outlet)
            self._disable(channel, str(exc))
            return "disabled"
        except MessageRejected as exc:
            self.store.confirm_outlet(story_id, channel, outlet)
            log.error("slack rejected reply: story=%s channel=%s error=%s", story_id, channel, exc)
            return "failed"
        except DeliveryOutcomeUnknown:
            raise  # the reservation stays unconfirmed: reconciled from the thread next time
        except RetryableDeliveryError:
            # Give the outlet back so the retry (queue or next run) can post the reply.
            self.store.release_outlet(story_id, channel, outlet)
            raise
        self.store.confirm_outlet(story_id, channel, outlet)
        log.info("reply sent: story=%s channel=%s outlet=%s", story_id, channel, outlet)
        return "replied"

    # -- editing the top-level message as the story is confirmed ---------------

    def _refresh_confirmations(self, alert: Alert) -> None:
        """Edit the posted alert when its story is better confirmed than the alert shows.

        Runs after each reply (and again when that reply's retry finds it done), so an
        edit that failed for a moment is redone. Edits of one message may race: when
        another worker recorded a higher figure meanwhile, its edit may have landed
        before ours, so the message is edited again with the latest figures (bounded).
        """
        story_id, channel = alert.story.id, alert.channel
        force = False
        for _ in range(MAX_EDIT_ROUNDS):
            delivery = self.store.get_delivery(story_id, channel)
            if delivery is None or delivery.status != "sent" or not delivery.ts:
                return
            confirmations, official = self._latest_confirmations(alert)
            shown = (delivery.shown_confirmations, delivery.shown_official)
            # Another worker may have shown (and recorded) more than this one knows of:
            # an edit never shows less than the record says is shown.
            confirmations, official = max(confirmations, shown[0]), official or shown[1]
            if not force and not says_more((confirmations, official), shown):
                return
            self._edit(channel, delivery, confirmations, official)
            after = self.store.record_shown(story_id, channel, confirmations, official)
            force = after is not None and says_more((after.shown_confirmations, after.shown_official),
                                                  (confirmations, official))

    def _latest_confirmations(self, alert: Alert) -> tuple[int, bool]:
        # The stored story may have been joined by later reports than this alert's.
        stored = self.store.get_story(alert.story.id)
        if stored is None:
            return alert.story.confirmations, alert.story.official
        return (max(stored.confirmations, alert.story.confirmations), stored.official or alert.story.official)

    def _edit(self, channel: str, delivery: Delivery, confirmations: int, official: bool) -> None:
        # Paced before the read: a click landing between reading and writing is overwritten.
        self._pace(channel)
        try:
            current = self.client.get_message(channel, delivery.ts)
        except HistoryUnavailable:
            # Without history, the message as last recorded: as posted, or as a click left it.
            current = delivery.message or None
        if current is None or not current.get("blocks"):
            # Deleted, or posted as plain text after Slack refused its blocks: nothing to edit.
            log.info("alert not edited: story=%s channel=%s (no blocks to edit)", delivery.story_id, channel)
            return
        payload = with_confirmations({**delivery.message, **current}, confirmations, official)
        try:
            self.client.update_message(channel, delivery.ts, payload)
        except (MessageRejected, ChannelUnavailable) as exc:
            # Too old to edit, deleted, or no longer ours: the thread replies still say it.
            log.warning("alert not edited: story=%s channel=%s error=%s", delivery.story_id, channel, exc)
            return
        log.info("alert edited: story=%s channel=%s confirmations=%d official=%s",
                 delivery.story_id, channel, confirmations, official)

    # -- Slack calls ----------------------------------------------------------

    def post(self, channel: str, payload: dict[str, Any]) -> str:
        """Post (paced) and return the message ts.

        Raises RetryableDeliveryError (or DeliveryOutcomeUnknown), ChannelUnavailable or MessageRejected.
        """
        try:
            return self._call(channel, payload)
        except MessageRejected:
            if not payload.get("blocks"):
                raise
        # Blocks Slack refuses (a rendering bug) should not cost the alert: plain text.
        log.warning("blocks rejected, posting text only: channel=%s", channel)
        plain = {k: v for k, v in payload.items() if k != "blocks"}
        return self._call(channel, plain)

    def _call(self, channel: str, payload: dict[str, Any]) -> str:
        self._pace(channel)
        return self.client.post_message(channel, payload)

    def _pace(self, channel: str) -> None:
        """Keep at least `interval` seconds between posts to one channel (Slack's guidance)."""
        with self._pace_lock:
            now = self.clock()
            slot = max(now, self._next_slot.get(channel, now))
            self._next_slot[channel] = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def _disable(self, channel: str, reason: str) -> None:
        disable_channel(self.store, channel, reason)


def _reply_claim(value: str) -> tuple[datetime | None, str]:
    stamp, _, holder = value.partition("|")
    try:
        return parse_time(stamp), holder
    except ValueError:
        return None, holder


def disable_channel(store: Store, channel: str, reason: str) -> None:
    """Stop delivering to a channel Slack says we cannot post to, until /vigil resume."""
    store.update_channel(channel, lambda s: replace(s, disabled_reason=reason))
    # Only subscriptions that still exist: one removed meanwhile must not come back.
    store.set_subscriptions_active(channel, False)
    log.warning("channel disabled: channel=%s reason=%s (re-invite the bot, then /vigil resume)",
                channel, reason)
