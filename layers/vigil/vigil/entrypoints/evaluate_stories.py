"""Story clustering measured on a labeled story set, through the pipeline `vigil run` uses.

A story set is JSON Lines of real reports (`id`, `title`, `summary`, `url`, `source`,
`published`, `lang`, `event`); reports with the same `event` are one real-world event.
Each outlet (`source`) becomes one feed; `run_cycle` polls them all once with the shipped
topics, the real classifier and `StoryClusterer`, on an in-memory store, and every alert
for one channel is read back from the outbox: a "new" alert starts a predicted story, an
"update" joins it (a thread reply). Scores follow the reference harness
(`../shared/tools/stories-eval.py`): pairwise precision/recall/F1 over the items that
alerted (all pairs and cross-language pairs), events split over several alerts, alerts
holding reports of different events.

Two calendars: "real" (reports at their real dates, gaps longer than a week shortened to
a week, an undated report at its event's date) and "day" (every event inside one day:
time gives no help). The order in which outlets answer decides which report starts a
story, so each calendar runs over the file order and a few seeded shuffles of it.
"""

from __future__ import annotations

import collections
import itertools
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vigil.domain.codec import alert_from_dict
from vigil.domain.models import Source, SourceState, Topic
from vigil.domain.normalize import entry_to_item
from vigil.entrypoints.json_lines import numbered_objects
from vigil.ports import FeedOutcome
from vigil.runtime.state import memory_store
from vigil.services.cycle import CycleOptions, run_cycle

DEFAULT_STORIES = Path("../shared/data/stories-dev.jsonl")
CHANNEL = "C0STORY"
# The reference harness's calendar constants, so both measure the same thing.
REPORT_GAP = timedelta(minutes=17)  # between successive reports of one event
DAY = timedelta(hours=24)
GAP_CAP = timedelta(days=7)
END_MARGIN = timedelta(minutes=5)
DAY_SEED = 7  # event order inside the day (the harness's default)
ORDER_SEEDS = (1, 2, 3, 4)  # feed arrival orders besides the file order
REQUIRED = ("id", "title", "url", "source", "lang", "event")


class StorySetError(Exception):
    """The story set is missing or malformed; the message is shown as is."""


# ---------------------------------------------------------------- the set


def read_story_set(path: Path) -> list[dict[str, Any]]:
    items = []
    for lineno, item in numbered_objects(path, StorySetError):
        missing = [f for f in REQUIRED if not isinstance(item, dict) or not item.get(f)]
        if missing:
            raise StorySetError(f"{path}: line {lineno}: missing {', '.join(missing)}")
        items.append(item)
    if not items:
        raise StorySetError(f"{path}: no items")
    return items


