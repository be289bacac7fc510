"""Topic classification: which topics an item belongs to, with score, severity and evidence.

All topic queries (and their urgent / notable queries) are compiled once into one
`QueryEngine`, so an item is tokenized and scanned once however many topics exist.

Scores: a topic applies exactly when its query matches; its score is then 0.5..1,
rising with the number of distinct matched phrases and when one is in the title. A
topic that does not apply scores below 0.5, from how many of its positive terms
occur (a near miss scores higher than an unrelated item), so `score >= 0.5` is the
same decision as the query.

Work per item is bounded per topic: each topic's queries get their own allowance
(`Scan.allow`), a custom topic a small one (`CUSTOM_TOPIC_WORK`), so one costly
custom topic cannot delay the shipped topics or other channels' topics. A topic that
runs out is skipped for that item and counted in `over_budget`.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from vigil.domain.models import Severity, Topic, TopicMatch
from vigil.domain.query import DEFAULT_WORK, QueryEngine, QueryTooCostly, Scan
from vigil.domain.topic_limits import CUSTOM_TOPIC_WORK

MATCH_THRESHOLD = 0.5


class Classifier:
    """Topics compiled once; `classify` is pure and safe to call from many items in turn."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics = sorted(topics, key=lambda t: t.id)
        self._compiled: _Compiled | None = None
        # Topic id -> items it was skipped on for running out of work (read by the cycle).
        self.over_budget: Counter[str] = Counter()

    def _compile(self) -> _Compiled:
        """The topics' compiled form, built on first use and shared by every Classifier of
        the same topics in this process (a warm Lambda compiles them once, not per cycle)."""
        if self._compiled is None:
            self.use(_compile(tuple(self.topics)))
        assert self._compiled is not None
        return self._compiled

    def use(self, compiled: _Compiled) -> None:
        """Classify with this compiled form (plain attributes: the hot path reads them per item)."""
        self._compiled = compiled
        self._engine = compiled.engine
        self._names = compiled.names
        self._actors = compiled.actors
        self._work = compiled.work

    def classify(self, title: str, summary: str = "", lang: str | None = None) -> list[TopicMatch]:
        """The topics that apply, sorted by topic id.

        `lang` is accepted for the pipeline's convenience; queries carry terms in every
        supported language, so it does not change the result.
        """
        if self._compiled is None:
            self._compile()
        scan = self._engine.scan(title, summary)
        out = []
        for topic in self.topics:
            match = self._match(topic, scan)
            if match is not None:
                out.append(match)
        return out

    def scores(self, title: str, summary: str = "", lang: str | None = None) -> dict[str, float]:
        """A score for every topic (>= 0.5 exactly for those that apply)."""
        return {m.topic: m.score for m in self.evaluate(title, summary, lang)}

    def evaluate(self, title: str, summary: str = "", lang: str | None = None) -> list[TopicMatch]:
        """Every topic with its score; evidence is empty for topics that do not apply."""
        if self._compiled is None:
            self._compile()
        scan = self._engine.scan(title, summary)
        out: list[TopicMatch] = []
        for topic in self.topics:
            match = self._match(topic, scan)
            out.append(match or TopicMatch(topic.id, self._miss_score(topic, scan), Severity.ROUTINE, ()))
        return out

    def _match(self, topic: Topic, scan: Scan) -> TopicMatch | None:
        """The topic's match, or None when it does not apply or ran out of work on the item."""
        scan.allow(self._work[topic.id])
        try:
            # Most topics do not apply to most items: test before any other work.
            if not self._engine.test(self._names[topic.id][0], scan):
                return None
            return self._matched(topic, scan)
        except QueryTooCostly:
            self.over_budget[topic.id] += 1
            return None

    def skipped(self) -> list[tuple[Topic, int]]:
        """Topics that ran out of work on some items, with how many, by topic id."""
        by_id = {t.id: t for t in self.topics}
        return [(by_id[tid], n) for tid, n in sorted(self.over_budget.items())]

    def _matched(self, topic: Topic, scan: Scan) -> TopicMatch:
        """Score, severity and evidence of a topic whose query matched."""
        engine = self._engine
        name, urgent, notable = self._names[topic.id]
        # Who/where terms (actors) go last, so "why" leads with the subject.
        evidence, in_title = scan.evidence(engine.evidence(name, scan), self._actors.get(topic.id, frozenset()))
        score = 1.0 - 0.5 * 0.6 ** len(evidence)
        if in_title:
            score += 0.05
        if urgent and engine.test(urgent, scan):
            severity = Severity.URGENT
        elif notable and engine.test(notable, scan):
            severity = Severity.NOTABLE
        else:
            severity = Severity.ROUTINE
        return TopicMatch(topic.id, round(min(score, 1.0), 3), severity, evidence)

    def _miss_score(self, topic: Topic, scan: Scan) -> float:
        found = self._engine.partial(self._names[topic.id][0], scan)
        return round(0.45 * (1.0 - 0.7**found), 3)


