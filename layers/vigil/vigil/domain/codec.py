"""Alerts to JSON and back, for the alert queue (SQS) between poll and notify."""

from __future__ import annotations

from typing import Any

from vigil.domain.models import Alert, Item, Story, TopicMatch
from vigil.services.store import from_record, to_record


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "channel": alert.channel,
        "kind": alert.kind,
        "story": to_record(alert.story),
        "item": to_record(alert.item),
        "matches": [to_record(m) for m in alert.matches],
    }


def alert_from_dict(data: dict[str, Any]) -> Alert:
    return Alert(
        channel=data["channel"],
        kind=data.get("kind", "new"),
        story=from_record(Story, data["story"]),
        item=from_record(Item, data["item"]),
        matches=tuple(from_record(TopicMatch, m) for m in data.get("matches", ())),
    )
