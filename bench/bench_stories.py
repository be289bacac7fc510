"""Story clustering cost per item with 10,000 stories in the window, next to a full scan.

Run alone (`python bench/bench_stories.py`) or through `bench/run.py`. The corpus is
synthetic but shaped like the real one: every headline mixes a few words that nearly
all stories share (countries, "sanctions", "drills") with rarer names and numbers.
Half the timed items re-word an existing story, half are new events.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

try:
    import vigil  # noqa: F401  (installed with `pip install -e .`)
except ImportError:  # a bare checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "vigil"))

from vigil.domain.models import Item, Severity, Story
from vigil.domain.stories import THRESHOLD, StoryClusterer, TermSet, item_terms, member_term_sets, similarity

STORIES = 10_000
TIMED_ITEMS = 1_000
NAIVE_ITEMS = 100  # a full scan is slow; its per-item cost needs fewer samples
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=48)

_COMMON = ["China", "Russia", "Taiwan", "US", "sanctions", "military", "drills", "navy", "export",
           "controls", "Beijing", "Moscow", "defense", "firms", "arms", "missile", "troops"]
_PLAIN_TEXT = """
announces warns imposes expands targets weighs backs rejects condemns signs approves
blocks joins leaves plans extends lifts tightens eases faces seeks urges denies confirms
deal talks summit probe ban curbs list package tankers ships jets drones chips engines
parts supply shipments patrol exercise border island strait coast port plant factory
budget vote election court ruling report leak documents network system shield
"""
_WORDS = _PLAIN_TEXT.split()
_SYLLABLES = ["ka", "zor", "vel", "min", "tar", "lo", "qui", "shen", "dra", "pol", "ur", "bex",
              "nov", "sta", "ri", "gan", "hel", "om", "tsu", "yar"]


def _names(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize())
    return sorted(names)


def _headline(rng: random.Random, names: list[str]) -> str:
    words = rng.sample(_COMMON, 2) + rng.sample(_WORDS, 3) + rng.sample(names, rng.randint(1, 2))
    if rng.random() < 0.4:
        words.append(str(rng.randint(2, 900)))
    rng.shuffle(words)
    return "The " + " ".join(words)


def _reword(rng: random.Random, title: str) -> str:
    # Another outlet's version: names kept (reports of one event name the same people and
    # places), one plain word swapped, one dropped, a different order.
    words = title.split()[1:]
    plain = [i for i, w in enumerate(words) if w in _WORDS]
    words[rng.choice(plain)] = rng.choice(_WORDS)
    words.pop(rng.choice(plain))
    rng.shuffle(words)
    return " ".join(words) + " - Some Outlet"


def _item(key: str, title: str, outlet: str) -> Item:
    return Item(key=key, source_id=outlet, title=title, summary="", url=f"https://{outlet}.example/{key}",
                published=None, source_name=outlet)


def build_window(rng: random.Random) -> tuple[list[Story], list[str]]:
    """10,000 stored stories spread over the last 40 hours, plus their headlines."""
    names = _names(rng, 4_000)
    builder = StoryClusterer([], WINDOW)
    stories: dict[str, Story] = {}
    titles: list[str] = []
    for n in range(STORIES * 2):
        if len(stories) >= STORIES:
            break
        title = _headline(rng, names)
        at = NOW - timedelta(hours=40) + timedelta(seconds=n * 14)
        story, _ = builder.assign(_item(f"seed-{n}", title, f"outlet{n % 40}"), ("sanctions",),
                                  Severity.ROUTINE, at)
        stories[story.id] = story
        titles.append(title)
    return list(stories.values()), titles


def timed_items(rng: random.Random, titles: list[str]) -> list[Item]:
    names = _names(random.Random(7), 4_000)
    items = []
    for n in range(TIMED_ITEMS):
        title = _reword(rng, rng.choice(titles)) if n % 2 == 0 else _headline(rng, names)
        items.append(_item(f"timed-{n}", title, f"outlet{40 + n % 10}"))
    return items


class FullScan:
    """The naive baseline: compare the item with every member of every story in the window."""

    def __init__(self, stories: list[Story]) -> None:
        self.members = [(s, member_term_sets(s)) for s in stories]

    def best(self, item: Item) -> Story | None:
        terms = TermSet.of(item_terms(item))
        best: tuple[float, Story] | None = None
        for story, members in self.members:
            score = max(similarity(terms, m) for m in members)
            if score >= THRESHOLD and (best is None or score > best[0]):
                best = (score, story)
        return best[1] if best else None


def _per_item_us(seconds: float, count: int) -> float:
    return seconds / count * 1e6


def run() -> list[str]:
    rng = random.Random(42)
    stories, titles = build_window(rng)
    items = timed_items(rng, titles)

    started = time.perf_counter()
    clusterer = StoryClusterer(stories, WINDOW)
    rebuild_s = time.perf_counter() - started

    # Agreement is measured read-only, before timing, so both see the same window.
    scan = FullScan(stories)
    sample = items[:NAIVE_ITEMS]
    started = time.perf_counter()
    naive = [scan.best(it) for it in sample]
    naive_us = _per_item_us(time.perf_counter() - started, len(sample))
    indexed = [clusterer.best_match(it, NOW) for it in sample]
    agree = sum(_same(n, i) for n, i in zip(naive, indexed, strict=True))

    indexed_us, joined = _time_assign(clusterer, items)
    # The same items against a window a tenth the size: the cost should barely move.
    small_us, _ = _time_assign(StoryClusterer(stories[: STORIES // 10], WINDOW), items)

    return [
        f"stories in window: {len(stories):,}; rebuild from stored stories: {rebuild_s * 1e3:.0f} ms",
        f"indexed assign: {indexed_us:,.0f} us/item over {len(items):,} items "
        f"({joined} joined a story, {len(items) - joined} new)",
        f"indexed assign with {STORIES // 10:,} stories in the window: {small_us:,.0f} us/item",
        f"full scan baseline: {naive_us:,.0f} us/item over {len(sample)} items",
        f"speedup: {naive_us / indexed_us:,.0f}x; same decision as the full scan on "
        f"{agree}/{len(sample)} items",
    ]


def _time_assign(clusterer: StoryClusterer, items: list[Item]) -> tuple[float, int]:
    started = time.perf_counter()
    joined = sum(not clusterer.assign(it, ("sanctions",), Severity.ROUTINE, NOW)[1] for it in items)
    return _per_item_us(time.perf_counter() - started, len(items)), joined


def _same(naive: Story | None, indexed: tuple[Story, float] | None) -> bool:
    chosen = indexed[0] if indexed and indexed[1] >= THRESHOLD else None
    return (naive.id if naive else None) == (chosen.id if chosen else None)


if __name__ == "__main__":
    for line in run():
        print(line)
