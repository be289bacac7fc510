"""The state store: domain operations over a small single-table key/value interface.

Both backends (SQLite for one machine, DynamoDB for AWS) implement only `KeyValue`;
every record layout lives here, so the two cannot drift. Record keys:

| pk                    | sk                     | record                          |
|-----------------------|------------------------|---------------------------------|
| SEEN#<item key>       | -                      | seen item (TTL)                 |
| SOURCE                | <source id>            | SourceState                     |
| CUSTOMSOURCE          | <source id>            | Source added from Slack         |
| STORY                 | <first_seen iso>#<id>  | Story (TTL)                     |
| STORYID#<id>          | -                      | pointer to the STORY sort key   |
| SUB                   | <channel>#<topic>      | Subscription                    |
| CHANNEL               | <channel>              | ChannelSettings                 |
| TOPIC                 | <channel>#<topic id>   | custom Topic                    |
| DELIVERY#<story id>   | <channel>              | Delivery (claim, ts, outlets)   |
| FEEDBACK              | <iso>#<channel>#<user> | feedback on an alert            |
| DIGEST#<channel>      | <iso>#<story id>       | story waiting for a digest      |
| CYCLE                 | <iso>                  | summary of one poll cycle (TTL) |
| RETRY                 | <story>#<channel>#<iso>| alert waiting for a retry (TTL) |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from vigil.domain.models import (
    ChannelSettings,
    Delivery,
    Severity,
    Source,
    SourceState,
    Story,
    Subscription,
    Topic,
)

SEEN_TTL = timedelta(days=30)
STORY_TTL = timedelta(days=14)
CYCLE_TTL = timedelta(days=7)
DIGEST_TTL = timedelta(days=3)


class Conflict(Exception):
    """A conditional write lost: the record changed or already exists."""


class StoreError(Exception):
    """The backend failed (unreachable, throttled, misconfigured)."""


Record = dict[str, Any]


class KeyValue(Protocol):
    """What a backend must provide. `version` gives optimistic concurrency:

    `put(..., expect_version=None)` writes only if the record is absent,
    `expect_version=n` only if its stored version is n; either raises Conflict.
    Records carry their own `_v` (version) and optional `_ttl` (epoch seconds).
    """

    def get(self, pk: str, sk: str) -> Record | None: ...

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]: ...

    def put(
        self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
        ttl: datetime | None = None,
    ) -> int: ...

    def delete(self, pk: str, sk: str) -> bool: ...

    def query(
        self, pk: str, *, prefix: str = "", start: str | None = None, limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, Record]]: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- serialization


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Severity):
        return int(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def to_record(obj: Any) -> Record:
    return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def from_record(cls: type, data: Record) -> Any:
    kwargs: dict[str, Any] = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for name, f in hints.items():
        if name not in data:
            continue
        value = data[name]
        t = str(f.type)
        if "datetime" in t:
            value = _dt(value)
        elif "Severity" in t:
            value = Severity(int(value))
        elif "frozenset" in t:
            value = frozenset(value or ())
        elif "tuple" in t:
            value = tuple(value or ())
        kwargs[name] = value
    return cls(**kwargs)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- the store


class Store:
    """Domain operations; the only thing handlers, the pipeline and Slack code use."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    def close(self) -> None:
        self.kv.close()

    # seen items -------------------------------------------------------------

    def unseen(self, keys: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        found = self.kv.batch_get([(f"SEEN#{k}", "-") for k in wanted])
        return {k for k in wanted if (f"SEEN#{k}", "-") not in found}

    def mark_seen(self, key: str, source_id: str, now: datetime | None = None) -> bool:
        """Record an item as seen; False if another poller recorded it first."""
        now = now or now_utc()
        try:
            self.kv.put(
                f"SEEN#{key}", "-", {"source": source_id, "at": _encode(now)},
                expect_version=None, ttl=now + SEEN_TTL,
            )
        except Conflict:
            return False
        return True

    def forget_seen(self, key: str) -> None:
        """Undo mark_seen when the item's alerts could not be handed over."""
        self.kv.delete(f"SEEN#{key}", "-")

    # sources ----------------------------------------------------------------

    def get_source_state(self, source_id: str) -> SourceState | None:
        data = self.kv.get("SOURCE", source_id)
        return from_record(SourceState, data) if data else None

    def put_source_state(self, state: SourceState) -> None:
        self.kv.put("SOURCE", state.source_id, to_record(state))

    def source_states_of(self, source_ids: Iterable[str]) -> dict[str, SourceState]:
        """States of just these sources (one batch read; a fan-out worker polls a slice)."""
        found = self.kv.batch_get([("SOURCE", sid) for sid in dict.fromkeys(source_ids)])
        return {sk: from_record(SourceState, data) for (_, sk), data in found.items()}

    def source_states(self) -> list[SourceState]:
        return [from_record(SourceState, d) for _, d in self.kv.query("SOURCE")]

    def custom_sources(self) -> list[Source]:
        return [from_record(Source, d) for _, d in self.kv.query("CUSTOMSOURCE")]

    def with_custom_sources(self, configured: Sequence[Source]) -> list[Source]:
        """The configured sources, then those added from Slack (a configured id wins)."""
        known = {s.id for s in configured}
        return [*configured, *(s for s in self.custom_sources() if s.id not in known)]

    def put_custom_source(self, source: Source) -> None:
        self.kv.put("CUSTOMSOURCE", source.id, to_record(source))

    def delete_custom_source(self, source_id: str) -> bool:
        return self.kv.delete("CUSTOMSOURCE", source_id)

    # stories ----------------------------------------------------------------

    def stories_since(self, since: datetime) -> list[Story]:
        return [from_record(Story, d) for _, d in self.kv.query("STORY", start=_iso(since))]

    def get_story(self, story_id: str) -> Story | None:
        ptr = self.kv.get(f"STORYID#{story_id}", "-")
        if not ptr:
            return None
        data = self.kv.get("STORY", ptr["sk"])
        return from_record(Story, data) if data else None

    def put_story(self, story: Story) -> None:
        sk = f"{_iso(story.first_seen)}#{story.id}"
        expires = story.last_seen + STORY_TTL
        self.kv.put("STORY", sk, to_record(story), ttl=expires)
        self.kv.put(f"STORYID#{story.id}", "-", {"sk": sk}, ttl=expires)

    # subscriptions and channel settings ---------------------------------------

    def subscriptions(self, channel: str | None = None) -> list[Subscription]:
        prefix = f"{channel}#" if channel else ""
        return [from_record(Subscription, d) for _, d in self.kv.query("SUB", prefix=prefix)]

    def put_subscription(self, sub: Subscription) -> None:
        self.kv.put("SUB", f"{sub.channel}#{sub.topic}", to_record(sub))

    def delete_subscription(self, channel: str, topic: str) -> bool:
        return self.kv.delete("SUB", f"{channel}#{topic}")

    def get_channel(self, channel: str) -> ChannelSettings:
        data = self.kv.get("CHANNEL", channel)
        return from_record(ChannelSettings, data) if data else ChannelSettings(channel=channel)

    def put_channel(self, settings: ChannelSettings) -> None:
        self.kv.put("CHANNEL", settings.channel, to_record(settings))

    def channels(self) -> list[ChannelSettings]:
        return [from_record(ChannelSettings, d) for _, d in self.kv.query("CHANNEL")]

    # custom topics ----------------------------------------------------------

    def custom_topics(self, channel: str | None = None) -> list[Topic]:
        prefix = f"{channel}#" if channel else ""
        return [from_record(Topic, d) for _, d in self.kv.query("TOPIC", prefix=prefix)]

    def put_custom_topic(self, topic: Topic) -> None:
        assert topic.channel, "custom topics belong to a channel"
        self.kv.put("TOPIC", f"{topic.channel}#{topic.id}", to_record(topic))

    def delete_custom_topic(self, channel: str, topic_id: str) -> bool:
        return self.kv.delete("TOPIC", f"{channel}#{topic_id}")

    # deliveries -------------------------------------------------------------

    def get_delivery(self, story_id: str, channel: str) -> Delivery | None:
        data = self.kv.get(f"DELIVERY#{story_id}", channel)
        return from_record(Delivery, data) if data else None

    def claim_delivery(
        self, story_id: str, channel: str, lease: timedelta = timedelta(minutes=5),
        now: datetime | None = None,
    ) -> bool:
        """Take the right to post the top-level message for (story, channel).

        True for exactly one caller; a pending claim older than `lease` (a worker that
        died before Slack answered) may be taken over.
        """
        now = now or now_utc()
        pk = f"DELIVERY#{story_id}"
        data = self.kv.get(pk, channel)
        if data is None:
            expect: int | None = None
        elif data.get("status") == "pending" and (_dt(data.get("claimed_at")) or now) + lease <= now:
            expect = data["_v"]
        else:
            return False
        record = to_record(Delivery(story_id, channel, "pending", claimed_at=now))
        try:
            self.kv.put(pk, channel, record, expect_version=expect, ttl=now + STORY_TTL)
        except Conflict:
            return False
        return True

    def complete_delivery(self, story_id: str, channel: str, ts: str, outlet: str) -> None:
        now = now_utc()
        record = to_record(Delivery(story_id, channel, "sent", ts=ts, claimed_at=now, outlets=(outlet,)))
        self.kv.put(f"DELIVERY#{story_id}", channel, record, ttl=now + STORY_TTL)

    def release_delivery(self, story_id: str, channel: str) -> None:
        """Give a claim back after Slack refused the post, so a retry may claim it."""
        data = self.kv.get(f"DELIVERY#{story_id}", channel)
        if data and data.get("status") == "pending":
            self.kv.delete(f"DELIVERY#{story_id}", channel)

    def claim_outlet(self, story_id: str, channel: str, outlet: str) -> Delivery | None:
        """Reserve the one thread reply an outlet gets; None if already replied or not sent."""

        def add(data: Record) -> list[str] | None:
            outlets = data.get("outlets", [])
            if data.get("status") != "sent" or outlet in outlets:
                return None
            return [*outlets, outlet]

        return self._update_outlets(story_id, channel, add)

    def release_outlet(self, story_id: str, channel: str, outlet: str) -> None:
        """Give an outlet's reservation back after Slack did not take its reply."""

        def remove(data: Record) -> list[str] | None:
            outlets = data.get("outlets", [])
            return [o for o in outlets if o != outlet] if outlet in outlets else None

        self._update_outlets(story_id, channel, remove)

    def _update_outlets(
        self, story_id: str, channel: str, change: Callable[[Record], list[str] | None]
    ) -> Delivery | None:
        """Versioned read-modify-write of a delivery's outlets; None when `change` declines."""
        pk = f"DELIVERY#{story_id}"
        for _ in range(5):
            data = self.kv.get(pk, channel)
            outlets = change(data) if data else None
            if data is None or outlets is None:
                return None
            body = {k: v for k, v in data.items() if not k.startswith("_")}
            body["outlets"] = outlets
            try:
                self.kv.put(pk, channel, body, expect_version=data["_v"], ttl=now_utc() + STORY_TTL)
            except Conflict:
                continue  # another worker changed the outlets meanwhile: re-read and retry
            return from_record(Delivery, body)
        return None

    # feedback, digests, cycles ----------------------------------------------

    def add_feedback(self, channel: str, user: str, verdict: str, story_id: str,
                     topic: str, item_key: str = "", title: str = "") -> None:
        now = now_utc()
        self.kv.put("FEEDBACK", f"{_iso(now)}#{channel}#{user}", {
            "channel": channel, "user": user, "verdict": verdict, "story_id": story_id,
            "topic": topic, "item_key": item_key, "title": title, "at": _encode(now),
        })

    def feedback(self, channel: str | None = None) -> list[Record]:
        rows = [d for _, d in self.kv.query("FEEDBACK")]
        return [r for r in rows if channel is None or r["channel"] == channel]

    def queue_digest(self, channel: str, story: Story, topic: str) -> None:
        now = now_utc()
        self.kv.put(f"DIGEST#{channel}", f"{_iso(now)}#{story.id}", {
            "story_id": story.id, "title": story.title, "url": story.url, "topic": topic,
            "severity": int(story.severity), "sources": list(story.sources), "at": _encode(now),
        }, ttl=now + DIGEST_TTL)

    def take_digest(self, channel: str) -> list[Record]:
        """Pending digest entries for a channel, removed from the queue."""
        rows = self.kv.query(f"DIGEST#{channel}")
        for sk, _ in rows:
            self.kv.delete(f"DIGEST#{channel}", sk)
        return [d for _, d in rows]

    def queue_retry(self, channel: str, story_id: str, alert: Record) -> None:
        """Keep an alert Slack could not take yet (local mode; SQS does this on AWS)."""
        now = now_utc()
        self.kv.put("RETRY", f"{story_id}#{channel}#{_iso(now)}", alert, ttl=now + DIGEST_TTL)

    def pending_retries(self) -> list[tuple[str, Record]]:
        return self.kv.query("RETRY")

    def drop_retry(self, sk: str) -> None:
        self.kv.delete("RETRY", sk)

    def record_cycle(self, summary: Record) -> None:
        now = now_utc()
        self.kv.put("CYCLE", _iso(now), {**summary, "at": _encode(now)}, ttl=now + CYCLE_TTL)

    def cycles(self, limit: int = 1) -> list[Record]:
        return [d for _, d in self.kv.query("CYCLE", limit=limit, reverse=True)]


def iter_chunks(seq: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
