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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from vigil.domain.models import Severity, Topic, TopicMatch
from vigil.domain.query import DEFAULT_WORK, QueryEngine, QueryTooCostly, Scan
from vigil.domain.text import PlacedWords, strip_dateline
from vigil.domain.topic_limits import CUSTOM_TOPIC_WORK

MATCH_THRESHOLD = 0.5
# Phrases quoted per topic as evidence ("why it matched").
MAX_EVIDENCE = 5

# Words a rule needs around its subject ("adopts ... package", "sanctions against") that
# say nothing on their own: never quoted as evidence, and trimmed off the ends of a
# quoted phrase. Lower-case, as `words()` reads text.
_EVIDENCE_STOP_TEXT = """
a an the and or nor of to in on at by for from with without against over under into onto about after
before amid among between during near toward towards via as than then also but not no its it their his
her this that these those s new fresh more further additional latest another other own same such so
very all any some each every per part parts side sides step steps move moves measure measures
package packages round rounds alongside
adopt adopts adopted adopting add adds added adding impose imposes imposed imposing announce announces
announced announcing target targets targeted targeting expand expands expanded expanding extend extends
extended extending hold holds held holding join joins joined joining arrive arrives arrived arriving
provide provides provided providing supply supplies supplied supplying support supports supported
supporting help helps helped helping aid aids aided aiding found build builds built building train
trains trained training equip equips equipped equipping approve approves approved approving block
blocks blocked blocking cut cuts cutting restrict restricts restricted restricting limit limits limited
limiting ban bans banned
banning bar bars barred barring slap slaps slapped hit hits take takes took taken taking make makes
made say says said sign signs signed signing meet meets met send sends sent deliver delivers delivered
give gives gave given use uses used launch launches launched start starts started begin begins began
conduct conducts conducted stage stages staged issue issues issued unveil unveils unveiled agree agrees
agreed pass passes passed set sets roll rolls rolled is are was were be been being has have had will
would could can may might should must do does did
в во на с со по о об от до за из к у не и или а но что как для при против после перед между над под
через без это его ее их также новый новые новых новой новым пакет пакета пакете пакетом пакеты
пакетов раунд цене цены цена цен ввел ввела ввели введены вводит ввести наложил наложила объявил
объявила объявили расширил расширила продлил продлила провел провела провели проведут прибыл прибыла
начали начал
的 了 在 是 与 和 及 于 被 将 对 向 从 把 等 新 宣布 实施 采取 针对
"""
EVIDENCE_STOP_WORDS = frozenset(_EVIDENCE_STOP_TEXT.split())


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
        supported language, so it does not change the result. A wire dateline opening
        either field ("TAIPEI (CNA) –") is not read: it says where the report was filed,
        not what it is about.
        """
        if self._compiled is None:
            self._compile()
        title, summary = strip_dateline(title), strip_dateline(summary)
        scan = self._engine.scan(title, summary)
        quote = _Quoter(scan, title, summary)
        out = []
        for topic in self.topics:
            match = self._match(topic, scan, quote)
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
        title, summary = strip_dateline(title), strip_dateline(summary)
        scan = self._engine.scan(title, summary)
        quote = _Quoter(scan, title, summary)
        out: list[TopicMatch] = []
        for topic in self.topics:
            match = self._match(topic, scan, quote)
            out.append(match or TopicMatch(topic.id, self._miss_score(topic, scan), Severity.ROUTINE, ()))
        return out

    def _match(self, topic: Topic, scan: Scan, quote: _Quoter) -> TopicMatch | None:
        """The topic's match, or None when it does not apply or ran out of work on the item."""
        scan.allow(self._work[topic.id])
        try:
            # Most topics do not apply to most items: test before any other work.
            if not self._engine.test(self._names[topic.id][0], scan):
                return None
            return self._matched(topic, scan, quote)
        except QueryTooCostly:
            self.over_budget[topic.id] += 1
            return None

    def skipped(self) -> list[tuple[Topic, int]]:
        """Topics that ran out of work on some items, with how many, by topic id."""
        by_id = {t.id: t for t in self.topics}
        return [(by_id[tid], n) for tid, n in sorted(self.over_budget.items())]

    def _matched(self, topic: Topic, scan: Scan, quote: _Quoter) -> TopicMatch:
        """Score, severity and evidence of a topic whose query matched."""
        engine = self._engine
        name, urgent, notable = self._names[topic.id]
        leaves = engine.evidence(name, scan)
        actors = self._actors.get(topic.id, frozenset())
        # The score counts every distinct matched term; "why" quotes the item's phrases.
        matched, positions = scan.matched(leaves, actors)
        evidence = quote(positions)
        score = 1.0 - 0.5 * 0.6 ** matched
        if positions and positions[0][0] == "title":  # the earliest match is in the title
            score += 0.05
        if urgent and engine.test(urgent, scan):
            severity = Severity.URGENT
        elif notable and engine.test(notable, scan):
            severity = Severity.NOTABLE
        else:
            severity = Severity.ROUTINE
        # A topic's own severity is a floor (custom topics added as notable or urgent).
        return TopicMatch(topic.id, round(min(score, 1.0), 3), max(severity, topic.severity), evidence)

    def _miss_score(self, topic: Topic, scan: Scan) -> float:
        found = self._engine.partial(self._names[topic.id][0], scan)
        return round(0.45 * (1.0 - 0.7**found), 3)


