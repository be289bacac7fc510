"""Group reports of the same event, from any outlet and in any language, into one story (pure).

How an item finds its story:

1. Its text becomes a small weighted *term set* (`item_terms`). Named things and figures
   become language-independent ids through `vigil.domain.entities`: "Shoigu", "Шойгу" and
   "绍伊古" are `person:shoigu`, "$2bn" and "20亿美元" `M:2e+09`, "17th" and "第十七"
   `O:17`, "sanctions", "санкции" and "制裁" `act:sanction` (what happened: the event's
   type). The rest of the headline gives surface terms, read through the classifier's
   folding (`vigil.domain.text.fold`, so traditional and simplified Chinese agree):
   lower-cased, stemmed words, Chinese character bigrams. The summary's lead adds its ids
   and a few names, marked as summary terms. The countries nearly every report in this
   domain names weigh little, names and figures much.
2. Candidates come from an inverted index over the *rarest* of its terms (few stories
   contain them), each posting list read up to a cap, so the work per item is bounded by
   constants, not by the number of stories in the window.
3. Each candidate is verified against every remembered member of the story (a few per
   story, kept in several languages) by a weighted Jaccard: over all terms when both are
   written in one script, over the language-independent ids when not. **Slot conflicts**
   veto a join whatever the score: the headline gives a figure, ordinal, year, place,
   company or programme, or a country acting, that the other report contradicts
   (a 17th and a 16th sanctions package; a Canadian and a British transit of the Taiwan
   Strait; drills in the Mediterranean and in the Sea of Japan). Reports whose topics
   share nothing are held to a higher bar.
4. **Publication-time window**: a report joins only a story one of whose members was
   published within `PUBLISHED_WINDOW` of it, and the bar rises with the gap, so a
   look-alike event days later starts its own story. Merging two events is worse than
   splitting one: every rule above errs on the side of a new story.

Only stories first seen inside the window are eligible, which is exactly what the
store's `stories_since(now - window)` loads, so a clusterer rebuilt from stored stories
decides the same way as the one that created them: everything it needs is in
`Story.terms` (member term sets, with their publication time and script) and
`Story.signature` (their fingerprints).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import heapq
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from vigil.domain import provenance
from vigil.domain.entities import (
    ACT_FAMILY,
    COMMON,
    EVENT_ACTS,
    Figures,
    Mention,
    entity_mentions,
    figures,
    kind_of,
    weight_of,
)
from vigil.domain.models import Item, Severity, Story
from vigil.domain.text import CJK, fold, strip_outlet, words

DEFAULT_WINDOW = timedelta(hours=48)
# Score at or above which an item joins a story (reports published close together).
# Calibrated on hand-written same-event / different-event pairs (tests/unit/test_stories.py)
# and the labeled story set (`make eval`).
THRESHOLD = 0.4
# Publication times further apart than this never join; from FULL_STRENGTH on the bar
# rises linearly to THRESHOLD + LATE_PENALTY at the window's end.
PUBLISHED_WINDOW = timedelta(hours=72)
FULL_STRENGTH = timedelta(hours=24)
LATE_PENALTY = 0.3
# Topics of the item and of the story share nothing: the bar is this much higher.
TOPIC_PENALTY = 0.2
# Member term sets remembered per story: enough for several wordings and languages.
MAX_MEMBERS = 6
# Index lookup bounds: posting lists longer than this are common words (or truncated to
# their newest entries when nothing rarer exists); at most this many terms are looked up.
POSTING_CAP = 200
LOOKUP_TERMS = 10
MAX_VERIFY = 40
MAX_SUMMARY_TERMS = 6  # surface names taken from a summary
SUMMARY_CHARS = 400  # the lead: where a summary names the event
SUMMARY_FACTOR = 0.6  # a summary term says less than a headline term
FIGURE_TOLERANCE = 0.02  # "499 other Americans" and "500 Americans" are one figure
# Shared weight beyond the ever-present countries a join needs: "Russia and China start
# naval drills" fits every joint exercise; a place, name, figure or specific act must
# agree too. Across languages only ids can agree, so the bar is higher there.
MIN_EVIDENCE = 1.2
MIN_EVIDENCE_ACROSS = 2.0

HEAVY = 2.0  # names and acronyms the entity table does not know
NORMAL = 0.6  # other words: the ids above carry most of what an event is
LIGHT = 0.3  # the countries everything here mentions
BIGRAM = 0.4  # a Chinese character bigram: several make one word

# Stored term markers: "~" a summary term; "=" before a weight; "@" member metadata.
_HEAVY_MARK = "+"  # the first encoding's heavy terms (stories stored before version 2)
_SUMMARY_MARK = "~"
_VERSION_MARK = "@v2"

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
# Capitalized words of a lead that name no event: datelines, agencies, days, titles.
_LEAD_NOISE_TEXT = """
monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
reuters xinhua tass ria afp ap dpa mia bloomberg cna kyodo yonhap efe ani pti sputnik interfax
inc corp ltd co llc group plc president minister ministry department spokesperson spokesman
spokeswoman secretary state council office official officials government
"""
_LEAD_NOISE = frozenset(_LEAD_NOISE_TEXT.split())

# Folding of common synonyms the entity table does not name, so two outlets that say
# "company" and "firm" still share the term.
_CANONICAL: Mapping[str, str] = {
    "company": "firm", "companies": "firm", "firms": "firm", "entity": "firm", "entities": "firm",
    "contractor": "firm", "contractors": "firm", "maker": "firm", "makers": "firm",
    "manufacturer": "firm", "manufacturers": "firm",
    "soldier": "troop", "soldiers": "troop", "troops": "troop",
    "conduct": "hold", "conducts": "hold", "stage": "hold", "stages": "hold",
    "adopt": "approve", "adopts": "approve", "agree": "approve", "agrees": "approve",
    "pass": "approve", "passes": "approve", "endorse": "approve", "endorses": "approve",
    "clear": "approve", "clears": "approve", "cleared": "approve",
    "spot": "detect", "spots": "detect", "track": "detect", "tracks": "detect",
    "slap": "impose", "slaps": "impose", "hit": "impose", "hits": "impose",
    "arms": "weapon", "weapons": "weapon", "defence": "defense",
}
_LIGHT_TERMS = frozenset({"china", "russia", "us", "taiwan", "ukraine", "eu", "uk", "japan", "korea"})

_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*\.?", re.UNICODE)
# Han, kana, hangul: scripts written without spaces between words.
_CJK = re.compile(f"[{CJK}\uac00-\ud7af]+")
# Chinese function characters that glue words together; splitting runs on them keeps
# bigrams like "军在" (army + "at") from diluting the overlap.
_CJK_GLUE = re.compile("[的了在是与及于被将对向和]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")

# Slots: kinds of named things of which one event has one (or a few) and a look-alike
# event another. A headline's value contradicted by the other report vetoes a join.
_FIGURE_SLOTS = ("M", "N", "O", "Y")
_NAME_SLOTS = ("region", "programme", "minor_actor", "company", "ship")
# Compared headline against report in both directions (see `slot_conflict`).
_CROSS_SLOTS = ("actor", "act", "region", "company", "programme", "material")
# Named in a lead, these are the event's own (a sea, an exercise); other names often
# come up in passing, so a headline must name them to count.
_LEAD_SLOTS = frozenset({"region", "programme", "ship"})
# Actors whose mere naming tells events apart: the countries (and the EU) other than the
# ones nearly every report here names, plus Ukraine, named by most Russia news.
_NOT_MINOR_ACTOR = COMMON | {"country:ukraine"}


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


def script_of(text: str) -> str:
    """"cjk", "cyrillic" or "latin": which reports can be compared word by word."""
    cjk = len(_CJK.findall(text))
    if cjk and sum(len(run) for run in _CJK.findall(text)) >= 4:
        return "cjk"
    return "cyrillic" if len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text)) else "latin"


_CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn"})
_CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})


def language_of(item: Item) -> str:
    """The item's language: the feed's word for it, unless the script of the headline
    says otherwise (a Russian headline in a feed declared English is Russian)."""
    declared = (item.lang or "").lower()
    script = script_of(item.title)
    if script == "cyrillic":
        return declared if declared in _CYRILLIC_LANGUAGES else "ru"
    if script == "cjk":
        return declared if declared in _CJK_LANGUAGES else "zh"
    return declared if declared and declared not in _CYRILLIC_LANGUAGES | _CJK_LANGUAGES else "en"


def _surface_terms(text: str) -> dict[str, float]:
    """Words and Chinese bigrams of folded text (names and figures already blanked out)."""
    terms: dict[str, float] = {}
    for run in _CJK.findall(_CJK_GLUE.sub(" ", text)):
        for gram in _cjk_bigrams(run):
            terms[gram] = BIGRAM
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


def _ids(found: list[Mention], figs: Figures) -> dict[str, float]:
    ids: dict[str, float] = {}
    for mention in found:
        for entity in mention.entities:
            ids[entity] = weight_of(entity)
    spans = [(m.start, m.end) for m in found]
    for figure, (start, end) in zip(figs.ids, figs.spans, strict=True):
        # "Tu-95" and "G7" name things; their digits are no figure.
        if figure and not any(s <= start and end <= e for s, e in spans):
            ids[figure] = weight_of(figure)
    return ids


def _blank(text: str, found: list[Mention], figs: Figures) -> str:
    """The text with named things and figures cut out (a separator keeps bigrams apart)."""
    pieces, last = [], 0
    for start, end in sorted([(m.start, m.end) for m in found] + list(figs.spans)):
        if start >= last:
            pieces.append(text[last:start])
            pieces.append(" | ")
            last = end
    pieces.append(text[last:])
    return "".join(pieces)


def text_terms(text: str) -> dict[str, float]:
    """Weighted terms of one piece of text (a headline or a summary): ids and surface terms."""
    text = fold(text)  # the classifier's folding, so both read one text alike
    found, figs = entity_mentions(text), figures(text)
    terms = _surface_terms(_blank(text, found, figs))
    terms.update(_ids(found, figs))
    return terms


def item_terms(item: Item) -> dict[str, float]:
    """The term set an item is compared by: headline terms plus the summary's ids and names."""
    outlet = item.source_name or item.source_id
    terms = text_terms(strip_outlet(item.title, outlet))
    extra = 0
    for term, weight in text_terms(item.summary[:SUMMARY_CHARS]).items():
        if term in terms:
            continue
        if ":" in term:  # an id: the lead names the event's people, places and figures
            terms[_SUMMARY_MARK + term] = round(weight * SUMMARY_FACTOR, 2)
        elif weight >= HEAVY and extra < MAX_SUMMARY_TERMS and term not in _LEAD_NOISE and not term.isdigit():
            # a name the table does not know
            terms[_SUMMARY_MARK + term] = NORMAL
            extra += 1
    return terms


