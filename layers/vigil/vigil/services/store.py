"""The state store: domain operations over a small single-table key/value interface.

Both backends (SQLite for one machine, DynamoDB for AWS) implement only `KeyValue`;
every record layout lives here, so the two cannot drift. Record keys:

| pk                    | sk                     | record                          |
|-----------------------|------------------------|---------------------------------|
| SEEN#<item key>       | -                      | seen item (TTL)                 |
| SEEN#url:<digest>     | -                      | seen canonical URL, any source (TTL) |
| SOURCE                | <source id>            | SourceState                     |
| CUSTOMSOURCE          | <source id>            | Source added from Slack         |
| STORY                 | <first_seen iso>#<id>  | Story (TTL)                     |
| STORYID#<id>          | -                      | pointer to the STORY sort key   |
| SUB                   | <channel>#<topic>      | Subscription                    |
| CHANNEL               | <channel>              | ChannelSettings                 |
| TOPIC                 | <channel>#<topic id>   | custom Topic                    |
| DELIVERY#<story id>   | <channel>              | Delivery (claim, ts, outlets)   |
| FEEDBACK              | <channel>#<item>#<topic>#<user> | a user's verdict on an alert |
| DIGEST#<channel>      | <iso>#<story id>       | story waiting for a digest      |
| CYCLE                 | <iso>                  | summary of one poll cycle (TTL) |
| OUTBOX                | <iso>#<story>#<channel>#<kind>#<outlet> | alert to deliver (TTL) |
| DIGESTSENT            | <channel>              | when the last digest went out   |
| CONFIG                | <name>                 | setting, e.g. `sources`: file `vigil run` polls |
| LIST                  | <source id>            | entry ids of a whole-list source's last poll |

An item's seen-mark, its story and the alerts and digest entries it calls for are
written in one atomic transaction (`commit_item`), so a crash at any instant leaves
either nothing (the item is new again next cycle) or everything delivery needs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from vigil.domain import provenance
from vigil.domain.clock import iso_key as _iso
from vigil.domain.clock import now_utc
from vigil.domain.codec import alert_to_dict, encode_value, from_record, parse_time, to_record, wrap
from vigil.domain.errors import Conflict, Contention
from vigil.domain.models import (
    Alert,
    ChannelSettings,
    Delivery,
    Source,
    SourceState,
    Story,
    Subscription,
    Topic,
)
from vigil.ports import MAX_TRANSACT_WRITES, KeyValue, Record, Write

SEEN_TTL = timedelta(days=30)
STORY_TTL = timedelta(days=14)
CYCLE_TTL = timedelta(days=7)
DIGEST_TTL = timedelta(days=3)
# An alert Slack cannot take for a week is dropped (logged by the drain): the story is stale.
OUTBOX_TTL = timedelta(days=7)
# A versioned read-modify-write retries this often when other writers keep winning:
# 20 people changing one channel at the same instant all get through, and a reply
# still comes well inside Slack's 3 seconds (each wait is at most UPDATE_BACKOFF_MAX).
UPDATE_ATTEMPTS = 40
UPDATE_BACKOFF_MAX = 0.05

_encode = encode_value
_dt = parse_time


@dataclass(slots=True)
class OutboxEntry:
    """An alert recorded for delivery: it stays until delivery reaches a final outcome."""

    key: str
    alert: Record  # the alert's wire form (domain.codec.alert_to_dict)
    attempts: int = 0
    next_at: datetime | None = None
    enqueued_at: datetime | None = None
    last_error: str = ""
    version: int = 0


# ---------------------------------------------------------------- the store


class Store:
    """Domain operations; the only thing handlers, the pipeline and Slack code use."""

    def __init__(self, kv: KeyValue, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.kv = kv
        # Waits between retries of a lost versioned update (tests may pass a no-op).
        self.sleep = sleep

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
        """Undo mark_seen (tests and operators; the cycle itself commits atomically)."""
        self.kv.delete(f"SEEN#{key}", "-")

    def commit_item(
        self, key: str, source_id: str, now: datetime, *, story: Story | None = None,
        alerts: Sequence[Alert] = (), digests: Sequence[tuple[str, str]] = (),
        also_seen: Sequence[str] = (),
    ) -> list[str] | None:
        """Mark an item seen together with its story, alerts and digest entries (channel, topic).

        All in one transaction; None (and nothing written) when another poller marked
        the item first, or when one of `also_seen` (cross-source keys such as the
        item's canonical URL) is already marked: then it is a copy of an item another
        source delivered. (An item without alerts or story and with one such key is two
        conditional puts instead, `_mark_seen_plain`: if the item alone was marked
        first, its key is marked too, which is true.) Returns the outbox keys of the alerts. When the writes exceed
        one transaction, the alerts and digest entries are written first (their keys
        are idempotent for delivery) and the seen-mark last, so a crash in between
        means the item is processed again, never that an alert is lost.
        """
        seen = Write(f"SEEN#{key}", "-", {"source": source_id, "at": _encode(now)},
                     expect_version=None, ttl=max(now, now_utc()) + SEEN_TTL)
        aliases = [replace(seen, pk=f"SEEN#{k}") for k in also_seen]
        story_writes = self._story_writes(story) if story is not None else []
        outbox = [self._outbox_write(alert, now) for alert in alerts]
        extra = [*outbox, *(self._digest_write(ch, story, topic, now) for ch, topic in digests if story)]
        writes = [seen, *aliases, *story_writes, *extra]
        try:
            if len(writes) <= 2 and not extra and not story_writes:
                # Most items match no topic: plain conditional puts cost half a transaction.
                self._mark_seen_plain(seen, aliases)
            elif len(writes) <= MAX_TRANSACT_WRITES:
                self.kv.transact(writes)
            else:
                for w in extra:
                    self.kv.put(w.pk, w.sk, w.data, ttl=w.ttl)
                self.kv.transact([seen, *aliases, *story_writes])
        except Conflict:
            return None
        return [w.sk for w in outbox]

    def _mark_seen_plain(self, seen: Write, aliases: Sequence[Write]) -> None:
        """The seen-mark of an item without alerts and its one alias, as two conditional puts.

        The alias first: when it is taken (a copy of another source's item) nothing is
        written, as with a transaction. A crash between the two leaves the alias marked
        and the item not: its next poll finds the alias seen and records the item as a
        copy, which is what it is; an item with alerts never takes this path.
        """
        for w in (*aliases, seen):
            self.kv.put(w.pk, w.sk, w.data, expect_version=None, ttl=w.ttl)

    # whole-list sources (sanctions lists, pages) ----------------------------

    def list_snapshot(self, source_id: str) -> frozenset[str] | None:
        """The entry ids a whole-list source listed at its last poll; None before its first."""
        data = self.kv.get("LIST", source_id)
        return None if data is None else frozenset(filter(None, str(data.get("ids", "")).split("\n")))

    def put_list_snapshot(self, source_id: str, ids: Iterable[str]) -> None:
        # One newline-joined string: the compact form keeps OFAC's SDN list (~18k ids)
        # well inside one DynamoDB item (400 KB).
        self.kv.put("LIST", source_id, {"ids": "\n".join(sorted(ids))})

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

    def source_states(self, *, consistent: bool = True) -> list[SourceState]:
        return [from_record(SourceState, d) for _, d in self.kv.query("SOURCE", consistent=consistent)]

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

    def stories_since(self, since: datetime, *, consistent: bool = True) -> list[Story]:
        return [from_record(Story, d) for _, d in self.kv.query("STORY", start=_iso(since), consistent=consistent)]

    def get_story(self, story_id: str) -> Story | None:
        ptr = self.kv.get(f"STORYID#{story_id}", "-")
        if not ptr:
            return None
        data = self.kv.get("STORY", ptr["sk"])
        return from_record(Story, data) if data else None

    def put_story(self, story: Story) -> None:
        self.kv.transact(self._story_writes(story))

    @staticmethod
    def _story_writes(story: Story) -> list[Write]:
        sk = f"{_iso(story.first_seen)}#{story.id}"
        expires = story.last_seen + STORY_TTL
        return [Write("STORY", sk, to_record(story), ttl=expires),
                Write(f"STORYID#{story.id}", "-", {"sk": sk}, ttl=expires)]

    # subscriptions and channel settings ---------------------------------------

    def subscriptions(self, channel: str | None = None) -> list[Subscription]:
        prefix = f"{channel}#" if channel else ""
        return [from_record(Subscription, d) for _, d in self.kv.query("SUB", prefix=prefix)]

    def put_subscription(self, sub: Subscription) -> None:
        """Write a subscription as given, unconditionally (setup and tests; users go through
        `subscribe` and `update_subscription`)."""
        self.kv.put("SUB", f"{sub.channel}#{sub.topic}", to_record(sub))

    def subscribe(self, channel: str, topic: str, now: datetime) -> bool:
        """Make (channel, topic) an active subscription created at `now`; False if it already was."""

        def activate(data: Record | None) -> Record | None:
            if data is not None and data.get("active"):
                return None
            return to_record(Subscription(channel, topic, True, now))

        return self._rewrite("SUB", f"{channel}#{topic}", activate)[1]

    def update_subscription(
        self, channel: str, topic: str, change: Callable[[Subscription], Subscription | None]
    ) -> Subscription | None:
        """Change a subscription that exists, atomically; None when it is gone or `change` declines.

        A subscription removed meanwhile stays removed: the write is conditional on the
        version that was read, so it fails (and is not retried into a new record) when
        an unsubscribe got there first. `change` may run more than once.
        """

        def on_record(data: Record | None) -> Record | None:
            if data is None:
                return None
            new = change(from_record(Subscription, data))
            return None if new is None else to_record(new)

        record, written = self._rewrite("SUB", f"{channel}#{topic}", on_record)
        return from_record(Subscription, record) if written and record is not None else None

    def set_subscriptions_active(self, channel: str, active: bool) -> list[str]:
        """(De)activate every subscription the channel still has; the topics changed."""

        def to_state(sub: Subscription) -> Subscription | None:
            return None if sub.active == active else replace(sub, active=active)

        changed = []
        for sub in self.subscriptions(channel):
            if sub.active != active and self.update_subscription(channel, sub.topic, to_state):
                changed.append(sub.topic)
        return changed

    def delete_subscription(self, channel: str, topic: str) -> bool:
        return self.kv.delete("SUB", f"{channel}#{topic}")

    def get_channel(self, channel: str) -> ChannelSettings:
        data = self.kv.get("CHANNEL", channel)
        return from_record(ChannelSettings, data) if data else ChannelSettings(channel=channel)

    def put_channel(self, settings: ChannelSettings) -> None:
        """Replace a channel's settings unconditionally (setup and tests): a change a user
        asked for goes through `update_channel`, so concurrent changes cannot undo it."""
        self.kv.put("CHANNEL", settings.channel, to_record(settings))

    def update_channel(
        self, channel: str, change: Callable[[ChannelSettings], ChannelSettings | None]
    ) -> ChannelSettings | None:
        """Apply `change` to the channel's latest settings atomically; the settings stored,
        or None when `change` returned None (nothing to do).

        A versioned read-modify-write: when another writer changed the settings between
        the read and the write, it re-reads and applies `change` again (so `change` must
        be free of side effects). Raises Contention when it keeps losing: the caller must
        not report the change as saved.
        """

        def on_record(data: Record | None) -> Record | None:
            current = from_record(ChannelSettings, data) if data else ChannelSettings(channel=channel)
            new = change(current)
            return None if new is None else to_record(replace(new, channel=channel))

        record, written = self._rewrite("CHANNEL", channel, on_record)
        return from_record(ChannelSettings, record) if written and record is not None else None

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
        return _delivery(data) if data else None

    def claim_delivery(
        self, story_id: str, channel: str, lease: timedelta = timedelta(minutes=5),
        now: datetime | None = None, *, outlet: str = "", holder: str = "",
    ) -> bool:
        """Take the right to post the top-level message for (story, channel).

        True for exactly one caller; a pending claim older than `lease` (a worker that
        died before Slack answered) may be taken over.
        """
        now = now or now_utc()
        current = self.get_delivery(story_id, channel)
        if current is not None:
            stale = current.status == "pending" and (current.claimed_at or now) + lease <= now
            if not stale:
                return False
        return self.take_over_claim(story_id, channel, current, now, outlet=outlet, holder=holder)

    def take_over_claim(self, story_id: str, channel: str, current: Delivery | None, now: datetime,
                        *, outlet: str = "", holder: str = "", message: Record | None = None,
                        shown: tuple[int, bool] = (0, False)) -> bool:
        """Claim (story, channel) if it is still exactly as `current` was read (None: absent).

        `message` is the top-level message about to be posted and `shown` the
        confirmations it displays: kept with the claim so that whoever later edits the
        posted message (as outlets join) has it, even if this worker dies meanwhile.
        """
        record = to_record(Delivery(story_id, channel, "pending", claimed_at=now,
                                    outlets=(outlet,) if outlet else (), claimed_by=holder,
                                    message=dict(message or {}), shown_confirmations=shown[0],
                                    shown_official=shown[1]))
        expect = None if current is None else current.version
        try:
            self.kv.put(f"DELIVERY#{story_id}", channel, _bare(record), expect_version=expect,
                        ttl=now + STORY_TTL)
        except Conflict:
            return False
        return True

    def complete_delivery(self, story_id: str, channel: str, ts: str, outlet: str) -> None:
        """Slack has the top-level message `ts`: the claim becomes final (its message kept)."""
        now = now_utc()
        claimed = self.get_delivery(story_id, channel)
        record = to_record(Delivery(
            story_id, channel, "sent", ts=ts, claimed_at=now, outlets=(outlet,),
            message=claimed.message if claimed else {},
            shown_confirmations=claimed.shown_confirmations if claimed else 0,
            shown_official=claimed.shown_official if claimed else False,
        ))
        self.kv.put(f"DELIVERY#{story_id}", channel, _bare(record), ttl=now + STORY_TTL)

    def remember_message(self, story_id: str, channel: str, ts: str, message: Record) -> None:
        """The top-level message `ts` as it now stands (after a click added its status line)."""

        def keep(data: Record) -> Record | None:
            if data.get("ts") != ts or data.get("status") != "sent":
                return None  # another message (a thread reply), or not ours to describe
            return {"message": {**(data.get("message") or {}), **message}}

        self._update_delivery(story_id, channel, keep)

    def record_shown(self, story_id: str, channel: str, confirmations: int, official: bool) -> Delivery | None:
        """The top-level message now shows these confirmations (never lowered: edits may
        race); the delivery as stored afterwards."""

        def raise_shown(data: Record) -> Record | None:
            shown = int(data.get("shown_confirmations") or 0)
            was_official = bool(data.get("shown_official"))
            if not provenance.says_more((confirmations, official), (shown, was_official)):
                return None
            return {"shown_confirmations": max(shown, confirmations), "shown_official": was_official or official}

        return self._update_delivery(story_id, channel, raise_shown) or self.get_delivery(story_id, channel)

    def release_delivery(self, story_id: str, channel: str) -> None:
        """Give a claim back after Slack refused the post, so a retry may claim it."""
        data = self.kv.get(f"DELIVERY#{story_id}", channel)
        if data and data.get("status") == "pending":
            self.kv.delete(f"DELIVERY#{story_id}", channel)

    def claim_outlet(self, story_id: str, channel: str, outlet: str, stamp: str = "",
                     *, takeover: bool = False) -> Delivery | None:
        """Reserve the one thread reply an outlet gets; None if already claimed or not sent.

        The reservation stays marked unconfirmed (`reply_claims`) until `confirm_outlet`,
        so a reply whose post was cut off is reconciled, not forgotten. `takeover`
        renews an unconfirmed reservation that is being retried.
        """
        stamp = stamp or _encode(now_utc())

        def add(data: Record) -> Record | None:
            outlets = data.get("outlets", [])
            claims = dict(data.get("reply_claims") or {})
            if data.get("status") != "sent":
                return None
            if outlet in outlets and not (takeover and outlet in claims):
                return None
            claims[outlet] = stamp
            return {"outlets": outlets if outlet in outlets else [*outlets, outlet], "reply_claims": claims}

        return self._update_delivery(story_id, channel, add)

    def confirm_outlet(self, story_id: str, channel: str, outlet: str) -> None:
        """Slack has the outlet's reply: its reservation is final."""

        def confirm(data: Record) -> Record | None:
            claims = dict(data.get("reply_claims") or {})
            if claims.pop(outlet, None) is None:
                return None
            return {"reply_claims": claims}

        self._update_delivery(story_id, channel, confirm)

    def release_outlet(self, story_id: str, channel: str, outlet: str) -> None:
        """Give an outlet's reservation back after Slack did not take its reply."""

        def remove(data: Record) -> Record | None:
            outlets = data.get("outlets", [])
            if outlet not in outlets:
                return None
            claims = {k: v for k, v in (data.get("reply_claims") or {}).items() if k != outlet}
            return {"outlets": [o for o in outlets if o != outlet], "reply_claims": claims}

        self._update_delivery(story_id, channel, remove)

    def _rewrite(
        self, pk: str, sk: str, change: Callable[[Record | None], Record | None]
    ) -> tuple[Record | None, bool]:
        """Versioned read-modify-write of one record: (the record now stored, whether written).

        `change` gets the current record without its bookkeeping (None: absent) and returns
        the new one, or None to leave it. The write expects exactly the version read (or
        absence), so a lost race is retried on fresh data, never written over it.
        """
        for attempt in range(UPDATE_ATTEMPTS):
            data = self.kv.get(pk, sk)
            new = change(_bare(data) if data is not None else None)
            if new is None:
                return data, False
            try:
                self.kv.put(pk, sk, new, expect_version=data["_v"] if data is not None else None)
            except Conflict:
                # Full jitter: the racing writers spread out instead of colliding again.
                self.sleep(random.uniform(0, min(UPDATE_BACKOFF_MAX, 0.002 * 2**attempt)))
                continue
            return new, True
        raise Contention(f"{pk} {sk}: changed by others on each of {UPDATE_ATTEMPTS} attempts; not saved")

    def _update_delivery(
        self, story_id: str, channel: str, change: Callable[[Record], Record | None]
    ) -> Delivery | None:
        """Versioned read-modify-write of a delivery; None when `change` declines."""
        pk = f"DELIVERY#{story_id}"
        for _ in range(8):
            data = self.kv.get(pk, channel)
            update = change(data) if data else None
            if data is None or update is None:
                return None
            body = {**_bare(data), **update}
            try:
                version = self.kv.put(pk, channel, body, expect_version=data["_v"], ttl=now_utc() + STORY_TTL)
            except Conflict:
                continue  # another worker changed the delivery meanwhile: re-read and retry
            return _delivery({**body, "_v": version})
        return None

    # the outbox ---------------------------------------------------------------

    @staticmethod
    def _outbox_write(alert: Alert, now: datetime) -> Write:
        outlet = alert.item.source_id if alert.kind == "update" else ""
        sk = f"{_iso(now)}#{alert.story.id}#{alert.channel}#{alert.kind}#{outlet}"
        record = {"alert": alert_to_dict(alert), "attempts": 0, "next_at": _encode(now)}
        # Expiry from the wall clock: `now` may be a cycle's (or a test's) own clock.
        return Write("OUTBOX", sk, record, ttl=max(now, now_utc()) + OUTBOX_TTL)

    def add_to_outbox(self, alerts: Sequence[Alert], now: datetime | None = None) -> list[str]:
        now = now or now_utc()
        writes = [self._outbox_write(a, now) for a in alerts]
        for w in writes:
            self.kv.put(w.pk, w.sk, w.data, ttl=w.ttl)
        return [w.sk for w in writes]

    def outbox(self, limit: int | None = None) -> list[OutboxEntry]:
        """Every alert not yet delivered, oldest first."""
        return [_outbox_entry(sk, d) for sk, d in self.kv.query("OUTBOX", limit=limit)]

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        data = self.kv.get("OUTBOX", key)
        return _outbox_entry(key, data) if data else None

    def outbox_done(self, key: str) -> None:
        """Delivery reached a final outcome (sent, replied, duplicate, disabled, refused)."""
        self.kv.delete("OUTBOX", key)

    def outbox_defer(self, entry: OutboxEntry, error: str, next_at: datetime) -> None:
        """Delivery must be tried again later; keeps the entry with its attempt count."""
        self._outbox_update(entry, attempts=entry.attempts + 1, last_error=error[:300],
                            next_at=_encode(next_at))

    def outbox_enqueued(self, entry: OutboxEntry, now: datetime) -> None:
        """The entry was handed to the queue at `now` (the sweeper re-sends stale ones)."""
        self._outbox_update(entry, enqueued_at=_encode(now), next_at=_encode(now))

    def _outbox_update(self, entry: OutboxEntry, **changes: Any) -> None:
        data = self.kv.get("OUTBOX", entry.key)
        if data is None:
            return  # delivered meanwhile
        body = {**_bare(data), **changes}
        try:
            self.kv.put("OUTBOX", entry.key, body, expect_version=data["_v"],
                        ttl=max(_dt(body.get("next_at")) or now_utc(), now_utc()) + OUTBOX_TTL)
        except Conflict:
            return  # another worker updated or finished it: its word is newer

    # feedback, digests, cycles ----------------------------------------------

    def add_feedback(self, channel: str, user: str, verdict: str, story_id: str,
                     topic: str, item_key: str = "", title: str = "") -> None:
        now = now_utc()
        # One verdict per user, item and topic: a second click or a resent request
        # overwrites it (the latest verdict counts) instead of counting again.
        self.kv.put("FEEDBACK", f"{channel}#{item_key or story_id}#{topic}#{user}", {
            "channel": channel, "user": user, "verdict": verdict, "story_id": story_id,
            "topic": topic, "item_key": item_key, "title": title, "at": _encode(now),
        })

    def feedback(self, channel: str | None = None) -> list[Record]:
        rows = [d for _, d in self.kv.query("FEEDBACK")]
        return [r for r in rows if channel is None or r["channel"] == channel]

    def queue_digest(self, channel: str, story: Story, topic: str, now: datetime | None = None) -> None:
        w = self._digest_write(channel, story, topic, now or now_utc())
        self.kv.put(w.pk, w.sk, w.data, ttl=w.ttl)

    @staticmethod
    def _digest_write(channel: str, story: Story, topic: str, now: datetime) -> Write:
        return Write(f"DIGEST#{channel}", f"{_iso(now)}#{story.id}", wrap("digest_entry", {
            "story_id": story.id, "title": story.title, "url": story.url, "topic": topic,
            "severity": int(story.severity), "sources": list(story.sources), "at": _encode(now),
            "confirmations": story.confirmations, "official": story.official,
        }), ttl=max(now, now_utc()) + DIGEST_TTL)

    def pending_digest(self, channel: str) -> list[Record]:
        """Digest entries waiting for a channel, oldest first (not removed)."""
        return [d for _, d in self.digest_rows(channel)]

    def digest_sent_at(self, channel: str) -> datetime | None:
        data = self.kv.get("DIGESTSENT", channel)
        return _dt(data.get("at")) if data else None

    def record_digest_sent(self, channel: str, now: datetime) -> None:
        self.kv.put("DIGESTSENT", channel, {"at": _encode(now)})

    def digest_rows(self, channel: str) -> list[tuple[str, Record]]:
        return self.kv.query(f"DIGEST#{channel}")

    def remove_digest_rows(self, channel: str, keys: Sequence[str]) -> None:
        for sk in keys:
            self.kv.delete(f"DIGEST#{channel}", sk)

    def take_digest(self, channel: str) -> list[Record]:
        """Pending digest entries for a channel, removed from the queue."""
        rows = self.digest_rows(channel)
        self.remove_digest_rows(channel, [sk for sk, _ in rows])
        return [d for _, d in rows]

    def record_setting(self, name: str, value: str) -> None:
        """Record `value` under `name` unless it is already so (no write per cron run)."""
        if self.setting(name) != value:
            self.kv.put("CONFIG", name, {"value": value, "at": _encode(now_utc())})

    def setting(self, name: str) -> str | None:
        data = self.kv.get("CONFIG", name)
        return str(data.get("value", "")) if data else None

    def record_cycle(self, summary: Record) -> None:
        now = now_utc()
        self.kv.put("CYCLE", _iso(now), {**summary, "at": _encode(now)}, ttl=now + CYCLE_TTL)

    def cycles(self, limit: int = 1) -> list[Record]:
        return [d for _, d in self.kv.query("CYCLE", limit=limit, reverse=True)]


def _bare(data: Record) -> Record:
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _delivery(data: Record) -> Delivery:
    delivery: Delivery = from_record(Delivery, _bare(data))
    delivery.version = int(data.get("_v", 0))
    return delivery


def _outbox_entry(key: str, data: Record) -> OutboxEntry:
    return OutboxEntry(
        key=key, alert=data.get("alert") or {}, attempts=int(data.get("attempts", 0)),
        next_at=_dt(data.get("next_at")), enqueued_at=_dt(data.get("enqueued_at")),
        last_error=str(data.get("last_error", "")), version=int(data.get("_v", 0)),
    )
