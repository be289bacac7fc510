"""Reading HTTP Retry-After values (feeds and Slack both send them)."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

# A Retry-After beyond this is treated as this: a typo or a hostile header must not
# silence a source (or a channel) for months.
MAX_RETRY_AFTER = 24 * 3600.0


def parse_retry_after(value: str, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER)
