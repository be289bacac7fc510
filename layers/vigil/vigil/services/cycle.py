"""One poll cycle: fetch -> parse -> seen? -> classify -> cluster -> route -> hand to a sink.

Pure orchestration: every I/O goes through the adapters passed in (a feed reader, the
store, an alert sink), so the same code runs in Lambda, in the CLI and in tests.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.domain import health, provenance
from vigil.domain.classify import Classifier
from vigil.domain.clock import now_utc
from vigil.domain.models import (
    Alert,
    ChannelSettings,
    Item,
    Severity,
    Source,
    SourceState,
    Story,
    Subscription,
    Topic,
    TopicMatch,
)
from vigil.domain.normalize import guid_key, url_key
from vigil.domain.stories import StoryClusterer
from vigil.ports import AlertSink, FeedReader
from vigil.services.store import Store

log = logging.getLogger("vigil.services.cycle")


@dataclass(slots=True)
class CycleOptions:
    story_window: timedelta = timedelta(hours=48)
    # The first poll of a new source alerts only on items this recent.
    backlog_grace: timedelta = timedelta(hours=6)
    # Channels that get every default topic without a stored subscription (`--channel`).
    extra_channels: tuple[str, ...] = ()
    failing_after: timedelta = timedelta(hours=6)
    # Poll every source now, ignoring intervals and Retry-After deferrals.
    force: bool = False
    # A poll that changes nothing but the poll times and validators (a 304, or a 200 of
    # the items already stored) is not stored while the stored state is younger than this
    # (0: store every poll). Each store is a DynamoDB write unit, and most sources answer
    # unchanged each cycle; the price is that a source whose interval
    # is shorter than this may be polled at every scheduled cycle meanwhile (a cheap
    # conditional GET), and `status` shows a last success up to this old.
    state_heartbeat: timedelta = timedelta(0)
    # Asked between sources: True when time is up (Lambda deadline, SIGTERM). The
    # sources not reached keep their state and are due again next cycle.
    should_stop: Callable[[], bool] = field(default=lambda: False, compare=False, repr=False)


@dataclass(slots=True)
class CycleReport:
    sources_ok: int = 0
    sources_failed: int = 0
    sources_skipped: int = 0
    sources_deferred: int = 0  # due, but not reached before the cycle had to stop
    sources_not_modified: int = 0  # of the ok ones, answered 304 Not Modified
    items_fetched: int = 0
    items_new: int = 0
    duplicates: int = 0  # items another source already delivered (same canonical URL)
    items_matched: int = 0
    alerts: int = 0  # recorded in the outbox
    follow_ups: int = 0  # of the alerts, later reports of a known story (thread replies)
    digest_queued: int = 0
    outbox_keys: list[str] = field(default_factory=list)
    digests: dict[str, int] = field(default_factory=dict)  # digests sent, by outcome (local runs)
    # Filled by whoever delivers (local runs): what reached Slack, what waits, what failed.
    delivery: Any = None
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    long_failing: list[str] = field(default_factory=list)
    # (channel, topic name, items): topics skipped on items for running out of work.
    over_budget: list[tuple[str, str, int]] = field(default_factory=list)

    def summary_line(self) -> str:
        line = (
            f"sources: {self.sources_ok} ok, {self.sources_failed} failed"
            + (f", {self.sources_skipped} not due" if self.sources_skipped else "")
            + (f", {self.sources_deferred} left for the next run" if self.sources_deferred else "")
            + f" | items: {self._item_counts()}"
            + f" | alerts: {self._alert_counts()}"
        )
        if self.digest_queued:
            line += f", {self.digest_queued} queued for digests"
        if self.digests.get("sent"):
            line += f" | digests: {self.digests['sent']} sent"
        return line

    def _item_counts(self) -> str:
        if not self.items_fetched and self.sources_not_modified:
            # "0 new of 0" reads as broken when the feeds said nothing changed.
            return f"none new ({self.sources_not_modified} not modified)"
        return f"{self.items_new} new of {self.items_fetched}, {self.items_matched} on topic"

    def _alert_counts(self) -> str:
        if self.delivery is None:
            text = str(self.alerts)
            if self.follow_ups:
                text += f" ({self.alerts - self.follow_ups} new stories, {self.follow_ups} follow-ups in threads)"
            return text
        d = self.delivery
        text = f"{d.delivered} delivered, {d.pending} pending, {d.failed} failed"
        if d.in_flight:
            text += f", {d.in_flight} being posted by another run"
        if d.follow_ups:
            text += f" ({d.delivered - d.follow_ups} new stories, {d.follow_ups} follow-ups in threads)"
        return text

    def as_record(self) -> dict[str, object]:
        return {
            "sources_ok": self.sources_ok, "sources_failed": self.sources_failed,
            "sources_skipped": self.sources_skipped, "items_fetched": self.items_fetched,
            "items_new": self.items_new, "duplicates": self.duplicates, "items_matched": self.items_matched,
            "alerts": self.alerts, "follow_ups": self.follow_ups, "digest_queued": self.digest_queued,
            "sources_deferred": self.sources_deferred,
            "failures": [list(f) for f in self.failures],
            "warnings": [list(w) for w in self.warnings], "long_failing": self.long_failing,
            "over_budget": [list(o) for o in self.over_budget],
        }


def run_cycle(
    sources: Sequence[Source],
    topics: Sequence[Topic],
    store: Store,
    reader: FeedReader,
    sink: AlertSink,
    options: CycleOptions | None = None,
    now: datetime | None = None,
    stories: StoryCache | None = None,
) -> CycleReport:
    """Poll the due sources once and hand every alert to the sink.

    `stories` keeps the story window between the fan-out batches one warm container
    runs in a cycle (read once per container instead of once per batch); None reads it
    for this cycle alone.
    """
    options = options or CycleOptions()
    now = now or now_utc()
    report = CycleReport()
    states = store.source_states_of(s.id for s in sources)
    due = [s for s in sources if options.force or health.is_due(s, states.get(s.id), now)]
    report.sources_skipped = len(sources) - len(due)

    all_topics = [*topics, *(scoped(t) for t in store.custom_topics())]
    classifier = Classifier(all_topics)
    clusterer = StoryWindow(store, now, options.story_window, stories)
    router = Router(store, all_topics, options.extra_channels)

    reached = 0
    for source, outcome in reader.read(due, states):
        if options.should_stop():
            break
        reached += 1
        state = states.get(source.id) or SourceState(source_id=source.id)
        first_poll = state.first_polled is None
        previous = state
        state = health.record_outcome(state, outcome, now)
        if outcome.error:
            report.sources_failed += 1
            report.failures.append((source.id, outcome.error))
            log.warning("source failed: %s: %s", source.id, outcome.error)
        else:
            report.sources_ok += 1
            report.sources_not_modified += outcome.status == 304
        if outcome.warning:
            report.warnings.append((source.id, outcome.warning))
        items = outcome.items or []
        if outcome.whole_list and outcome.items is not None:
            items = _new_in_list(store, source, items, now)
            # The whole list was fetched; _process_items counts the items it is given.
            report.items_fetched += len(outcome.items) - len(items)
        if items:
            keys = _process_items(
                source, items, first_poll, store, classifier, clusterer, router, report, options, now,
                known=health.recently_seen(previous, (i.key for i in items)),
            )
            _hand_over(sink, keys, report)
        if outcome.whole_list and outcome.items is not None:
            # After the items are committed: a crash before this line means the same
            # entries are new again next cycle, and the seen-store drops them then.
            from vigil.domain import designations  # whole lists only: a few sources

            store.put_list_snapshot(source.id, (designations.entry_id_of(i.key) for i in outcome.items))
        # Last: until this write the source's items are fetched again (same ETag) next cycle.
        if _worth_storing(previous, state, now, options.state_heartbeat):
            store.put_source_state(state)
        if health.is_failing_long(state, now, options.failing_after):
            report.long_failing.append(source.id)
    report.sources_deferred = len(due) - reached
    report.digest_queued = router.digest_queued
    for topic, items in classifier.skipped():
        log.warning("topic over its work budget, skipped: %s on %d items", topic.id, items)
        report.over_budget.append((topic.channel or "", topic.name, items))
    store.record_cycle(report.as_record())
    return report


def _worth_storing(previous: SourceState, state: SourceState, now: datetime, heartbeat: timedelta) -> bool:
    """False for a successful poll whose state differs from the stored one only in its poll
    times and validators, while the stored one is younger than `heartbeat`: a 304, or a
    200 with the very items already stored (`recent`), as from a server that ignores
    validators. Not storing a changed ETag means the next poll may get a 200 (not a 304)
    of the same feed, at most until the heartbeat stores it."""
    if heartbeat <= timedelta(0) or state.last_error or previous.last_attempt is None:
        return True
    if now - previous.last_attempt >= heartbeat:
        return True
    same_but_times = dataclasses.replace(state, last_attempt=previous.last_attempt, last_success=previous.last_success,
                                         etag=previous.etag, modified=previous.modified)
    return same_but_times != previous


def _process_items(
    source: Source, items: list[Item], first_poll: bool, store: Store, classifier: Classifier,
    clusterer: StoryWindow, router: Router, report: CycleReport, options: CycleOptions, now: datetime,
    known: Collection[str] = (),
) -> list[str]:
    """Classify, cluster and route each new item; commit it with its alerts atomically.

    Returns the outbox keys of the alerts. An item is never marked seen without its
    alerts: a crash before the commit leaves it new for the next cycle. `known` are
    keys the source's previous parse produced: seen (their state is stored only after
    every item of that parse was committed), so they need no seen-check.
    """
    report.items_fetched += len(items)
    fresh = store.unseen(i.key for i in items if i.key not in known)
    copies = _copies_of_seen(store, [i for i in items if i.key in fresh])
    keys: list[str] = []
    synced = False
    for item in items:
        if item.key not in fresh:
            continue
        fresh.discard(item.key)  # a feed may repeat an entry
        if item.key in copies:
            _skip_copy(store, item, source, report, now)
            continue
        if not item.provenance:
            item.provenance = provenance.of_item(source.provenance, source.display_name, item.source_name)
        if not item.owner:
            item.owner = provenance.owner_of_item(source.owner, source.display_name, item.source_name,
                                                  item.provenance)
        aliases = _aliases(item)
        backlog = first_poll and not health.should_alert_on_first_poll(item, now, options.backlog_grace)
        matches = [] if backlog else classifier.classify(item.title, item.summary, item.lang)
        if not matches:
            # The conditional write decides which of two concurrent pollers owns the item.
            if store.commit_item(item.key, source.id, now, also_seen=aliases) is not None:
                report.items_new += 1
            elif aliases:
                _skip_copy(store, item, source, report, now)
            continue
        if not synced:
            clusterer.sync()
            synced = True
        severity = max_severity(matches)
        story, is_new = clusterer.get().assign(item, tuple(m.topic for m in matches), severity, now)
        alerts, digests = router.route(item, story, is_new, matches)
        committed = store.commit_item(item.key, source.id, now, story=story, alerts=alerts, digests=digests,
                                      also_seen=aliases)
        if committed is None:
            # Another poller owns this item (and its alerts), or another source
            # delivered the same article between the lookup and this write.
            if aliases:
                _skip_copy(store, item, source, report, now)
            continue
        clusterer.remember(story)
        report.items_new += 1
        report.items_matched += 1
        report.alerts += len(alerts)
        report.follow_ups += sum(1 for a in alerts if a.kind == "update")
        router.digest_queued += len(digests)
        keys += committed
    return keys


def _new_in_list(store: Store, source: Source, items: list[Item], now: datetime) -> list[Item]:
    """The entries of a whole list that its previous poll did not have, as one item per
    publication. The first poll only records the list: a baseline, never a flood."""
    from vigil.domain import designations  # whole lists only: most batches have none

    previous = store.list_snapshot(source.id)
    if previous is None:
        log.info("list baseline recorded: %s, %d entries", source.id, len(items))
        return []
    added = [i for i in items if designations.entry_id_of(i.key) not in previous]
    if not added:
        return []
    # Sanctions entries of one publication are one action; page entries are separate
    # reports (one daily bulletin each).
    if source.kind != "page_list":
        added = [designations.group(source, added)]
    # Lists carry no dates: an addition is published when it first appears (and so is
    # never mistaken for a new source's backlog; the baseline absorbed that).
    return [dataclasses.replace(i, published=i.published or now) for i in added]


def _aliases(item: Item) -> list[str]:
    """Seen keys the item shares with every source: its canonical URL, or for an entry
    without a link its global guid. The same basis as its own key (`item_key`), so
    entries a feed tells apart are never merged (some feeds give every entry one guid)."""
    if item.url:
        return [url_key(item.url)]
    return [guid_key(item.guid)] if item.guid else []


def _copies_of_seen(store: Store, items: Sequence[Item]) -> set[str]:
    """Keys of items whose article another source already delivered (one batch lookup)."""
    by_alias = {alias: i.key for i in items for alias in _aliases(i)}
    unseen = store.unseen(by_alias)
    return {key for alias, key in by_alias.items() if alias not in unseen}


def _skip_copy(store: Store, item: Item, source: Source, report: CycleReport, now: datetime) -> None:
    """The same article from another source: not a second outlet. Marked seen under this
    source's key too, so the next poll does not look it up again."""
    store.mark_seen(item.key, source.id, now)
    report.duplicates += 1


