"""`python -m vigil.entrypoints.evaluate [PATH] [--stories SET]`: classification and clustering.

Scores the shipped classifier on a labeled JSON Lines file (`id`, `title`, `summary`,
`topics`) next to the keyword baseline in the same run: the filter a user would type
into a feed reader (a Russia word AND a China word AND a military word; "Taiwan" or
"Taipei"; "sanction", "export control", "entity list" or "blacklist"). Then measures
story clustering on a labeled story set (`vigil.entrypoints.evaluate_stories`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.domain.classify import Classifier
from vigil.domain.errors import ConfigError
from vigil.domain.models import Topic
from vigil.entrypoints.evaluate_stories import DEFAULT_STORIES, StorySetError, evaluate_stories
from vigil.entrypoints.json_lines import numbered_objects
from vigil.runtime.config import configured_topics

DEFAULT_ITEMS = Path("../shared/data/dev-items.jsonl")

# The baseline, written in the same query language (word prefixes stand in for the
# substring matching of a feed reader's filter box).
BASELINE_QUERIES = {
    "russia-china-military": (
        "(russia* OR moscow OR kremlin OR putin) AND (china OR chinese OR beijing) AND "
        "(military OR army OR navy OR naval OR drill* OR exercise* OR weapon* OR arms "
        "OR defense OR defence OR troops OR bomber* OR warship* OR missile*)"
    ),
    "taiwan": "taiwan* OR taipei*",
    "sanctions": 'sanction* OR "export control*" OR "entity list*" OR blacklist*',
}

Predict = Callable[[dict[str, Any]], set[str]]


class EvaluationError(Exception):
    """The labeled file is missing or malformed; the message is shown as is."""


@dataclass
class TopicScore:
    topic: str
    tp: int = 0
    false_pos: list[dict[str, Any]] = field(default_factory=list)
    false_neg: list[dict[str, Any]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.tp + len(self.false_pos)
        return self.tp / found if found else 1.0

    @property
    def recall(self) -> float:
        relevant = self.tp + len(self.false_neg)
        return self.tp / relevant if relevant else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def baseline_topics() -> list[Topic]:
    return [Topic(id=tid, name=tid, query=q) for tid, q in BASELINE_QUERIES.items()]


def read_items(path: Path) -> list[dict[str, Any]]:
    """Labeled items; EvaluationError with the file and line if anything is wrong."""
    items = []
    for lineno, item in numbered_objects(path, EvaluationError, " (pass the labeled JSON Lines file)"):
        if not isinstance(item, dict) or not isinstance(item.get("topics"), list):
            raise EvaluationError(f"{path}: line {lineno}: expected an object with a 'topics' list")
        items.append(item)
    if not items:
        raise EvaluationError(f"{path}: no items")
    return items


def predictor(classifier: Classifier) -> Predict:
    def predict(item: dict[str, Any]) -> set[str]:
        matches = classifier.classify(item.get("title", ""), item.get("summary", ""), item.get("lang"))
        return {m.topic for m in matches}

    return predict


def score(items: Iterable[dict[str, Any]], predict: Predict, topics: Sequence[str]) -> dict[str, TopicScore]:
    scores = {t: TopicScore(t) for t in topics}
    for item in items:
        gold, got = set(item["topics"]), predict(item)
        for topic, s in scores.items():
            if topic in gold and topic in got:
                s.tp += 1
            elif topic in got:
                s.false_pos.append(item)
            elif topic in gold:
                s.false_neg.append(item)
    return scores


def report(ours: dict[str, TopicScore], base: dict[str, TopicScore], n_items: int, path: Path) -> list[str]:
    lines = [
        f"{n_items} items from {path}",
        "",
        f"{'topic':<24} {'P':>6} {'R':>6} {'F1':>6}   {'baseline P':>10} {'R':>6} {'F1':>6}",
    ]
    for topic, s in ours.items():
        b = base[topic]
        lines.append(
            f"{topic:<24} {s.precision:6.2f} {s.recall:6.2f} {s.f1:6.2f}   "
            f"{b.precision:10.2f} {b.recall:6.2f} {b.f1:6.2f}"
        )
    for topic, s in ours.items():
        lines += ["", f"{topic}: {s.tp} true positives, {len(s.false_pos)} false positives, "
                  f"{len(s.false_neg)} false negatives (baseline: {len(base[topic].false_pos)} FP, "
                  f"{len(base[topic].false_neg)} FN)"]
        lines += [f"  FP {_label(item)}" for item in s.false_pos]
        lines += [f"  FN {_label(item)}" for item in s.false_neg]
    return lines


def _label(item: dict[str, Any]) -> str:
    title = " ".join(str(item.get("title", "")).split())
    return f"{item.get('id', '?')}: {title[:100]}"


def evaluate(path: Path, topics: Sequence[Topic] | None = None) -> list[str]:
    """The report lines for one labeled file (raises EvaluationError / ConfigError)."""
    items = read_items(path)
    topics = list(topics) if topics is not None else configured_topics()
    ids = sorted(t.id for t in topics)
    ours = score(items, predictor(Classifier(topics)), ids)
    base_topics = [t for t in baseline_topics() if t.id in ids]
    base = score(items, predictor(Classifier(base_topics)), ids)
    return report(ours, base, len(items), path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigil.entrypoints.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_ITEMS, help="labeled JSON Lines file")
    parser.add_argument("--topics", type=Path, default=None, help="topics TOML (default: the shipped topics)")
    parser.add_argument("--stories", type=Path, default=DEFAULT_STORIES,
                        help=f"labeled story set for the clustering figures (default: {DEFAULT_STORIES})")
    parser.add_argument("--no-stories", action="store_true", help="classification figures only")
    parser.add_argument("--verbose", action="store_true", help="clustering figures per feed arrival order")
    args = parser.parse_args(argv)
    try:
        topics = configured_topics(args.topics) if args.topics else None
        lines = evaluate(args.path, topics)
    except (EvaluationError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    if args.no_stories:
        return 0
    if not args.stories.is_file():
        print(f"\nclustering: skipped, no story set at {args.stories} (pass --stories FILE)")
        return 0
    try:
        story_lines = evaluate_stories(args.stories, topics if topics is not None else configured_topics(),
                                       verbose=args.verbose)
    except StorySetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(story_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
