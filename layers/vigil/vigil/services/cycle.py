"""One poll cycle: fetch -> parse -> seen? -> classify -> cluster -> route -> hand to a sink.

Pure orchestration: every I/O goes through the adapters passed in (a feed reader, the
store, an alert sink), so the same code runs in Lambda, in the CLI and in tests.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from vigil.adapters.config.sources import ConfigError
from vigil.domain import health
from vigil.domain.classify import Classifier
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
from vigil.domain.stories import StoryClusterer
from vigil.services.store import Store, now_utc

log = logging.getLogger("vigil.services.cycle")


@dataclass(slots=True)
class FeedOutcome:
    """What reading one source produced: items, or not-modified, or an error."""

    items: list[Item] | None  # None: not modified (304) or failed
    status: int = 0
    error: str = ""
    # A best-effort parse of a malformed feed: items came through, but say what was wrong.
    warning: str = ""
    etag: str = ""
    modified: str = ""
    retry_after: float | None = None
    elapsed: float = 0.0


class FeedReader(Protocol):
    def read(
        self, sources: Sequence[Source], states: dict[str, SourceState]
    ) -> Iterator[tuple[Source, FeedOutcome]]: ...


class AlertSink(Protocol):
    def send(self, alerts: list[Alert]) -> None:
        """Accept alerts for delivery; raise if they could not be accepted at all."""


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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CycleOptions:
        """Options from VIGIL_* variables (hours); a bad value is a ConfigError naming it."""
        default = cls()
        return cls(
            story_window=_hours(env, "VIGIL_STORY_WINDOW_HOURS", default.story_window),
            backlog_grace=_hours(env, "VIGIL_BACKLOG_HOURS", default.backlog_grace),
            failing_after=_hours(env, "VIGIL_FAILING_AFTER_HOURS", default.failing_after),
        )


def _hours(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 24 * 365:
        raise ConfigError(f"environment: {name} must be a number of hours (0..8760), got {raw!r}")
    return timedelta(hours=hours)


@dataclass(slots=True)
class CycleReport:
    sources_ok: int = 0
    sources_failed: int = 0
    sources_skipped: int = 0
    items_fetched: int = 0
    items_new: int = 0
    items_matched: int = 0
    alerts: int = 0
    follow_ups: int = 0  # of the alerts, later reports of a known story (thread replies)
    digest_queued: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    long_failing: list[str] = field(default_factory=list)
    # (channel, topic name, items): topics skipped on items for running out of work.
    over_budget: list[tuple[str, str, int]] = field(default_factory=list)

    def summary_line(self) -> str:
        line = (
            f"sources: {self.sources_ok} ok, {self.sources_failed} failed"
            + (f", {self.sources_skipped} not due" if self.sources_skipped else "")
            + f" | items: {self.items_new} new of {self.items_fetched}, {self.items_matched} on topic"
            + f" | alerts: {self.alerts}"
        )
        if self.follow_ups:
            line += f" ({self.alerts - self.follow_ups} new stories, {self.follow_ups} follow-ups in threads)"
        if self.digest_queued:
            line += f", {self.digest_queued} queued for digests"
        return line

    def as_record(self) -> dict[str, object]:
        return {
            "sources_ok": self.sources_ok, "sources_failed": self.sources_failed,
            "sources_skipped": self.sources_skipped, "items_fetched": self.items_fetched,
            "items_new": self.items_new, "items_matched": self.items_matched,
            "alerts": self.alerts, "follow_ups": self.follow_ups, "digest_queued": self.digest_queued,
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
) -> CycleReport:
    """Poll the due sources once and hand every alert to the sink."""
    options = options or CycleOptions()
    now = now or now_utc()
    report = CycleReport()
    states = store.source_states_of(s.id for s in sources)
    due = [s for s in sources if options.force or health.is_due(s, states.get(s.id), now)]
    report.sources_skipped = len(sources) - len(due)

    all_topics = [*topics, *(scoped(t) for t in store.custom_topics())]
    classifier = Classifier(all_topics)
    clusterer = StoryClusterer(store.stories_since(now - options.story_window), options.story_window)
    router = Router(store, all_topics, options.extra_channels)

    for source, outcome in reader.read(due, states):
        state = states.get(source.id) or SourceState(source_id=source.id)
        first_poll = state.first_polled is None
        state = health.record_outcome(state, outcome, now)
        if outcome.error:
            report.sources_failed += 1
            report.failures.append((source.id, outcome.error))
            log.warning("source failed: %s: %s", source.id, outcome.error)
        else:
            report.sources_ok += 1
        if outcome.warning:
            report.warnings.append((source.id, outcome.warning))
        if outcome.items:
            alerts = _process_items(
                source, outcome.items, first_poll, store, classifier, clusterer, router, report, options, now
            )
            _hand_over(sink, store, alerts, report)
        store.put_source_state(state)
        if health.is_failing_long(state, now, options.failing_after):
            report.long_failing.append(source.id)
    report.digest_queued = router.digest_queued
    for topic, items in classifier.skipped():
        log.warning("topic over its work budget, skipped: %s on %d items", topic.id, items)
        report.over_budget.append((topic.channel or "", topic.name, items))
    store.record_cycle(report.as_record())
    return report


def _process_items(
    source: Source, items: list[Item], first_poll: bool, store: Store, classifier: Classifier,
    clusterer: StoryClusterer, router: Router, report: CycleReport, options: CycleOptions, now: datetime,
) -> list[Alert]:
    report.items_fetched += len(items)
    fresh = store.unseen(i.key for i in items)
    alerts: list[Alert] = []
    synced = False
    for item in items:
        if item.key not in fresh:
            continue
        fresh.discard(item.key)  # a feed may repeat an entry
        # The conditional write decides which of two concurrent pollers owns the item.
        if not store.mark_seen(item.key, source.id, now):
            continue
        report.items_new += 1
        if first_poll and not health.should_alert_on_first_poll(item, now, options.backlog_grace):
            continue
        matches = classifier.classify(item.title, item.summary, item.lang)
        if not matches:
            continue
        report.items_matched += 1
        if not synced:
            _sync_stories(store, clusterer, now)
            synced = True
        severity = max_severity(matches)
        story, is_new = clusterer.assign(item, tuple(m.topic for m in matches), severity, now)
        store.put_story(story)
        alerts += router.route(item, story, is_new, matches)
    return alerts


# How far back to look for stories that other workers of this cycle stored: fan-out
# batches of one cycle start within seconds of each other.
CONCURRENT_STORIES = timedelta(minutes=15)


def _sync_stories(store: Store, clusterer: StoryClusterer, now: datetime) -> None:
    """Index stories other pollers stored since this cycle loaded the window, so two
    batches reporting one event in the same cycle share one story, not two."""
    for story in store.stories_since(now - CONCURRENT_STORIES):
        clusterer.add_stored(story)


def _hand_over(sink: AlertSink, store: Store, alerts: list[Alert], report: CycleReport) -> None:
    if not alerts:
        return
    try:
        sink.send(alerts)
    except Exception:
        # The sink refused the batch (queue unreachable): forget the items so the
        # next cycle sees them as new again instead of losing the alerts.
        for key in {a.item.key for a in alerts}:
            store.forget_seen(key)
        raise
    report.alerts += len(alerts)
    report.follow_ups += sum(1 for a in alerts if a.kind == "update")


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

    def route(self, item: Item, story: Story, is_new: bool, matches: Sequence[TopicMatch]) -> list[Alert]:
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
        for channel, channel_matches in per_channel.items():
            settings = self._channel(channel)
            if settings.paused or settings.disabled_reason or item.source_id in settings.muted_sources:
                continue
            if max_severity(channel_matches) < settings.threshold:
                continue
            if settings.digest != "off":
                if is_new:
                    self.store.queue_digest(channel, story, channel_matches[0].topic)
                    self.digest_queued += 1
                continue
            kind = "new" if is_new else "update"
            alerts.append(Alert(channel, story, item, tuple(channel_matches), kind))
        return alerts

    def _channel(self, channel: str) -> ChannelSettings:
        if channel not in self._settings:
            self._settings[channel] = self.store.get_channel(channel)
        return self._settings[channel]


def max_severity(matches: Sequence[TopicMatch]) -> Severity:
    return max((m.severity for m in matches), default=Severity.ROUTINE)