# ---------------------------------------------------------------- similarity


def _slots_of(term: str) -> tuple[str, ...]:
    kind = kind_of(term)
    if kind in _FIGURE_SLOTS or kind in ("region", "programme", "company", "ship", "material"):
        return (kind,)
    if kind == "country" or term == "org:eu":
        return ("actor",) if term in _NOT_MINOR_ACTOR else ("actor", "minor_actor")
    if term in EVENT_ACTS:
        return ("act",)
    return ()


def _deed_family(act: str) -> str:
    return ACT_FAMILY.get(act, act)


def _slots(terms: Iterable[str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for term in terms:
        for slot in _slots_of(term):
            found.setdefault(slot, set()).add(term)
    return {slot: frozenset(values) for slot, values in found.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class TermSet:
    """A member's terms, with the views `similarity` compares, computed once."""

    terms: dict[str, float]
    title: dict[str, float]  # headline terms only
    flat: dict[str, float]  # headline + summary terms, summary marks removed
    title_ids: dict[str, float]  # the language-independent part of each view
    flat_ids: dict[str, float]
    title_slots: dict[str, frozenset[str]]  # named slot values of the headline
    all_slots: dict[str, frozenset[str]]  # ... and of headline + summary
    script: str = "latin"
    published: datetime | None = None

    @classmethod
    def of(cls, terms: dict[str, float], script: str = "latin", published: datetime | None = None) -> TermSet:
        title = {t: w for t, w in terms.items() if not t.startswith(_SUMMARY_MARK)}
        flat: dict[str, float] = {}
        # Summary terms match title terms of the other side too ("Kursk" in a lead vs a title).
        for term, weight in terms.items():
            key = term.removeprefix(_SUMMARY_MARK)
            flat[key] = max(weight, flat.get(key, 0.0))
        return cls(
            terms, title, flat,
            {t: w for t, w in title.items() if ":" in t}, {t: w for t, w in flat.items() if ":" in t},
            _slots(title), _slots(flat), script, published,
        )

    @property
    def has_summary(self) -> bool:
        return len(self.title) != len(self.terms)


def weighted_jaccard(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Shared weight over total weight; a shared term counts with its larger weight."""
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
    return shared / (sum(a.values()) + sum(b.values()) - own + shared)


def _same_figure(a: str, b: str) -> bool:
    if a == b:
        return True
    kind = a[0]
    if kind != b[0] or kind not in "MN":
        return False
    x, y = float(a[2:]), float(b[2:])
    return abs(x - y) <= FIGURE_TOLERANCE * max(x, y)


def _contradicts(mine: frozenset[str], theirs: frozenset[str] | None, slot: str) -> bool:
    """The headline's values of a slot appear nowhere in a report that has values of its own."""
    if not mine or not theirs:
        return False
    if slot in _FIGURE_SLOTS:
        return not any(_same_figure(a, b) for a in mine for b in theirs)
    return mine.isdisjoint(theirs)


def slot_conflict(a: TermSet, b: TermSet) -> str | None:
    """The slot on which two reports contradict each other (they are different events), if any.

    Figures: either headline's figure missing from the other report's figures of the kind.
    Names: the two reports name values of the slot and share none, and a headline names one
    (for a sea, a named exercise or a ship, the lead is enough). Named ships compare only
    within one script, since each language spells them its own way.
    Both ways: each headline names an actor, a sea, a company or a programme the other
    report never mentions, or deeds none of which the other mentions ("US sanctions Chinese
    firms" and "US sanctions Indian firms"; a visit and the sanctions over it).
    """
    for slot in _FIGURE_SLOTS:
        if _contradicts(a.title_slots.get(slot, frozenset()), b.all_slots.get(slot), slot) or _contradicts(
            b.title_slots.get(slot, frozenset()), a.all_slots.get(slot), slot
        ):
            return slot
    for slot in _NAME_SLOTS:
        if slot == "ship" and a.script != b.script:
            continue
        mine, theirs = a.all_slots.get(slot), b.all_slots.get(slot)
        if not mine or not theirs or not mine.isdisjoint(theirs):
            continue
        if slot in _LEAD_SLOTS or a.title_slots.get(slot) or b.title_slots.get(slot):
            return slot
    for slot in _CROSS_SLOTS:
        if _unknown_to(a, b, slot) and _unknown_to(b, a, slot):
            return slot
    if _arms_disagree(a, b):
        return "arm"
    return None


# Which arm a platform word points to: a joint bomber patrol and a joint naval patrol in
# the same sea and week are two events, however alike the headlines read.
_ARM = {"act:bomber": "air", "act:aircraft": "air", "act:naval": "sea", "act:warship": "sea",
        "act:submarine": "sea"}


def _arms(terms: Iterable[str]) -> frozenset[str]:
    return frozenset(_ARM[t] for t in terms if t in _ARM)


def _arms_disagree(a: TermSet, b: TermSet) -> bool:
    """Both reports name the arm involved, a headline among them, and they share none.

    A report naming ships and aircraft agrees with either; English "sea" reads as naval,
    so an air patrol "over the Sea of Japan" never vetoes: the rule errs towards joining.
    """
    mine, theirs = _arms(a.flat_ids), _arms(b.flat_ids)
    if not mine or not theirs or not (_arms(a.title_ids) or _arms(b.title_ids)):
        return False
    return mine.isdisjoint(theirs)


def _unknown_to(a: TermSet, b: TermSet, slot: str) -> bool:
    """A's headline names a value of the slot that B never mentions (a deed: no deed B mentions)."""
    mine = a.title_slots.get(slot)
    if not mine:
        return False
    theirs = b.all_slots.get(slot, frozenset())
    if slot == "act":
        return {_deed_family(x) for x in mine}.isdisjoint({_deed_family(x) for x in theirs})
    return not mine <= theirs


def similarity(a: TermSet, b: TermSet) -> float:
    """How alike two reports read, 0 when a slot conflict says they are different events.

    Word by word when both are written in one script; across scripts only the
    language-independent ids can be compared. Headlines alone, or headlines plus summary
    terms, whichever is higher, so an outlet without a summary is not penalized for it.
    """
    if slot_conflict(a, b) is not None:
        return 0.0
    if a.script == b.script:
        title_a, title_b, flat_a, flat_b = a.title, b.title, a.flat, b.flat
        needed = MIN_EVIDENCE
    else:
        title_a, title_b, flat_a, flat_b = a.title_ids, b.title_ids, a.flat_ids, b.flat_ids
        needed = MIN_EVIDENCE_ACROSS
    if _evidence(flat_a, flat_b) < needed:
        return 0.0
    score = weighted_jaccard(title_a, title_b)
    if a.has_summary or b.has_summary:
        score = max(score, weighted_jaccard(flat_a, flat_b))
    return score


def _evidence(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Shared weight that tells events apart: not the main countries, not a region."""
    if len(a) > len(b):
        a, b = b, a
    total = 0.0
    for term, weight in a.items():
        other = b.get(term)
        if other is not None and term not in COMMON and term not in _LIGHT_TERMS and not term.startswith("region:"):
            total += max(weight, other)
    return total


def required_score(gap: timedelta | None) -> float | None:
    """The score a join needs at this publication-time gap; None when too far apart to join."""
    if gap is None or gap <= FULL_STRENGTH:
        return THRESHOLD
    if gap > PUBLISHED_WINDOW:
        return None
    late = (gap - FULL_STRENGTH) / (PUBLISHED_WINDOW - FULL_STRENGTH)
    return THRESHOLD + LATE_PENALTY * late


# ---------------------------------------------------------------- stored encoding


def _encode_member(member: TermSet) -> str:
    # One space-separated string per member: a version mark, metadata, then "term=weight".
    meta = [_VERSION_MARK, f"@s={member.script}"]
    if member.published is not None:
        meta.append(f"@p={int(member.published.timestamp()) // 60}")
    return " ".join([*meta, *(f"{t}={w:g}" for t, w in sorted(member.terms.items()))])


def _decode_member(text: str) -> TermSet:
    tokens = text.split()
    if tokens and tokens[0] == _VERSION_MARK:
        terms: dict[str, float] = {}
        script, published = "latin", None
        for token in tokens[1:]:
            if token.startswith("@s="):
                script = token[3:]
            elif token.startswith("@p="):
                published = datetime.fromtimestamp(int(token[3:]) * 60, UTC)
            else:
                term, _, weight = token.rpartition("=")
                terms[term] = float(weight)
        return TermSet.of(terms, script, published)
    # The first encoding: "+" marks heavy terms, "~" summary terms, no weights.
    old: dict[str, float] = {}
    for token in tokens:
        if token.startswith(_HEAVY_MARK):
            old[token[1:]] = HEAVY
        elif token.startswith(_SUMMARY_MARK):
            old[token] = NORMAL
        else:
            old[token] = LIGHT if token in _LIGHT_TERMS else NORMAL
    return TermSet.of(old, script_of(" ".join(old)))


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
        terms = member_of(item)
        match = self._find(terms, item, topics, now)
        if match is None:
            story = _new_story(item, terms, topics, severity, now)
            self._add(story, [terms])
            return story, True
        return self._join(match, item, terms, topics, severity, now), False

    def best_match(self, item: Item, now: datetime) -> tuple[Story, float] | None:
        """The story `item` would join and its score, without changing anything."""
        terms = member_of(item)
        scored = self._score_candidates(terms, item, now)
        return (scored[0][2].story, scored[0][0]) if scored else None

    # -- lookup

    def _find(self, terms: TermSet, item: Item, topics: tuple[str, ...], now: datetime) -> _Entry | None:
        exact = self._by_fingerprint.get(fingerprint(terms.terms))
        if exact is not None and self._eligible(exact, item, now) and required_score(_gap(terms, exact)) is not None:
            return exact
        for score, required, entry in self._score_candidates(terms, item, now):
            if topics and entry.story.topics and set(topics).isdisjoint(entry.story.topics):
                required += TOPIC_PENALTY
            if score >= required:
                return entry
        return None

    def _score_candidates(self, terms: TermSet, item: Item, now: datetime) -> list[tuple[float, float, _Entry]]:
        """(score, score needed, story) of each eligible candidate, best first."""
        scored = []
        for story_id in self._candidates(terms):
            entry = self._entries[story_id]
            if not self._eligible(entry, item, now):
                continue
            required = required_score(_gap(terms, entry))
            if required is not None:
                scored.append((max(similarity(terms, m) for m in entry.members), required, entry))
        # Widest margin over the bar first (a story published closer in time needs less),
        # ties to the older story, independent of arrival order.
        scored.sort(key=lambda triple: (triple[1] - triple[0], triple[2].order))
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
        # Publication times are compared by `_gap`; this is when Vigil first saw the story.
        return entry.story.first_seen >= now - self.window

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
        _remember(entry.members, terms)
        entry.story = dataclasses.replace(
            confirmed_by(story, item, outlet),
            item_keys=(*story.item_keys, item.key),
            sources=story.sources if outlet in story.sources else (*story.sources, outlet),
            topics=tuple(sorted(set(story.topics) | set(topics))),
            severity=max(story.severity, severity),  # the highest of its reports
            last_seen=max(story.last_seen, now),
            languages=_with(story.languages, language_of(item)),
            terms=tuple(_encode_member(m) for m in entry.members),
            signature=tuple(fingerprint(m.terms) for m in entry.members),
        )
        self._by_item[item.key] = story.id
        self._index(entry)
        return entry.story


def member_of(item: Item) -> TermSet:
    """An item as a story member: its terms, script and publication time."""
    return TermSet.of(item_terms(item), script_of(item.title), item.published)


def headline_print(title: str) -> int:
    """Fingerprint of a headline's words, order and outlet suffix aside: a reprint of a
    wire story keeps the wire's headline, a separate report words its own."""
    return fingerprint({w: 1.0 for w in words(strip_outlet(title))})


def confirmed_by(story: Story, item: Item, outlet: str) -> Story:
    """The story with `item`'s confirmation counted: once per independent outlet, never for
    an official source (flagged instead), a reprint of one wire story, or a second outlet
    of an owner already counted."""
    if not story.headline_prints and not story.official and story.sources:
        # A story stored before confirmations were counted: each outlet it has counts.
        story = dataclasses.replace(story, confirmations=len(story.sources))
    if item.provenance == provenance.OFFICIAL:
        return dataclasses.replace(story, official=True)
    printed = headline_print(item.title)
    is_wire = item.provenance == provenance.WIRE
    reprint = printed in story.wire_prints or (is_wire and printed in story.headline_prints)
    owner = item.owner or outlet
    counts = outlet not in story.sources and owner not in story.owners and not reprint
    return dataclasses.replace(
        story,
        confirmations=story.confirmations + (1 if counts else 0),
        owners=(*story.owners, owner) if counts else story.owners,
        wire_prints=(*story.wire_prints, printed) if is_wire else story.wire_prints,
        headline_prints=story.headline_prints if printed in story.headline_prints
        else (*story.headline_prints, printed),
    )


def member_term_sets(story: Story) -> list[TermSet]:
    """The remembered members of a stored story, as compared by `similarity`."""
    members = [_decode_member(text) for text in story.terms if text]
    if members:
        return members
    # Stories written without terms (older records) still cluster by their title.
    title = strip_outlet(story.title)
    return [TermSet.of(text_terms(title), script_of(title), story.published)]


def _gap(terms: TermSet, entry: _Entry) -> timedelta | None:
    """Publication-time gap to the story's nearest member; None when the item is undated."""
    if terms.published is None:
        return None
    times = [m.published for m in entry.members if m.published is not None]
    # A story of undated reports is as old as Vigil's first sight of it.
    times = times or [entry.story.published or entry.story.first_seen]
    return min(abs(terms.published - t) for t in times)


def _remember(members: list[TermSet], terms: TermSet) -> None:
    """Keep a new member's wording, preferring a script the story has no member in yet."""
    fp = fingerprint(terms.terms)
    if any(fingerprint(m.terms) == fp for m in members):
        return
    if len(members) < MAX_MEMBERS:
        members.append(terms)
        return
    scripts = [m.script for m in members]
    if terms.script in scripts:
        return
    # Full: a report in a new language replaces the latest of the most common script.
    crowded = max(set(scripts), key=scripts.count)
    members[len(scripts) - 1 - scripts[::-1].index(crowded)] = terms


def _with(languages: tuple[str, ...], language: str) -> tuple[str, ...]:
    return languages if language in languages else (*languages, language)


def _new_story(
    item: Item, terms: TermSet, topics: tuple[str, ...], severity: Severity, now: datetime
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
        signature=(fingerprint(terms.terms),),
        terms=(_encode_member(terms),),
        url=item.url,
        languages=(language_of(item),),
    ), item, outlet)
    return dataclasses.replace(story, sources=(outlet,))