# How far back to look for stories that other workers of this cycle stored: fan-out
# batches of one cycle start within seconds of each other.
CONCURRENT_STORIES = timedelta(minutes=15)


class StoryCache:
    """The story window as last read, kept for the next fan-out batches of the same cycle.

    Reused while younger than `max_age`, about as long as one batch may run: a batch
    already clusters against a window that other batches change while it runs (up to
    its timeout), and a reused window is brought up to date the same way before use
    (stories started since it was read, `CONCURRENT_STORIES`) and with this
    container's own commits. So reuse adds no staleness a single batch does not
    already have; the next cycle (minutes later) reads the window afresh.
    """

    def __init__(self, max_age: timedelta = timedelta(minutes=2), clock: Callable[[], datetime] = now_utc) -> None:
        self.max_age = max_age
        self.clock = clock
        self.read_at: datetime | None = None
        self.stories: dict[str, Story] = {}

    def window(self, store: Store, since: datetime) -> list[Story]:
        """The stories first seen since `since`: read now, or the kept copy brought up to date."""
        wall = self.clock()
        if self.read_at is None or wall - self.read_at > self.max_age:
            self.stories = {s.id: s for s in store.stories_since(since, consistent=False)}
            self.read_at = wall
        else:
            for story in store.stories_since(max(since, self.read_at - CONCURRENT_STORIES), consistent=False):
                self.stories[story.id] = story
        return [s for s in self.stories.values() if s.first_seen >= since]

    def remember(self, story: Story) -> None:
        """A story this container just committed (newer than any copy it read)."""
        if self.read_at is not None:
            self.stories[story.id] = story