@dataclass(frozen=True, slots=True)
class _Compiled:
    engine: QueryEngine
    # Query names per topic, formatted once (not per item on the hot path).
    names: dict[str, tuple[str, str, str]]
    # The actors' terms as leaf ids: partitioning evidence costs no extra query run.
    actors: dict[str, frozenset[int]]
    work: dict[str, int]


@functools.lru_cache(maxsize=8)
def _compile(topics: tuple[Topic, ...]) -> _Compiled:
    """All topic queries (and their urgent / notable / actors queries) in one engine."""
    queries: dict[str, str] = {}
    for topic in topics:
        queries[f"{topic.id}:query"] = topic.query
        if topic.urgent:
            queries[f"{topic.id}:urgent"] = topic.urgent
        if topic.notable:
            queries[f"{topic.id}:notable"] = topic.notable
    # Topics usually share one actors query: compile it once under a shared name.
    actor_names: dict[str, str] = {}
    for topic in topics:
        if topic.actors:
            name = actor_names.setdefault(topic.actors, f"actors#{len(actor_names)}")
            queries[name] = topic.actors
    engine = QueryEngine(queries)
    return _Compiled(
        engine=engine,
        names={t.id: (f"{t.id}:query", f"{t.id}:urgent" if t.urgent else "", f"{t.id}:notable" if t.notable else "")
               for t in topics},
        actors={t.id: engine.leaves(actor_names[t.actors]) for t in topics if t.actors},
        work={t.id: DEFAULT_WORK if t.channel is None else CUSTOM_TOPIC_WORK for t in topics},
    )


def classify_jsonl(infile: TextIO, outfile: TextIO, classifier: Classifier, errfile: TextIO | None = None) -> int:
    """The `vigil classify` contract: JSON Lines in, each object plus topics/scores/evidence out.

    A bad line is reported on `errfile` (stderr by default) with its line number and
    skipped; every other line is still classified. Returns the number of bad lines.
    """
    err = errfile if errfile is not None else sys.stderr
    bad = 0
    for lineno, line in enumerate(infile, start=1):
        if not line.strip():
            continue
        try:
            item = _parse_item(line)
        except ValueError as exc:
            bad += 1
            print(f"vigil classify: line {lineno}: {exc}; skipped", file=err)
            continue
        outfile.write(json.dumps(_classified(item, classifier), ensure_ascii=False) + "\n")
    return bad


def _parse_item(line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object")
    for field in ("title", "summary"):
        if not isinstance(item.get(field, ""), str):
            raise ValueError(f"{field!r} must be a string")
    if not item.get("title") and not item.get("summary"):
        raise ValueError("needs a 'title' or a 'summary'")
    return item


def _classified(item: dict[str, Any], classifier: Classifier) -> dict[str, Any]:
    lang = item.get("lang") if isinstance(item.get("lang"), str) else None
    results = classifier.evaluate(item.get("title", ""), item.get("summary", ""), lang)
    applied = [m for m in results if m.score >= MATCH_THRESHOLD]
    return {
        **item,
        "topics": [m.topic for m in applied],
        "scores": {m.topic: m.score for m in results},
        "evidence": {m.topic: list(m.evidence) for m in applied},
    }
