"""Group items from different outlets about the same event into one story (pure, no I/O).

How an item finds its story:

1. Its text becomes a small weighted *term set*: normalized title words (folded as the
   classifier folds text, `vigil.domain.text.fold`, so traditional and simplified Chinese
   agree; lowercase, outlet suffix and stop words dropped, crude stemming, demonyms and
   capitals folded onto the country) plus a few key terms (names, numbers) from the
   summary. Chinese and Japanese runs become character bigrams, since they have no
   spaces. Names and numbers weigh more; the handful of countries that nearly every item
   in this domain mentions weigh less, because sharing "china" says little about sharing
   an event.
2. Candidates come from an inverted index over the *rarest* of its terms (few stories
   contain them), each posting list read up to a cap. The work per item is therefore
   bounded by constants, not by the number of stories in the window. MinHash-LSH was
   the alternative; on short headlines from one topical domain every story shares the
   same common words, so banding either floods the candidates or loses recall.
3. Each candidate is verified with a weighted Jaccard against every remembered member
   of the story (a few per story, so a third outlet's wording may match the second's)
   and joins the best one above `THRESHOLD`.

Only stories first seen inside the window are eligible, which is exactly what the
store's `stories_since(now - window)` loads, so a clusterer rebuilt from stored stories
decides the same way as the one that created them: everything it needs is in
`Story.terms` (member term sets) and `Story.signature` (their fingerprints).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import heapq
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from vigil.domain import provenance
from vigil.domain.models import Item, Severity, Story
from vigil.domain.text import CJK, fold, strip_outlet, words

DEFAULT_WINDOW = timedelta(hours=48)
# Weighted Jaccard at or above which an item joins a story. Calibrated on hand-written
# same-event / different-event pairs (tests/unit/test_stories.py): differently worded
# reports of one event score ~0.44-0.86, look-alike different events ~0.2-0.38.
THRESHOLD = 0.4
# Member term sets remembered per story: enough for several wordings, bounded record size.
MAX_MEMBERS = 4
# Index lookup bounds: posting lists longer than this are common words (or truncated to
# their newest entries when nothing rarer exists); at most this many terms are looked up.
POSTING_CAP = 200
LOOKUP_TERMS = 10
MAX_VERIFY = 40
MAX_SUMMARY_TERMS = 6
NUMBER_CONFLICT = 0.6  # score factor when both headlines carry figures and share none

HEAVY = 2.0  # names, numbers, acronyms
NORMAL = 1.0
LIGHT = 0.5  # the countries everything here mentions

# Stored term markers: "+" a heavy term, "~" a summary-only term (see _encode_member).
_HEAVY_MARK = "+"
_SUMMARY_MARK = "~"

_STOP_TEXT = """
a about above after again against all also amid an and any are as at be been before being
between both but by can could did do does during each for from further had has have he her
his how i if in into is it its just may more most new no nor not now of off on once only or
other our out over own per s said same say says she should since so some such than that the
their them then there these they this those through to too under until up very via was we
were what when where which while who whom why will with would you your yet
near around across toward towards among amid amidst despite within without
report reports reported according told tells week day today year years
breaking exclusive editorial opinion analysis update updated live watch video explainer
в и на с по о об от до за из к у не что как для это при его ее их также после
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())

