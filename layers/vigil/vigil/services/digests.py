"""Digests: one message per period for channels in digest mode, nothing when empty.

Runs on a schedule (EventBridge on AWS, cron locally) every `interval`. Stateless: a
channel is due when its period starts within the last `interval` (hourly: every run
of an hourly schedule; daily HH:MM TZ: the first run at or after that local time).
`take_digest` empties the queue, so an extra run sends nothing twice; if Slack
refuses the post, the entries are queued again for the next period.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil.domain.models import ChannelSettings, Severity, Story
from vigil.render.slack import render_digest
from vigil.services.delivery import (
    ChannelUnavailable,
    ChatClient,
    Deliverer,
    MessageRejected,
    RetryableDeliveryError,
    disable_channel,
)
from vigil.services.store import Store

log = logging.getLogger("vigil.services.digests")


def is_due(mode: str, now: datetime, interval: timedelta = timedelta(hours=1)) -> bool:
    """Whether a digest period of `mode` starts within (now - interval, now]."""
    parts = mode.split()
    if not parts or parts[0] == "off":
        return False
    if parts[0] == "hourly":
        since_hour = now - now.replace(minute=0, second=0, microsecond=0)
        return since_hour < interval
    if parts[0] == "daily" and len(parts) >= 2:
        try:
            tz = ZoneInfo(parts[2]) if len(parts) >= 3 else ZoneInfo("UTC")
            hour, minute = (int(x) for x in parts[1].split(":"))
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("bad digest mode %r", mode)
            return False
        local = now.astimezone(tz)
        start = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if start > local:
            start -= timedelta(days=1)
        return local - start < interval
    return False


def run_digests(store: Store, client: ChatClient, now: datetime, *,
                interval: timedelta = timedelta(hours=1),
                topic_names: Mapping[str, str] | None = None,
                deliverer: Deliverer | None = None) -> dict[str, int]:
    """Send the due digests; returns counts of outcomes ("sent", "empty", "retry", ...)."""
    poster = deliverer or Deliverer(store, client)
    outcomes: dict[str, int] = {}
    for settings in store.channels():
        if not _wants_digest(settings) or not is_due(settings.digest, now, interval):
            continue
        outcome = send_digest(store, poster, settings, topic_names, period=settings.digest.split()[0])
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _wants_digest(settings: ChannelSettings) -> bool:
    return settings.digest != "off" and not settings.paused and not settings.disabled_reason


def send_digest(store: Store, poster: Deliverer, settings: ChannelSettings,
                topic_names: Mapping[str, str] | None = None, period: str = "") -> str:
    channel = settings.channel
    entries = store.take_digest(channel)
    if not entries:
        return "empty"
    payload = render_digest(channel, entries, topic_names, period=period)
    payload.pop("channel", None)
    try:
        poster.post(channel, payload)
    except ChannelUnavailable as exc:
        disable_channel(store, channel, str(exc))
        return "disabled"
    except (RetryableDeliveryError, MessageRejected) as exc:
        # Nothing is lost: the stories wait for the next period.
        _requeue(store, channel, entries)
        log.warning("digest deferred: channel=%s stories=%d error=%s", channel, len(entries), exc)
        return "retry"
    log.info("digest sent: channel=%s stories=%d", channel, len(entries))
    return "sent"


def _requeue(store: Store, channel: str, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        at = datetime.fromisoformat(entry["at"]) if entry.get("at") else datetime.now().astimezone()
        try:
            severity = Severity(int(entry.get("severity", 1)))
        except ValueError:
            severity = Severity.ROUTINE
        story = Story(id=str(entry.get("story_id", "")), title=str(entry.get("title", "")),
                      first_seen=at, last_seen=at, severity=severity,
                      sources=tuple(entry.get("sources") or ()), url=str(entry.get("url", "")))
        store.queue_digest(channel, story, str(entry.get("topic", "")))
