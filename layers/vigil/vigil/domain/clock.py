"""Time helpers shared by every layer."""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso_key(dt: datetime) -> str:
    """A sortable fixed-width UTC timestamp for record keys."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