# Folding of demonyms, capitals and common synonyms onto one term, so two outlets that
# say "Beijing" and "Chinese" (or "drills" and "exercises") still share the term.
_CANONICAL: Mapping[str, str] = {
    "chinese": "china", "beijing": "china", "prc": "china", "pla": "china",
    "russian": "russia", "moscow": "russia", "kremlin": "russia", "russians": "russia",
    "taiwanese": "taiwan", "taipei": "taiwan",
    "american": "us", "americans": "us", "washington": "us", "usa": "us", "u.s": "us", "u.s.": "us",
    "ukrainian": "ukraine", "kyiv": "ukraine", "kiev": "ukraine",
    "japanese": "japan", "tokyo": "japan",
    "korean": "korea", "pyongyang": "korea", "seoul": "korea",
    "european": "eu", "brussels": "eu",
    "british": "uk", "britain": "uk", "london": "uk",
    "iranian": "iran", "tehran": "iran",
    "indian": "india", "delhi": "india",
    "exercise": "drill", "exercises": "drill", "wargame": "drill", "maneuver": "drill",
    "manoeuvre": "drill", "drills": "drill",
    "warship": "naval", "warships": "naval", "navy": "naval", "vessel": "naval", "vessels": "naval",
    "defence": "defense",
    "arms": "weapon", "weapons": "weapon",
    "company": "firm", "companies": "firm", "firms": "firm", "entity": "firm", "entities": "firm",
    "soldier": "troop", "soldiers": "troop", "troops": "troop",
    "jet": "aircraft", "jets": "aircraft", "plane": "aircraft", "planes": "aircraft",
    "warplane": "aircraft", "warplanes": "aircraft",
    "begin": "start", "begins": "start", "launch": "start", "launches": "start", "kick": "start",
    "conduct": "hold", "conducts": "hold", "stage": "hold", "stages": "hold",
    "adopt": "approve", "adopts": "approve", "agree": "approve", "agrees": "approve",
    "pass": "approve", "passes": "approve", "endorse": "approve", "endorses": "approve",
    "spot": "detect", "spots": "detect", "track": "detect", "tracks": "detect",
    "slap": "impose", "slaps": "impose", "hit": "impose", "hits": "impose",
    "contractor": "firm", "contractors": "firm", "maker": "firm", "makers": "firm",
    "manufacturer": "firm", "manufacturers": "firm",
    "sanctions": "sanction", "sanctioned": "sanction", "sanctioning": "sanction",
    "penalty": "sanction", "penalties": "sanction", "blacklist": "sanction",
    "blacklisted": "sanction",
}
_LIGHT_TERMS = frozenset({"china", "russia", "us", "taiwan", "ukraine", "eu", "uk", "japan", "korea"})

_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*\.?", re.UNICODE)
# Han, kana, hangul: scripts written without spaces between words.
_CJK = re.compile(f"[{CJK}\uac00-\ud7af]+")
# Chinese function characters that glue words together; splitting runs on them keeps
# bigrams like "军在" (army + "at") from diluting the overlap.
_CJK_GLUE = re.compile("[的了在是与及于被]")


# ---------------------------------------------------------------- text -> terms


def stem(word: str) -> str:
    """Crude suffix stripping: enough to fold plurals and tenses of headline verbs."""
    word = _CANONICAL.get(word, word)
    if word in _LIGHT_TERMS or word[0].isdigit():
        return word
    if _is_cyrillic(word):
        # Russian inflects word endings heavily; a fixed prefix is a cheap, known stemmer.
        return word[:6]
    return _CANONICAL.get(_strip_suffix(word), _strip_suffix(word))


def _strip_suffix(word: str) -> str:
    if len(word) < 4:
        return word
    if word.endswith("ies") and len(word) >= 5:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif (word.endswith("ed") and len(word) >= 5) or word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    # "approve", "approved", "approves" all end up "approv".
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _is_cyrillic(word: str) -> bool:
    return "\u0400" <= word[0] <= "\u04ff"


def _cjk_bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _word_weight(raw: str, term: str, position: int, sentence_case: bool) -> float:
    if term in _LIGHT_TERMS:
        return LIGHT
    if any(ch.isdigit() for ch in raw) or (len(raw) > 1 and raw.isupper()):
        return HEAVY
    # Capitals mark names only in sentence-case text, and never the first word.
    if sentence_case and position > 0 and raw[0].isupper():
        return HEAVY
    return NORMAL


def _is_sentence_case(words: list[str]) -> bool:
    alpha = [w for w in words[1:] if w[0].isalpha() and w.lower() not in _STOP_WORDS]
    if not alpha:
        return True
    capitalized = sum(1 for w in alpha if w[0].isupper())
    return capitalized / len(alpha) < 0.6


def text_terms(text: str) -> dict[str, float]:
    """Weighted terms of one piece of text (a headline or a summary)."""
    text = fold(text)  # the classifier's folding, so both read one text alike
    terms: dict[str, float] = {}
    for run in _CJK.findall(_CJK_GLUE.sub(" ", text)):
        for gram in _cjk_bigrams(run):
            terms[gram] = NORMAL
    words = _WORD.findall(_CJK.sub(" ", text))
    sentence_case = _is_sentence_case(words)
    for position, raw in enumerate(words):
        lower = raw.lower().replace("’", "'").removesuffix("'s").rstrip(".")
        if not lower or lower in _STOP_WORDS or (len(lower) == 1 and not lower.isdigit()):
            continue
        term = stem(lower)
        weight = _word_weight(raw, term, position, sentence_case)
        terms[term] = max(weight, terms.get(term, 0.0))
    return terms