class StoryWindow:
    """The clustering window, read when the cycle's first on-topic item needs it.

    Most fan-out batches have no on-topic item and never read it. Both reads are
    eventually consistent (half price): a copy at most about a second stale is safe
    here, because a batch already clusters against a window that other batches of the
    same cycle change while it runs (for seconds to minutes); the worst a missed story
    does is start a second story that the next items join, exactly as when two batches
    race today. Nothing conditional depends on these reads.
    """

    def __init__(self, store: Store, now: datetime, window: timedelta, cache: StoryCache | None = None) -> None:
        self.store = store
        self.now = now
        self.window = window
        self.cache = cache
        self._clusterer: StoryClusterer | None = None
        self._fresh = False

    def get(self) -> StoryClusterer:
        if self._clusterer is None:
            since = self.now - self.window
            if self.cache is not None:
                stories = self.cache.window(self.store, since)
            else:
                stories = self.store.stories_since(since, consistent=False)
            self._clusterer = StoryClusterer(stories, self.window)
            self._fresh = True
        return self._clusterer

    def sync(self) -> None:
        """Index stories other pollers stored since the window was read, so two batches
        reporting one event in the same cycle share one story, not two."""
        if self._clusterer is None or self._fresh:
            self.get()  # just read (or brought up to date): nothing newer to catch up on
            self._fresh = False
            return
        for story in self.store.stories_since(self.now - CONCURRENT_STORIES, consistent=False):
            self._clusterer.add_stored(story)

    def remember(self, story: Story) -> None:
        if self.cache is not None:
            self.cache.remember(story)