_HYPHENS = frozenset({"-", "\u2010", "\u2011"})


class _Quoter:
    """Evidence in the item's own words: the text where the rule's terms matched.

    Matched words next to each other (only spaces or a hyphen between) make one phrase
    ("joint naval drills", "Russian-Chinese"), quoted as the item writes it (case,
    traditional characters, apostrophes). The function words a rule needs around its
    subject ("adopts", "against", "против") are never quoted on their own nor at the ends
    of a phrase, though a matched multi-word term is kept whole ("stop list"). Subject
    terms first, who/where terms (actors) after, each in text order; at most
    MAX_EVIDENCE per topic.
    """

    def __init__(self, scan: Scan, title: str, summary: str) -> None:
        self.scan = scan
        self.texts = {"title": title, "summary": summary}
        self._fields: dict[str, PlacedWords] = {}

    def _field(self, field: str) -> PlacedWords:
        found = self._fields.get(field)
        if found is None:  # worked out once per item, for the first topic that asks
            found = self._fields[field] = PlacedWords(self.texts[field], self.scan.field_words(field))
        return found

    def __call__(self, positions: list[tuple[str, int, int, bool]]) -> tuple[str, ...]:
        """The phrases at `positions` (from `Scan.matched` of a topic's evidence and actors)."""
        quoted: list[str] = []
        seen: set[str] = set()
        covered: list[tuple[str, int, int]] = []  # subject runs: actor words inside them are quoted
        # Subject terms, then actors, each in text order; the text is read only until enough.
        # A run (matched words next to each other) is its field, its end and its parts.
        for actors_only in (False, True):
            field = ""
            words_of: PlacedWords | None = None
            run_end = 0
            parts: list[tuple[int, int]] = []
            for at, start, end, late in positions:
                if late is not actors_only:
                    continue
                if actors_only and covered and _inside(covered, at, start, end):
                    continue
                if at == field and start <= run_end and (start < run_end or _adjacent(words_of, start)):
                    parts.append((start, end))
                    run_end = max(run_end, end)
                    continue
                if words_of and self._quote(words_of, field, parts, run_end, actors_only, seen, quoted, covered):
                    return tuple(quoted)
                field, words_of, run_end, parts = at, self._field(at), end, [(start, end)]
            if words_of and self._quote(words_of, field, parts, run_end, actors_only, seen, quoted, covered):
                return tuple(quoted)
        return tuple(quoted)

    @staticmethod
    def _quote(words_of: PlacedWords, field: str, parts: list[tuple[int, int]], end: int, actors: bool,
               seen: set[str], quoted: list[str], covered: list[tuple[str, int, int]]) -> bool:
        """Add the run's phrase (if any); True when MAX_EVIDENCE phrases are quoted."""
        if not actors:
            covered.append((field, parts[0][0], end))
        phrase = _phrase(words_of, parts, end, seen)
        if phrase:
            quoted.append(phrase)
        return len(quoted) >= MAX_EVIDENCE