def item_terms(item: Item) -> dict[str, float]:
    """The term set an item is compared by: title terms plus key summary terms."""
    outlet = item.source_name or item.source_id
    terms = text_terms(strip_outlet(item.title, outlet))
    extra = 0
    for term, weight in text_terms(item.summary).items():
        # Only names and numbers from the summary: its other words are mostly filler.
        if extra >= MAX_SUMMARY_TERMS or weight < HEAVY or term in terms:
            continue
        terms[_SUMMARY_MARK + term] = NORMAL
        extra += 1
    return terms


# ---------------------------------------------------------------- similarity


@dataclasses.dataclass(frozen=True, slots=True)
class TermSet:
    """A member's terms, with the two views `similarity` compares, computed once."""

    terms: dict[str, float]
    title: dict[str, float]  # headline terms only
    flat: dict[str, float]  # headline + summary terms, summary marks removed
    title_weight: float
    flat_weight: float
    numbers: frozenset[str]  # figures in the headline ("45", "1.1", "17th")

    @classmethod
    def of(cls, terms: dict[str, float]) -> TermSet:
        title = {t: w for t, w in terms.items() if not t.startswith(_SUMMARY_MARK)}
        flat: dict[str, float] = {}
        # Summary terms match title terms of the other side too ("Kursk" in a lead vs a title).
        for term, weight in terms.items():
            key = term.removeprefix(_SUMMARY_MARK)
            flat[key] = max(weight, flat.get(key, 0.0))
        numbers = frozenset(t for t in title if t[0].isdigit())
        return cls(terms, title, flat, sum(title.values()), sum(flat.values()), numbers)

    @property
    def has_summary(self) -> bool:
        return len(self.title) != len(self.terms)


