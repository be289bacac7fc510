"""Digests: one message per period for channels in digest mode, nothing when empty.

On AWS the digest function runs on a schedule every `interval`, statelessly: a
channel is due when its period starts within the last `interval`. Locally `vigil run`
and `vigil digest` run at any time (cron, by hand), so a channel is due when a period
began after its last digest (or after its oldest waiting entry): missed periods are
caught up, none is served twice. Entries are removed only after Slack took the
digest, so a crash or an outage keeps them for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from vigil.domain.codec import parse_time
from vigil.domain.digest_schedule import is_due, is_due_since
from vigil.domain.errors import ChannelUnavailable, MessageRejected, RetryableDeliveryError
from vigil.domain.models import ChannelSettings
from vigil.ports import ChatClient
from vigil.render.slack import render_digest
from vigil.services.delivery import Deliverer, disable_channel
from vigil.services.store import Store

log = logging.getLogger("vigil.services.digests")

__all__ = ["is_due", "run_digests", "send_digest"]


def run_digests(store: Store, client: ChatClient, now: datetime, *,
                interval: timedelta | None = timedelta(hours=1),
                topic_names: Mapping[str, str] | None = None,
                deliverer: Deliverer | None = None) -> dict[str, int]:
    """Send the due digests; returns counts of outcomes ("sent", "empty", "retry", ...).

    `interval=None` decides "due" from the last digest sent (local runs at any time).
    """
    poster = deliverer or Deliverer(store, client)
    outcomes: dict[str, int] = {}
    for settings in store.channels():
        if not _wants_digest(settings) or not _due(store, settings, now, interval):
            continue
        outcome = send_digest(store, poster, settings, topic_names, period=settings.digest.split()[0], now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _due(store: Store, settings: ChannelSettings, now: datetime, interval: timedelta | None) -> bool:
    if interval is not None:
        return is_due(settings.digest, now, interval)
    last = store.digest_sent_at(settings.channel)
    if last is None:
        waiting = store.pending_digest(settings.channel)
        last = parse_time(waiting[0].get("at")) if waiting else None
    return is_due_since(settings.digest, now, last)


def _wants_digest(settings: ChannelSettings) -> bool:
    return settings.digest != "off" and not settings.paused and not settings.disabled_reason


def send_digest(store: Store, poster: Deliverer, settings: ChannelSettings,
                topic_names: Mapping[str, str] | None = None, period: str = "",
                now: datetime | None = None) -> str:
    channel = settings.channel
    rows = store.digest_rows(channel)
    if not rows:
        return "empty"
    payload = render_digest(channel, [entry for _, entry in rows], topic_names, period=period)
    payload.pop("channel", None)
    try:
        poster.post(channel, payload)
    except ChannelUnavailable as exc:
        disable_channel(store, channel, str(exc))
        return "disabled"
    except (RetryableDeliveryError, MessageRejected) as exc:
        # Nothing is lost: the entries stay queued for the next period.
        log.warning("digest deferred: channel=%s stories=%d error=%s", channel, len(rows), exc)
        return "retry"
    store.remove_digest_rows(channel, [sk for sk, _ in rows])
    if now is not None:
        store.record_digest_sent(channel, now)
    log.info("digest sent: channel=%s stories=%d", channel, len(rows))
    return "sent"