def _inside(covered: list[tuple[str, int, int]], field: str, start: int, end: int) -> bool:
    """Whether words `start` to `end - 1` of `field` lie inside one of the `covered` runs."""
    # A loop, not any(): no generator per actor term on the hot path.
    for f, s, e in covered:  # noqa: SIM110
        if s <= start and end <= e and f == field:
            return True
    return False


def _adjacent(words_of: PlacedWords | None, k: int) -> bool:
    """Whether words `k - 1` and `k` stand next to each other in the text (only spaces or
    a hyphen between)."""
    assert words_of is not None  # a run is open
    spans = words_of.through(k)
    if not 0 < k < len(spans):
        return False
    return not words_of.text[spans[k - 1][1] : spans[k][0]].strip(" -\u2010\u2011\u00a0")


def _phrase(words_of: PlacedWords, parts: list[tuple[int, int]], run_end: int, seen: set[str]) -> str:
    """The run's text without function words at its ends; "" when nothing is left or the
    same words were quoted already (`seen`, updated)."""
    tokens = words_of.tokens
    if len(parts) == 1:  # the usual run: one term
        start, end = parts[0]
        if end - start == 1 and tokens[start] in EVIDENCE_STOP_WORDS:
            return ""
    else:
        start, end = _trimmed(tokens, parts, run_end)
        if start < 0:
            return ""
    end = min(end, len(tokens))
    # A matched part of a hyphenated word is quoted whole ("военно-морских", not "военно").
    text = words_of.text
    spans = words_of.spans
    if end >= len(spans):
        spans = words_of.through(end)
    while 0 < start < len(spans) and text[spans[start - 1][1] : spans[start][0]] in _HYPHENS:
        start -= 1
    while end < len(tokens):
        if end >= len(spans):
            spans = words_of.through(end)
            if end >= len(spans):
                break
        if text[spans[end - 1][1] : spans[end][0]] not in _HYPHENS:
            break
        end += 1
    key = tokens[start] if end - start == 1 else " ".join(tokens[start:end])
    if not key or key in seen:
        return ""
    seen.add(key)
    # The normalized words if the text's cannot be placed.
    return text[spans[start][0] : spans[end - 1][1]] if end - 1 < len(spans) else key


def _trimmed(tokens: list[str], parts: list[tuple[int, int]], run_end: int) -> tuple[int, int]:
    """The words a run of several parts quotes, without one-word function-word parts at
    either end; (-1, -1) when nothing is left."""
    first, last = 0, len(parts)
    while first < last and parts[first][1] - parts[first][0] == 1 and tokens[parts[first][0]] in EVIDENCE_STOP_WORDS:
        first += 1
    while last > first and parts[last - 1][1] - parts[last - 1][0] == 1 and (
        tokens[parts[last - 1][0]] in EVIDENCE_STOP_WORDS
    ):
        last -= 1
    if first >= last:
        return -1, -1
    return parts[first][0], run_end if last == len(parts) else max(b for _, b in parts[first:last])


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


def classify_jsonl(infile: Iterable[str | bytes], outfile: TextIO, classifier: Classifier,
                   errfile: TextIO | None = None) -> int:
    """The `vigil classify` contract: JSON Lines in, each object plus topics/scores/evidence out.

    Lines may be text or UTF-8 bytes. A bad line (not UTF-8, not JSON, not an item) is
    reported on `errfile` (stderr by default) with its line number and skipped; every
    other line is still classified. Returns the number of bad lines.
    """
    err = errfile if errfile is not None else sys.stderr
    bad = 0
    for lineno, line in enumerate(infile, start=1):
        if not line.strip():
            continue
        try:
            item = _parse_item(_text(line))
        except ValueError as exc:
            bad += 1
            print(f"vigil classify: line {lineno}: {exc}; skipped", file=err)
            continue
        outfile.write(json.dumps(_classified(item, classifier), ensure_ascii=False) + "\n")
    return bad


def _text(line: str | bytes) -> str:
    if isinstance(line, str):
        return line
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})") from None


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