def weighted_jaccard(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Shared weight over total weight; a shared term counts with its larger weight."""
    return _jaccard(a, sum(a.values()), b, sum(b.values()))


def _jaccard(a: Mapping[str, float], a_total: float, b: Mapping[str, float], b_total: float) -> float:
    if len(a) > len(b):
        a, b = b, a
    shared = own = 0.0
    for term, weight in a.items():
        other = b.get(term)
        if other is not None:
            shared += max(weight, other)
            own += weight + other
    if not shared:
        return 0.0
    return shared / (a_total + b_total - own + shared)


def similarity(a: TermSet, b: TermSet) -> float:
    """How alike two term sets are: headlines alone, or headlines plus summary key terms.

    The better of the two, so an outlet without a summary is not penalized for it.
    """
    score = _jaccard(a.title, a.title_weight, b.title, b.title_weight)
    if a.has_summary or b.has_summary:
        score = max(score, _jaccard(a.flat, a.flat_weight, b.flat, b.flat_weight))
    if a.numbers and b.numbers and not a.numbers & b.numbers:
        # Both headlines give figures and none agree: a $1.1bn and a $2.2bn arms sale,
        # or 30 and 45 aircraft, are different events however alike the rest reads.
        score *= NUMBER_CONFLICT
    return score


# ---------------------------------------------------------------- stored encoding


def _encode_member(terms: Mapping[str, float]) -> str:
    # One space-separated string per member; "+" marks heavy terms. Terms never hold spaces.
    return " ".join(_HEAVY_MARK + t if w >= HEAVY else t for t, w in sorted(terms.items()))


def _decode_member(text: str) -> dict[str, float]:
    terms: dict[str, float] = {}
    for token in text.split():
        if token.startswith(_HEAVY_MARK):
            terms[token[1:]] = HEAVY
        elif token.startswith(_SUMMARY_MARK):
            terms[token] = NORMAL
        else:
            terms[token] = LIGHT if token in _LIGHT_TERMS else NORMAL
    return terms


def fingerprint(terms: Mapping[str, float]) -> int:
    """Stable 63-bit id of a term set (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(" ".join(sorted(terms)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def story_id_for(item_key: str) -> str:
    """Deterministic story id from the key of its first item."""
    return "s" + hashlib.blake2b(item_key.encode(), digest_size=10).hexdigest()


# ---------------------------------------------------------------- the clusterer

# Postings are kept sorted by (first_seen, story id), never by arrival order, so a
# clusterer rebuilt from the store orders (and truncates) them exactly like the live one.
_Posting = list[tuple[datetime, str]]


@dataclasses.dataclass(slots=True)
class _Entry:
    story: Story
    members: list[TermSet]
    keys: frozenset[str] = frozenset()  # indexed terms: union of the members' flat terms

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.story.first_seen, self.story.id)


class StoryClusterer:
    """Assigns items to stories first seen within `window` of the assignment time."""

    def __init__(self, stories: Iterable[Story], window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self._entries: dict[str, _Entry] = {}
        self._postings: dict[str, _Posting] = {}
        self._by_fingerprint: dict[int, _Entry] = {}
        self._by_item: dict[str, str] = {}
        self._expiry: list[tuple[datetime, str]] = []  # heap of (first_seen, story id)
        for story in stories:
            self._add(story, member_term_sets(story))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._entries

    def add_stored(self, story: Story) -> bool:
        """Index a story another worker stored since this clusterer was built; False if known."""
        if story.id in self._entries:
            return False
        self._add(story, member_term_sets(story))
        return True

    def assign(
        self, item: Item, topics: tuple[str, ...], severity: Severity, now: datetime
    ) -> tuple[Story, bool]:
        """The story `item` belongs to (updated) and whether that story is new."""
        self._expire(now)
        known = self._by_item.get(item.key)
        if known is not None:  # the same item again (a retry): nothing changes
            return self._entries[known].story, False
        terms = TermSet.of(item_terms(item))
        match = self._find(terms, item, now)
        if match is None:
            story = _new_story(item, terms.terms, topics, severity, now)
            self._add(story, [terms])
            return story, True
        return self._join(match, item, terms, topics, severity, now), False

    def best_match(self, item: Item, now: datetime) -> tuple[Story, float] | None:
        """The story `item` would join and its score, without changing anything."""
        terms = TermSet.of(item_terms(item))
        scored = self._score_candidates(terms, item, now)
        return (scored[0][1].story, scored[0][0]) if scored else None

    # -- lookup

    def _find(self, terms: TermSet, item: Item, now: datetime) -> _Entry | None:
        exact = self._by_fingerprint.get(fingerprint(terms.terms))
        if exact is not None and self._eligible(exact, item, now):
            return exact
        scored = self._score_candidates(terms, item, now)
        return scored[0][1] if scored and scored[0][0] >= THRESHOLD else None

    def _score_candidates(self, terms: TermSet, item: Item, now: datetime) -> list[tuple[float, _Entry]]:
        scored = []
        for story_id in self._candidates(terms):
            entry = self._entries[story_id]
            if self._eligible(entry, item, now):
                scored.append((max(similarity(terms, m) for m in entry.members), entry))
        # Highest score first; ties go to the older story, independent of arrival order.
        scored.sort(key=lambda pair: (-pair[0], pair[1].order))
        return scored

    def _candidates(self, terms: TermSet) -> list[str]:
        by_rarity = sorted(terms.flat, key=lambda t: (len(self._postings.get(t, ())), t))
        known = [t for t in by_rarity if t in self._postings]
        rare = [t for t in known if len(self._postings[t]) <= POSTING_CAP][:LOOKUP_TERMS]
        if len(rare) < 2:
            # Only common words: look among the newest stories that share the least common.
            rare += [t for t in known if len(self._postings[t]) > POSTING_CAP][: 2 - len(rare)]
        counts: dict[str, float] = {}
        for term in rare:
            posting = self._postings[term]
            # Rarer terms say more: a shared name must outrank a shared common word.
            weight = terms.flat[term] * math.log(1 + len(self._entries) / len(posting))
            for _, story_id in posting[-POSTING_CAP:]:
                counts[story_id] = counts.get(story_id, 0.0) + weight
        # Most shared weight first; the id breaks ties so the cut does not depend on order.
        ranked = sorted([(-weight, story_id) for story_id, weight in counts.items()])
        return [story_id for _, story_id in ranked[:MAX_VERIFY]]

    def _eligible(self, entry: _Entry, item: Item, now: datetime) -> bool:
        story = entry.story
        if story.first_seen < now - self.window:
            return False
        # A backlog item about an older event must not join a fresh story on similar words;
        # compare publication times (when both are known), not when Vigil happened to poll.
        published = item.published
        reference = story.published or story.first_seen
        return published is None or abs(published - reference) <= self.window

    # -- index maintenance

    def _add(self, story: Story, members: list[TermSet]) -> None:
        entry = _Entry(story, members)
        self._entries[story.id] = entry
        heapq.heappush(self._expiry, (story.first_seen, story.id))
        for key in story.item_keys:
            self._by_item[key] = story.id
        self._index(entry)

    def _index(self, entry: _Entry) -> None:
        keys = frozenset().union(*(m.flat for m in entry.members))
        for term in keys - entry.keys:
            bisect.insort(self._postings.setdefault(term, []), entry.order)
        for member in entry.members:
            fp = fingerprint(member.terms)
            holder = self._by_fingerprint.get(fp)
            if holder is None or entry.order < holder.order:
                self._by_fingerprint[fp] = entry
        entry.keys = keys

    def _expire(self, now: datetime) -> None:
        # Stories never become eligible again once out of the window, so drop them.
        cutoff = now - self.window
        while self._expiry and self._expiry[0][0] < cutoff:
            _, story_id = heapq.heappop(self._expiry)
            entry = self._entries.pop(story_id, None)
            if entry is not None:
                self._unindex(entry)

    def _unindex(self, entry: _Entry) -> None:
        for term in entry.keys:
            posting = self._postings[term]
            i = bisect.bisect_left(posting, entry.order)
            if i < len(posting) and posting[i] == entry.order:
                del posting[i]
            if not posting:
                del self._postings[term]
        for member in entry.members:
            fp = fingerprint(member.terms)
            if self._by_fingerprint.get(fp) is entry:
                del self._by_fingerprint[fp]
        for key in entry.story.item_keys:
            self._by_item.pop(key, None)

    # -- updating a story

    def _join(
        self, entry: _Entry, item: Item, terms: TermSet, topics: tuple[str, ...],
        severity: Severity, now: datetime,
    ) -> Story:
        story = entry.story
        outlet = item.source_name or item.source_id
        fp = fingerprint(terms.terms)
        if len(entry.members) < MAX_MEMBERS and all(fingerprint(m.terms) != fp for m in entry.members):
            entry.members.append(terms)
        entry.story = dataclasses.replace(
            confirmed_by(story, item, outlet),
            item_keys=(*story.item_keys, item.key),
            sources=story.sources if outlet in story.sources else (*story.sources, outlet),
            topics=tuple(sorted(set(story.topics) | set(topics))),
            severity=max(story.severity, severity),
            last_seen=max(story.last_seen, now),
            terms=tuple(_encode_member(m.terms) for m in entry.members),
            signature=tuple(fingerprint(m.terms) for m in entry.members),
        )
        self._by_item[item.key] = story.id
        self._index(entry)
        return entry.story


def headline_print(title: str) -> int:
    """Fingerprint of a headline's words, order and outlet suffix aside: a reprint of a
    wire story keeps the wire's headline, a separate report words its own."""
    return fingerprint({w: 1.0 for w in words(strip_outlet(title))})


def confirmed_by(story: Story, item: Item, outlet: str) -> Story:
    """The story with `item`'s confirmation counted: once per independent outlet, never for
    an official source (flagged instead) nor for a reprint of one wire story."""
    if not story.headline_prints and not story.official and story.sources:
        # A story stored before confirmations were counted: each outlet it has counts.
        story = dataclasses.replace(story, confirmations=len(story.sources))
    if item.provenance == provenance.OFFICIAL:
        return dataclasses.replace(story, official=True)
    printed = headline_print(item.title)
    is_wire = item.provenance == provenance.WIRE
    reprint = printed in story.wire_prints or (is_wire and printed in story.headline_prints)
    counts = outlet not in story.sources and not reprint
    return dataclasses.replace(
        story,
        confirmations=story.confirmations + (1 if counts else 0),
        wire_prints=(*story.wire_prints, printed) if is_wire else story.wire_prints,
        headline_prints=story.headline_prints if printed in story.headline_prints
        else (*story.headline_prints, printed),
    )


def member_term_sets(story: Story) -> list[TermSet]:
    """The remembered members of a stored story, as compared by `similarity`."""
    members = [_decode_member(text) for text in story.terms if text]
    # Stories written without terms (older records) still cluster by their title.
    return [TermSet.of(m) for m in members or [text_terms(strip_outlet(story.title))]]


def _new_story(
    item: Item, terms: dict[str, float], topics: tuple[str, ...], severity: Severity, now: datetime
) -> Story:
    outlet = item.source_name or item.source_id
    # Counted before the outlet is in `sources`: the first outlet confirms like any other.
    story = confirmed_by(Story(
        id=story_id_for(item.key),
        title=item.title,
        first_seen=now,
        last_seen=now,
        published=item.published,
        topics=tuple(sorted(set(topics))),
        severity=severity,
        item_keys=(item.key,),
        signature=(fingerprint(terms),),
        terms=(_encode_member(terms),),
        url=item.url,
    ), item, outlet)
    return dataclasses.replace(story, sources=(outlet,))