def _hand_over(sink: AlertSink, keys: list[str], report: CycleReport) -> None:
    if not keys:
        return
    report.outbox_keys += keys
    try:
        sink.send(keys)
    except Exception as exc:  # the sink's transport errors vary (SQS, in-process)
        # The alerts are safe in the outbox: the sweeper queues them again later.
        log.error("alert hand-over failed, left in the outbox: alerts=%d error=%s", len(keys), exc)
        report.warnings.append(("outbox", f"{len(keys)} alerts wait in the outbox: {exc}"))


def scoped(topic: Topic) -> Topic:
    """A channel's custom topic under an id no other channel's topic can share.

    Channels name custom topics freely (two channels may both say "ukraine", with
    different queries); the classifier needs one id per query.
    """
    return dataclasses.replace(topic, id=scoped_id(topic.channel or "", topic.id))


def scoped_id(channel: str, name: str) -> str:
    return f"{channel}/{name}"


class Router:
    """Decides which channels hear about an item, honouring each channel's settings."""

    def __init__(self, store: Store, topics: Iterable[Topic], extra_channels: Sequence[str] = ()) -> None:
        self.store = store
        self.topics = {t.id: t for t in topics}
        self._subs: dict[str, list[Subscription]] = {}
        for sub in store.subscriptions():
            if not sub.active:
                continue
            # A subscription names a custom topic by its plain name, within its channel.
            key = sub.topic if self._is_shared(sub.topic) else scoped_id(sub.channel, sub.topic)
            self._subs.setdefault(key, []).append(sub)
        for channel in extra_channels:
            for topic in self.topics.values():
                if topic.channel is None:
                    self._subs.setdefault(topic.id, []).append(Subscription(channel, topic.id))
        self._settings: dict[str, ChannelSettings] = {}
        self.digest_queued = 0

    def _is_shared(self, topic_id: str) -> bool:
        topic = self.topics.get(topic_id)
        return topic is not None and topic.channel is None

    def route(
        self, item: Item, story: Story, is_new: bool, matches: Sequence[TopicMatch]
    ) -> tuple[list[Alert], list[tuple[str, str]]]:
        """The alerts an item calls for, and the (channel, topic) digest entries."""
        per_channel: dict[str, list[TopicMatch]] = {}
        for match in matches:
            # Subscriptions to a custom topic are keyed by its scoped id, so only the
            # channel that defined it is found here.
            topic = self.topics.get(match.topic)
            # Show a channel its own name for a custom topic, not the scoped id.
            shown = dataclasses.replace(match, topic=topic.name) if topic and topic.channel else match
            for sub in self._subs.get(match.topic, ()):
                per_channel.setdefault(sub.channel, []).append(shown)
        alerts: list[Alert] = []
        digests: list[tuple[str, str]] = []
        for channel, channel_matches in per_channel.items():
            settings = self._channel(channel)
            if settings.paused or settings.disabled_reason or item.source_id in settings.muted_sources:
                continue
            if max_severity(channel_matches) < settings.threshold:
                continue
            if settings.digest != "off":
                if is_new:
                    digests.append((channel, channel_matches[0].topic))
                continue
            kind = "new" if is_new else "update"
            alerts.append(Alert(channel, story, item, tuple(channel_matches), kind))
        return alerts, digests

    def _channel(self, channel: str) -> ChannelSettings:
        if channel not in self._settings:
            self._settings[channel] = self.store.get_channel(channel)
        return self._settings[channel]


def max_severity(matches: Sequence[TopicMatch]) -> Severity:
    return max((m.severity for m in matches), default=Severity.ROUTINE)
