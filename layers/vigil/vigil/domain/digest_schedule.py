"""When a channel's digest is due: pure schedule arithmetic ("hourly", "daily HH:MM TZ")."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("vigil.domain.digest_schedule")


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


def period_start(mode: str, now: datetime) -> datetime | None:
    """The start of the digest period `now` is in; None for "off" or a malformed mode."""
    parts = mode.split()
    if not parts or parts[0] == "off":
        return None
    if parts[0] == "hourly":
        return now.replace(minute=0, second=0, microsecond=0)
    if parts[0] == "daily" and len(parts) >= 2:
        try:
            tz = ZoneInfo(parts[2]) if len(parts) >= 3 else ZoneInfo("UTC")
            hour, minute = (int(x) for x in parts[1].split(":"))
        except (ZoneInfoNotFoundError, ValueError):
            return None
        local = now.astimezone(tz)
        start = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return start - timedelta(days=1) if start > local else start
    return None


def is_due_since(mode: str, now: datetime, last: datetime | None) -> bool:
    """Due when a period began after `last` (the last digest, or the oldest waiting entry).

    For runs at irregular times (cron, a laptop that sleeps): a period missed by every
    run is caught up by the next one, and a period is never served twice.
    """
    start = period_start(mode, now)
    return start is not None and last is not None and start > last