def _by_event(items: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    events: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        events.setdefault(it["event"], []).append(it)
    return events


def _real_order(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Known dates first by date, unknown after, file order breaking ties.
    ranked = sorted(enumerate(reports), key=lambda p: (p[1].get("published") or "9999", p[0]))
    return [it for _, it in ranked]


def _day(it: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(it["published"][:10]).replace(tzinfo=UTC)


def real_times(items: Sequence[dict[str, Any]], now: datetime) -> dict[str, datetime]:
    """The real calendar, gaps over GAP_CAP shortened to GAP_CAP, ending END_MARGIN before now."""
    raw: dict[str, datetime] = {}
    undated: list[list[dict[str, Any]]] = []
    for reports in _by_event(items).values():
        dated = sorted(_day(it) for it in reports if it.get("published"))
        if not dated:
            undated.append(reports)
            continue
        middle = dated[len(dated) // 2]
        for k, it in enumerate(_real_order(reports)):
            base = _day(it) if it.get("published") else middle
            raw[it["id"]] = base + timedelta(hours=8) + REPORT_GAP * k
    times: dict[str, datetime] = {}
    t = datetime(2000, 1, 1, tzinfo=UTC)
    previous = None
    for iid in sorted(raw, key=lambda i: raw[i]):
        if previous is not None:
            t += min(raw[iid] - raw[previous], GAP_CAP)
        times[iid] = t
        previous = iid
    for reports in undated:  # an event with no date at all sits alone
        t += GAP_CAP
        for k, it in enumerate(reports):
            times[it["id"]] = t + REPORT_GAP * k
    shift = (now - END_MARGIN) - max(times.values())
    return {i: v + shift for i, v in times.items()}


def day_times(items: Sequence[dict[str, Any]], now: datetime, seed: int = DAY_SEED) -> dict[str, datetime]:
    """Every event inside one day ending END_MARGIN before now; reports in real order."""
    events = _by_event(items)
    order = list(events)
    random.Random(seed).shuffle(order)
    end = now - END_MARGIN
    longest = max(len(v) for v in events.values()) - 1
    span = DAY - END_MARGIN - REPORT_GAP * longest
    start = end - DAY + END_MARGIN
    step = span / max(1, len(order))
    times: dict[str, datetime] = {}
    for n, name in enumerate(order):
        for k, it in enumerate(_real_order(events[name])):
            times[it["id"]] = min(start + step * n + REPORT_GAP * k, end)
    return times


# ---------------------------------------------------------------- one run of the pipeline


def _outlet_id(domain: str, taken: set[str]) -> str:
    base = "".join(ch if ch.isalnum() else "-" for ch in domain.lower()).strip("-")[:60] or "src"
    sid = base
    while sid in taken:
        sid += "-x"
    taken.add(sid)
    return sid


def _entry(it: dict[str, Any], when: datetime) -> dict[str, Any]:
    """The feedparser entry of one report, as a feed serving it would give it."""
    return {
        "title": it["title"],
        "summary": it.get("summary") or "",
        "link": f"https://{it['source']}/eval/{it['id']}",
        "id": it["id"],
        "published_parsed": when.timetuple(),
        "title_detail": {"language": it["lang"]},
    }


class _Feeds:
    """A FeedReader over prepared feeds, answering in a given order of outlets."""

    def __init__(self, outcomes: dict[str, FeedOutcome], order: Sequence[str]) -> None:
        self.outcomes = outcomes
        self.order = order

    def read(self, sources: Sequence[Source], states: dict[str, SourceState]) -> Iterator[tuple[Source, FeedOutcome]]:
        by_id = {s.id: s for s in sources}
        for sid in self.order:
            if sid in by_id:
                yield by_id[sid], self.outcomes[sid]


class _Keys:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def send(self, keys: list[str]) -> None:
        self.keys.extend(keys)


def run_pipeline(items: Sequence[dict[str, Any]], times: dict[str, datetime], topics: Sequence[Topic],
                 now: datetime, order_seed: int | None = None) -> dict[str, tuple[str, str]]:
    """Item id -> (story id, alert kind) for every report that alerted in one `run_cycle`."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        by_source.setdefault(it["source"], []).append(it)
    taken: set[str] = set()
    sources: list[Source] = []
    outcomes: dict[str, FeedOutcome] = {}
    ids_by_url: dict[str, str] = {}
    for domain, reports in by_source.items():
        source = Source(_outlet_id(domain, taken), f"https://{domain}/feed.xml", name=domain)
        sources.append(source)
        entries = []
        for it in sorted(reports, key=lambda r: times[r["id"]], reverse=True):  # newest first, as feeds do
            item = entry_to_item(_entry(it, times[it["id"]]), source)
            if item is not None:
                entries.append(item)
                ids_by_url[item.url] = it["id"]
        outcomes[source.id] = FeedOutcome(items=entries, status=200)
    order = [s.id for s in sources]
    if order_seed is not None:
        random.Random(order_seed).shuffle(order)
    store = memory_store()
    sink = _Keys()
    options = CycleOptions(extra_channels=(CHANNEL,), backlog_grace=timedelta(days=365 * 30), force=True)
    try:
        run_cycle(sources, topics, store, _Feeds(outcomes, order), sink, options, now=now)
        predicted: dict[str, tuple[str, str]] = {}
        for key in sink.keys:
            entry = store.outbox_entry(key)
            if entry is None:
                continue
            alert = alert_from_dict(entry.alert)
            iid = ids_by_url.get(alert.item.url)
            if alert.channel == CHANNEL and iid is not None:
                predicted.setdefault(iid, (alert.story.id, alert.kind))
    finally:
        store.close()
    return predicted


# ---------------------------------------------------------------- scores


@dataclass
class Pairwise:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if not self.tp:
            return 0.0 if (self.tp + self.fp) and (self.tp + self.fn) else float("nan")
        return 2 * p * r / (p + r)


@dataclass
class ClusterScore:
    posted: int
    items: int
    alerts: int  # top-level alerts (predicted stories)
    overall: Pairwise
    cross: Pairwise
    split: dict[str, list[list[str]]] = field(default_factory=dict)  # event -> item ids per alert
    merged: list[list[str]] = field(default_factory=list)  # events held by one alert
    multi_events: int = 0  # events with 2+ posted reports
    seconds: float = 0.0


def pairwise(pred: dict[str, str], gold: dict[str, str], keep: Any = None) -> Pairwise:
    out = Pairwise()
    for a, b in itertools.combinations(sorted(pred), 2):
        if keep is not None and not keep(a, b):
            continue
        same_pred, same_gold = pred[a] == pred[b], gold[a] == gold[b]
        out.tp += same_pred and same_gold
        out.fp += same_pred and not same_gold
        out.fn += same_gold and not same_pred
    return out


def score_clusters(items: Sequence[dict[str, Any]], predicted: dict[str, tuple[str, str]]) -> ClusterScore:
    by_id = {it["id"]: it for it in items}
    gold = {it["id"]: it["event"] for it in items}
    pred = {iid: story for iid, (story, _) in predicted.items()}

    def cross(a: str, b: str) -> bool:
        return by_id[a]["lang"] != by_id[b]["lang"]

    stories: dict[str, list[str]] = collections.defaultdict(list)
    event_stories: dict[str, set[str]] = collections.defaultdict(set)
    for iid, story in pred.items():
        stories[story].append(iid)
        event_stories[gold[iid]].add(story)
    split = {
        event: [sorted(i for i in stories[s] if gold[i] == event) for s in sorted(ss)]
        for event, ss in sorted(event_stories.items()) if len(ss) > 1
    }
    merged = [sorted({gold[i] for i in its}) for its in stories.values() if len({gold[i] for i in its}) > 1]
    posted_per_event = collections.Counter(gold[i] for i in pred)
    return ClusterScore(
        posted=len(pred), items=len(items), alerts=len(stories),
        overall=pairwise(pred, gold), cross=pairwise(pred, gold, cross),
        split=split, merged=merged, multi_events=sum(1 for n in posted_per_event.values() if n > 1),
    )


def evaluate_calendar(items: Sequence[dict[str, Any]], topics: Sequence[Topic], mode: str,
                      now: datetime | None = None,
                      seeds: Sequence[int | None] = (None, *ORDER_SEEDS)) -> list[ClusterScore]:
    """One score per feed arrival order (None: the set's file order), in `mode` "real" or "day"."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    times = real_times(items, now) if mode == "real" else day_times(items, now)
    scores = []
    for seed in seeds:
        started = time.perf_counter()
        result = score_clusters(items, run_pipeline(items, times, topics, now, seed))
        result.seconds = time.perf_counter() - started
        scores.append(result)
    return scores


# ---------------------------------------------------------------- report


def _f(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def report_lines(items: Sequence[dict[str, Any]], path: Path, results: dict[str, list[ClusterScore]],
                 verbose: bool = False) -> list[str]:
    by_id = {it["id"]: it for it in items}
    events = len({it["event"] for it in items})
    langs = collections.Counter(it["lang"] for it in items)
    lines = [
        "",
        f"clustering: {len(items)} reports of {events} events from {path} "
        f"({', '.join(f'{n} {lang}' for lang, n in sorted(langs.items()))}), one feed per outlet, "
        f"through run_cycle; {len(next(iter(results.values())))} feed arrival orders",
        "",
        f"{'calendar':<9} {'posted':>7} {'alerts':>6} {'P':>5} {'R':>5} {'F1':>5}   "
        f"{'cross P':>7} {'R':>5} {'F1':>5}   {'split':>5} {'merged':>6}   {'F1 over orders':>15}",
    ]
    for mode, scores in results.items():
        first = scores[0]
        f1s = [s.overall.f1 for s in scores]
        lines.append(
            f"{mode:<9} {f'{first.posted}/{first.items}':>7} {first.alerts:>6} "
            f"{_f(first.overall.precision):>5} {_f(first.overall.recall):>5} {_f(first.overall.f1):>5}   "
            f"{_f(first.cross.precision):>7} {_f(first.cross.recall):>5} {_f(first.cross.f1):>5}   "
            f"{f'{len(first.split)}/{first.multi_events}':>5} {len(first.merged):>6}   "
            f"{f'{_f(min(f1s))}..{_f(max(f1s))}':>15}"
        )
    for mode, scores in results.items():
        first = scores[0]
        lines += ["", f"{mode}: pairs tp={first.overall.tp} fp={first.overall.fp} fn={first.overall.fn}; "
                  f"cross-language tp={first.cross.tp} fp={first.cross.fp} fn={first.cross.fn}; "
                  f"over orders: cross R {_f(min(s.cross.recall for s in scores))}.."
                  f"{_f(max(s.cross.recall for s in scores))}, merged alerts "
                  f"{min(len(s.merged) for s in scores)}..{max(len(s.merged) for s in scores)}"]
        for event, parts in first.split.items():
            shown = " ".join("[" + " ".join(f"{i}/{by_id[i]['lang']}" for i in part) + "]" for part in parts)
            lines.append(f"  split  {event}: {shown}")
        for held in first.merged:
            lines.append(f"  merged {' + '.join(held)}")
        if verbose:
            lines += [f"  order {n}: P={_f(s.overall.precision)} R={_f(s.overall.recall)} F1={_f(s.overall.f1)} "
                      f"cross R={_f(s.cross.recall)} merged={len(s.merged)}" for n, s in enumerate(scores)]
    return lines


def evaluate_stories(path: Path, topics: Sequence[Topic], modes: Sequence[str] = ("real", "day"),
                     verbose: bool = False) -> list[str]:
    """The clustering report lines for one story set (raises StorySetError)."""
    items = read_story_set(path)
    now = datetime.now(UTC).replace(microsecond=0)
    results = {mode: evaluate_calendar(items, topics, mode, now) for mode in modes}
    return report_lines(items, path, results, verbose)
