"""The topic query language: phrases, terms, AND / OR / NOT, parentheses, NEAR/n, prefix*.

Grammar (precedence NOT > NEAR > AND > OR; adjacent operands are joined by an
implicit AND, so `pla drills` means `pla AND drills`)::

    query := or
    or    := and ("OR" and)*
    and   := near (["AND"] near)*
    near  := not ("NEAR/" n not)*
    not   := "NOT" not | atom
    atom  := TERM | "PHRASE" | @name | "(" or ")"

Operators are upper case; lower-case `and`, `or`, `near` are ordinary words. Text is
lower-cased and split into words at any punctuation (so curly and straight quotes,
dashes and hyphens all separate words), `ё` reads as `е` and traditional Chinese
characters are folded to simplified ones, so one term list serves all spellings.
Latin and Cyrillic terms match whole words (a trailing `*` matches any word that
starts with the prefix); Chinese characters are single "words", so a Chinese term
matches anywhere as a substring and NEAR/n counts characters for it.

Queries are compiled into one shared token index (`QueryEngine`): an item is
tokenized once, every term of every query is found in one pass, and the boolean
structure is evaluated over the set of terms that occurred. NEAR compares sorted
positions, and every query's work on an item is counted against an allowance
(`Scan.allow`), past which it raises QueryTooCostly instead of running on.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import compress, pairwise, repeat
from operator import itemgetter
from typing import Any

from vigil.domain.text import CJK_RE as _CJK_RE
from vigil.domain.text import TOKEN_RE, normalize_text, tokenize
from vigil.domain.text import words as _words

# Title and summary positions are kept this far apart so a phrase or NEAR never
# spans the boundary between them; NEAR distances are capped below it.
_FIELD_GAP = 2000
MAX_NEAR = 1000
_MAX_DEPTH = 64
_MEMO_LIMIT = 200_000
# Work one query may do on one item unless the caller allows another amount
# (`Scan.allow`), counted in spans that NEAR compares or keeps. The scan and set
# tests are linear in the item and not counted: NEAR joins are the one part that can
# grow faster than the text (a chain of NEARs over a common word). A shipped topic
# uses at most ~150 units on a dev or generalization item and ~25,000 on an item
# that repeats its words to the size limit; 200,000 units take about 60 ms.
DEFAULT_WORK = 200_000
# A NEAR whose sides multiply to at most this many pairs compares every pair: on
# small inputs (nearly every NEAR on real news) that beats sorting and bisecting.
_SMALL_JOIN = 64
_SEPARATOR = "\x00"  # between title and summary tokens; never a query word
# Leaf n as bit n of an item's mask of found leaves (`_Found.mask`).
_BIT = (1).__lshift__
# A term list of at least this many terms is tested against an item with one AND of
# bit masks: `isdisjoint` looks up every term found in the item (~20) for a list longer
# than that, about 250 ns, where the AND takes ~50 ns whatever the sizes.
_MASK_TEST_MIN = 6
_SURFACE = itemgetter(2)  # the text of an occurrence (start, end, text)

_NEAR_RE = re.compile(r"NEAR/(\d+)\Z")


class QueryError(ValueError):
    """A malformed query; `str()` shows the problem, the query and a caret under it."""

    def __init__(self, problem: str, source: str, position: int) -> None:
        self.problem = problem
        self.source = source
        self.position = max(0, min(position, len(source)))
        # Control characters would break the caret alignment; show them as spaces.
        shown = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in source)
        caret = " " * self.position + "^"
        super().__init__(f"{problem} at position {self.position + 1}\n  {shown}\n  {caret}")

    @property
    def brief(self) -> str:
        """One line: the problem, where, and the query (for config errors and Slack)."""
        return f"{self.problem} at position {self.position + 1} in query {self.source!r}"


# ---------------------------------------------------------------- syntax tree

Pattern = tuple[tuple[str, bool], ...]  # (word, is_prefix) per token
# A phrase as the scanner checks it: leaf id, length in words, the offset of its
# anchor word (the one it is indexed by), the (offset, word, is_prefix) still to
# compare besides the words it was found by, and its text when fixed.
_Phrase = tuple[int, int, int, tuple[tuple[int, str, bool], ...], str | None]


@dataclass(frozen=True, slots=True)
class Leaf:
    pattern: Pattern
    text: str


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int


Node = Leaf | And | Or | Not | Near


# ---------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # TERM PHRASE DEF AND OR NOT NEAR LPAREN RPAREN END
    text: str
    pos: int
    distance: int = 0


_SPECIAL = '()"'


def _lex(source: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch == '"':
            end = source.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated phrase: missing closing quote", source, i)
            toks.append(_Tok("PHRASE", source[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < n and not source[i].isspace() and source[i] not in _SPECIAL:
                i += 1
            toks.append(_word_token(source[start:i], start, source))
    toks.append(_Tok("END", "", n))
    return toks


def _word_token(word: str, pos: int, source: str) -> _Tok:
    if word in ("AND", "OR", "NOT"):
        return _Tok(word, word, pos)
    if word.startswith("NEAR"):
        m = _NEAR_RE.match(word)
        if not m:
            raise QueryError("NEAR needs a distance in words, like NEAR/5", source, pos)
        distance = int(m.group(1))
        if distance > MAX_NEAR:
            raise QueryError(f"NEAR distance must be at most {MAX_NEAR}", source, pos)
        return _Tok("NEAR", word, pos, distance)
    if word.startswith("@"):
        return _Tok("DEF", word[1:], pos)
    return _Tok("TERM", word, pos)


# ---------------------------------------------------------------- parser

_STARTS_OPERAND = frozenset({"TERM", "PHRASE", "DEF", "LPAREN", "NOT"})


class _Parser:
    def __init__(self, source: str, defs: Mapping[str, str], expanding: tuple[str, ...]) -> None:
        self.source = source
        self.defs = defs
        self.expanding = expanding
        self.toks = _lex(source)
        self.i = 0
        self.depth = 0

    def error(self, problem: str, tok: _Tok | None = None) -> QueryError:
        return QueryError(problem, self.source, (tok or self.peek()).pos)

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error("empty query")
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise self.error("unexpected ')' without a matching '('")
        if tok.kind != "END":
            raise self.error(f"unexpected {tok.text!r}")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_near()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
            elif kind not in _STARTS_OPERAND:
                break
            children.append(self.parse_near())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_near(self) -> Node:
        left = self.parse_not()
        while self.peek().kind == "NEAR":
            op = self.take()
            right = self.parse_not()
            for side in (left, right):
                if not _proximity_operand(side):
                    raise self.error("NEAR works on terms, phrases and OR-groups, not on AND or NOT", op)
            left = Near(left, right, op.distance)
        return left

    def parse_not(self) -> Node:
        if self.peek().kind == "NOT":
            self.take()
            return Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Node:
        tok = self.take()
        if tok.kind == "TERM":
            return _leaf(tok.text, tok.pos, self.source, phrase=False)
        if tok.kind == "PHRASE":
            return _leaf(tok.text, tok.pos, self.source, phrase=True)
        if tok.kind == "DEF":
            return self.expand(tok)
        if tok.kind == "LPAREN":
            return self.group(tok)
        if tok.kind == "END":
            raise self.error("query ends too early: expected a term, a phrase or '('", tok)
        if tok.kind == "RPAREN":
            raise self.error("unexpected ')': expected a term, a phrase or '('", tok)
        raise self.error(f"expected a term, a phrase or '(' before {tok.text}", tok)

    def group(self, open_tok: _Tok) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(f"parentheses nested deeper than {_MAX_DEPTH}", open_tok)
        if self.peek().kind == "RPAREN":
            raise self.error("empty parentheses", open_tok)
        node = self.parse_or()
        if self.peek().kind != "RPAREN":
            raise self.error("missing ')' to close this '('", open_tok)
        self.take()
        self.depth -= 1
        return node

    def expand(self, tok: _Tok) -> Node:
        name = tok.text
        if name not in self.defs:
            known = ", ".join("@" + k for k in sorted(self.defs)) or "none"
            raise self.error(f"unknown term list @{name} (defined: {known})", tok)
        if name in self.expanding:
            raise self.error(f"term list @{name} refers to itself", tok)
        try:
            return parse(self.defs[name], self.defs, (*self.expanding, name))
        except QueryError as exc:
            # Point at the reference here, and say what is wrong inside the list.
            raise self.error(f"in @{name}: {exc.brief}", tok) from None


def _proximity_operand(node: Node) -> bool:
    if isinstance(node, Leaf | Near):
        return True
    if isinstance(node, Or):
        return all(_proximity_operand(c) for c in node.children)
    return False


def _leaf(text: str, pos: int, source: str, *, phrase: bool) -> Leaf:
    words = text.split() if phrase else [text]
    pattern: list[tuple[str, bool]] = []
    for word in words:
        prefix = word.endswith("*")
        core = word[:-1] if prefix else word
        if "*" in core:
            raise QueryError("'*' is only allowed at the end of a word", source, pos)
        tokens = tokenize(normalize_text(core))
        if not tokens:
            if phrase and not prefix and not core.strip("'-.,"):
                continue  # stray punctuation inside a phrase is harmless
            raise QueryError(f"{word!r} has no letters or digits to match", source, pos)
        if prefix:
            last = tokens[-1]
            if _CJK_RE.match(last):
                raise QueryError("Chinese terms need no '*': they already match inside words", source, pos)
            if len(last) < 2:
                raise QueryError("a prefix before '*' needs at least 2 letters", source, pos)
        pattern.extend((t, False) for t in tokens[:-1])
        pattern.append((tokens[-1], prefix))
    if not pattern:
        raise QueryError("empty phrase", source, pos)
    return Leaf(tuple(pattern), text)


def parse(source: str, defs: Mapping[str, str] | None = None, _expanding: tuple[str, ...] = ()) -> Node:
    """The syntax tree of a query; raises QueryError pointing at the problem."""
    if not isinstance(source, str):
        raise QueryError("a query must be text", "", 0)
    # Slack and word processors turn quotes into curly ones; fold them (1:1, so
    # error positions still point into what the user typed).
    source = source.translate(_QUOTE_FOLD)
    return _Parser(source, defs or {}, _expanding).parse()


_QUOTE_FOLD = str.maketrans({**dict.fromkeys("“”„‟«»", '"')})


def expand(source: str, defs: Mapping[str, str], _expanding: tuple[str, ...] = ()) -> str:
    """The query text with every `@name` replaced by its term list, in parentheses.

    Topics files name shared term lists once; expanding them makes each topic's
    query self-contained (it can be shown, stored or edited on its own).
    """
    source = source.translate(_QUOTE_FOLD)
    out: list[str] = []
    last = 0
    for tok in _lex(source):
        if tok.kind != "DEF":
            continue
        if tok.text not in defs:
            known = ", ".join("@" + k for k in sorted(defs)) or "none"
            raise QueryError(f"unknown term list @{tok.text} (defined: {known})", source, tok.pos)
        if tok.text in _expanding:
            raise QueryError(f"term list @{tok.text} refers to itself", source, tok.pos)
        try:
            inner = expand(defs[tok.text], defs, (*_expanding, tok.text))
        except QueryError as exc:
            raise QueryError(f"in @{tok.text}: {exc.brief}", source, tok.pos) from None
        out.append(source[last : tok.pos])
        out.append(f"({inner})")
        last = tok.pos + 1 + len(tok.text)
    out.append(source[last:])
    return "".join(out)


_LOWER_OPERATOR = re.compile(r"(?:and|or|not|near/\d+)\Z", re.IGNORECASE | re.ASCII)


def operators_any_case(source: str) -> str:
    """The query with `and`, `or`, `not` and `near/n` in any case read as operators.

    For queries typed in Slack, where nobody expects lower-case `or` to be a search
    word: `taiwan or penghu` becomes `taiwan OR penghu`. Quoted text is left alone, so
    `"or"` still searches for the word. Positions are unchanged (error carets still fit).
    """
    source = source.translate(_QUOTE_FOLD)
    try:
        tokens = _lex(source)
    except QueryError:
        return source  # the parser reports the problem, with its position
    out = list(source)
    for tok in tokens:
        if tok.kind == "TERM" and _LOWER_OPERATOR.match(tok.text):
            out[tok.pos : tok.pos + len(tok.text)] = tok.text.upper()
    return "".join(out)


# ---------------------------------------------------------------- matching

# Per-leaf occurrences found in one item: (start, end, surface text).
Hits = dict[int, list[tuple[int, int, str]]]
# Where a node of a query matched: (start, end, the leaves that matched there).
_Span = tuple[int, int, tuple[int, ...]]


# What one token can be: the single-word leaves it is, and the phrases anchored at it,
# indexed by the word after it or else the word before it (phrases with neither exact
# are checked on every occurrence); None when it anchors no phrase.
_Phrases = tuple[dict[str, tuple[_Phrase, ...]], dict[str, tuple[_Phrase, ...]], tuple[_Phrase, ...]]
_Plan = tuple[tuple[int, ...], _Phrases | None]


# Stands for "not learnt yet" in the plan memo (compared by identity).
_UNSEEN: object = object()


class _Scanner:
    """Finds every leaf of every query in one pass over an item's tokens.

    News vocabulary repeats, so what each distinct token can start is worked out once
    and memoized (`None` for the many tokens that start nothing). An item then costs
    one dictionary lookup per token, plus work on the few tokens that matter; each
    distinct token's occurrences are collected once and shared by the leaves it is.
    """

    def __init__(self) -> None:
        self.patterns: list[Pattern] = []
        self._ids: dict[Pattern, int] = {}
        # Leaves by their anchor word: the word itself for single words; for phrases
        # the longest exact word (longer words are rarer: "to add" is found at "add",
        # "s-400" at "400", not at every "to" or possessive "s").
        self._anchor_exact: dict[str, list[int]] = {}
        self._anchor_prefix: dict[str, list[int]] = {}
        self._prefix_lengths: list[int] = []
        self.phrases: set[int] = set()  # leaves of more than one word
        self._plans: dict[str, object] = {}  # token -> _Plan | None (memo)

    def add(self, pattern: Pattern) -> int:
        if pattern in self._ids:
            return self._ids[pattern]
        leaf = len(self.patterns)
        self.patterns.append(pattern)
        if len(pattern) > 1:
            self.phrases.add(leaf)
        self._ids[pattern] = leaf
        word, prefix = pattern[_anchor(pattern)]
        table = self._anchor_prefix if prefix else self._anchor_exact
        table.setdefault(word, []).append(leaf)
        if prefix and len(word) not in self._prefix_lengths:
            # Kept sorted as leaves come: recomputing it per leaf made compiling
            # n custom topics cost n^2.
            insort(self._prefix_lengths, len(word))
        self._plans.clear()
        return leaf

    def _learn(self, token: str) -> _Plan | None:
        """What `token` can be (called by the memo for each new distinct token)."""
        found = list(self._anchor_exact.get(token, ()))
        for size in self._prefix_lengths:
            if size > len(token):
                break
            found.extend(self._anchor_prefix.get(token[:size], ()))
        singles: list[int] = []
        by_next: dict[str, list[_Phrase]] = {}
        by_prev: dict[str, list[_Phrase]] = {}
        loose: list[_Phrase] = []
        for leaf in found:
            pattern = self.patterns[leaf]
            size = len(pattern)
            if size == 1:
                singles.append(leaf)
                continue
            # A phrase of exact words always reads the same; one with a prefix word
            # takes its text from the item.
            surface = None if any(prefix for _, prefix in pattern) else _join([w for w, _ in pattern])
            k = _anchor(pattern)
            if k + 1 < size and not pattern[k + 1][1]:
                table, known = by_next.setdefault(pattern[k + 1][0], []), (k, k + 1)
            elif k > 0 and not pattern[k - 1][1]:
                table, known = by_prev.setdefault(pattern[k - 1][0], []), (k, k - 1)
            else:
                table, known = loose, (k,)
            checks = tuple((j, w, p) for j, (w, p) in enumerate(pattern) if j not in known)
            table.append((leaf, size, k, checks, surface))
        phrases = None
        if by_next or by_prev or loose:
            phrases = (
                {w: tuple(v) for w, v in by_next.items()},
                {w: tuple(v) for w, v in by_prev.items()},
                tuple(loose),
            )
        return (tuple(singles), phrases) if found else None

    def scan(self, tokens: list[str], title_end: int) -> _Found:
        """Occurrences of every leaf; tokens after `title_end` (the summary) are shifted
        by a gap so that no NEAR reaches from the title into the summary."""
        occ: Hits = {}
        words: dict[str, tuple[tuple[int, ...], list[tuple[int, int, str]]]] = {}
        n = len(tokens)
        # One memo lookup per token, in C; an unseen token is stored as _UNSEEN by
        # setdefault, which grows the memo, so the (rare) learning pass is needed
        # only when the size changed. Most tokens start nothing (plan None), and
        # `compress` skips them in C.
        memo = self._plans
        known = len(memo)
        plans: list[Any] = list(map(memo.setdefault, tokens, repeat(_UNSEEN)))
        if len(memo) != known:
            if len(memo) > _MEMO_LIMIT:
                memo.clear()  # untrusted text can hold any number of distinct words
            for i, plan in enumerate(plans):
                if plan is _UNSEEN:
                    token = tokens[i]
                    learnt = memo.get(token, _UNSEEN)
                    if learnt is _UNSEEN:
                        learnt = memo[token] = self._learn(token)
                    plans[i] = learnt
        for i in compress(range(n), plans):
            token = tokens[i]
            singles, phrases = plans[i]  # type: ignore[misc]
            pos = i if i < title_end else i + _FIELD_GAP
            if singles:
                entry = words.get(token)
                if entry is None:
                    words[token] = (singles, [(pos, pos + 1, token)])
                else:
                    entry[1].append((pos, pos + 1, token))
            if phrases is None:
                continue
            by_next, by_prev, candidates = phrases
            if by_next and i + 1 < n:
                more = by_next.get(tokens[i + 1])
                if more:
                    candidates = more + candidates
            if by_prev and i > 0:
                more = by_prev.get(tokens[i - 1])
                if more:
                    candidates = more + candidates
            for leaf, size, k, checks, surface in candidates:
                start = i - k
                if checks and not _rest_matches(checks, size, tokens, start, n):
                    continue
                if surface is None:
                    surface = _join(tokens[start : start + size])
                # A phrase never spans the separator, so it lies in the anchor's field.
                begin = start if i < title_end else start + _FIELD_GAP
                occ.setdefault(leaf, []).append((begin, begin + size, surface))
        # A word's occurrence list is shared by the leaves it is; a prefix leaf that
        # several words match merges theirs by position.
        for leaves, found in words.values():
            for leaf in leaves:
                earlier = occ.get(leaf)
                occ[leaf] = found if earlier is None else sorted(earlier + found)
        return _Found(occ)


def _anchor(pattern: Pattern) -> int:
    """The word a pattern is indexed by: its longest exact word, else its first."""
    exact = [(len(word), -k) for k, (word, prefix) in enumerate(pattern) if not prefix]
    return -max(exact)[1] if exact else 0


def _rest_matches(checks: tuple[tuple[int, str, bool], ...], size: int, tokens: list[str], i: int, n: int) -> bool:
    """Whether the words of a phrase not yet compared (`checks`) are in place for a
    phrase starting at `i`."""
    if i < 0 or i + size > n:
        return False
    for k, word, prefix in checks:
        token = tokens[i + k]
        if not (token.startswith(word) if prefix else token == word):
            return False
    return True


def _join(tokens: list[str]) -> str:
    """Words joined with spaces, except between CJK characters (written without them)."""
    out = tokens[0]
    for prev, token in pairwise(tokens):
        both_cjk = _CJK_RE.match(prev) and _CJK_RE.match(token)
        out += token if both_cjk else " " + token
    return out


class QueryTooCostly(Exception):
    """A query needed more work on one item than it was allowed (see `Scan.allow`)."""


class _Found:
    """An item's occurrences per leaf, with the set of leaves for fast set tests, and
    the work the query being evaluated may still do on it."""

    __slots__ = ("keys", "mask", "occ", "work")

    def __init__(self, occ: Hits) -> None:
        self.occ = occ
        self.work = DEFAULT_WORK
        self.index()

    def index(self) -> None:
        """The leaves found, as a set and as a bit mask (bit n for leaf n), after `occ` changed."""
        self.keys = frozenset(self.occ)
        # Distinct powers of two: their sum is their union.
        self.mask = sum(map(_BIT, self.occ))

    def spend(self, units: int) -> None:
        """Count work before doing it; raises QueryTooCostly when the allowance runs out."""
        self.work -= units
        if self.work < 0:
            raise QueryTooCostly(f"query needs more than its allowance of work on this item ({units} units asked)")


class _Eval:
    """Compiled node: `test` decides, `evidence` lists the leaves that made it true."""

    __slots__ = ()

    def test(self, hits: _Found) -> bool:
        raise NotImplementedError

    def evidence(self, hits: _Found, out: list[int]) -> None:
        raise NotImplementedError

    def spans(self, hits: _Found) -> list[_Span]:
        raise NotImplementedError

    def leaves(self) -> set[int]:
        raise NotImplementedError


class _LeafEval(_Eval):
    __slots__ = ("leaf",)

    def __init__(self, leaf: int) -> None:
        self.leaf = leaf

    def test(self, hits: _Found) -> bool:
        return self.leaf in hits.keys

    def evidence(self, hits: _Found, out: list[int]) -> None:
        out.append(self.leaf)

    def spans(self, hits: _Found) -> list[_Span]:
        return [(s, e, (self.leaf,)) for s, e, _ in hits.occ.get(self.leaf, ())]

    def leaves(self) -> set[int]:
        return {self.leaf}


class _AnyEval(_Eval):
    """An OR of plain terms: one set test instead of a walk over the children."""

    __slots__ = ("_last_hits", "_last_spans", "ids")

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = frozenset(ids)
        # A term list is shared by several NEARs (@russia, @china ...): its spans
        # for the last item are kept, as in _NearEval.
        self._last_hits: _Found | None = None
        self._last_spans: list[_Span] = []

    def test(self, hits: _Found) -> bool:
        return not self.ids.isdisjoint(hits.keys)

    def evidence(self, hits: _Found, out: list[int]) -> None:
        out.extend(self.ids.intersection(hits.keys))

    def spans(self, hits: _Found) -> list[_Span]:
        if hits is self._last_hits:
            return self._last_spans
        occ = hits.occ
        self._last_spans = [(s, e, (leaf,)) for leaf in self.ids.intersection(hits.keys) for s, e, _ in occ[leaf]]
        self._last_hits = hits
        return self._last_spans

    def leaves(self) -> set[int]:
        return set(self.ids)


class _OrEval(_Eval):
    __slots__ = ("children",)

    def __init__(self, children: list[_Eval]) -> None:
        self.children = children

    def test(self, hits: _Found) -> bool:
        # Explicit loops on the hot path: any()/all() over a generator cost ~2x more.
        for c in self.children:  # noqa: SIM110
            if c.test(hits):
                return True
        return False

    def evidence(self, hits: _Found, out: list[int]) -> None:
        for c in self.children:
            if c.test(hits):
                c.evidence(hits, out)

    def spans(self, hits: _Found) -> list[_Span]:
        return [span for c in self.children for span in c.spans(hits)]

    def leaves(self) -> set[int]:
        return set().union(*(c.leaves() for c in self.children))


class _AndEval(_Eval):
    __slots__ = ("children",)

    def __init__(self, children: list[_Eval]) -> None:
        self.children = children

    def test(self, hits: _Found) -> bool:
        for c in self.children:  # noqa: SIM110
            if not c.test(hits):
                return False
        return True

    def evidence(self, hits: _Found, out: list[int]) -> None:
        for c in self.children:
            c.evidence(hits, out)

    def leaves(self) -> set[int]:
        return set().union(*(c.leaves() for c in self.children))


class _NotEval(_Eval):
    __slots__ = ("child",)

    def __init__(self, child: _Eval) -> None:
        self.child = child

    def test(self, hits: _Found) -> bool:
        return not self.child.test(hits)

    def evidence(self, hits: _Found, out: list[int]) -> None:
        return  # an absence is not evidence

    def leaves(self) -> set[int]:
        return set()  # terms under NOT never count for an item


class _NearEval(_Eval):
    __slots__ = ("_closed", "_closed_hits", "_last_hits", "_last_spans", "distance", "left", "right")

    def __init__(self, left: _Eval, right: _Eval, distance: int) -> None:
        self.left, self.right, self.distance = left, right, distance
        # The spans of the last item: test, evidence and enclosing NEARs ask again.
        # Holding the hits dict keeps its identity from being reused by a later item.
        self._last_hits: _Found | None = None
        self._last_spans: list[_Span] = []
        self._closed_hits: _Found | None = None
        self._closed = False

    def test(self, hits: _Found) -> bool:
        if hits is self._last_hits:
            return bool(self._last_spans)
        return self.left.test(hits) and self.right.test(hits) and bool(self.spans(hits))

    def close(self, hits: _Found) -> bool:
        """Whether some occurrences of both sides are close (both sides known to occur).

        Most NEARs tested are false, or true without their spans ever being asked
        for (under NOT, or in a topic that fails elsewhere): a plain search that stops
        at the first close pair is cheaper than building every span.
        """
        if hits is self._last_hits:
            return bool(self._last_spans)
        if hits is self._closed_hits:
            return self._closed  # asked again by the evidence walk
        self._closed_hits, self._closed = hits, self._search(hits)
        return self._closed

    def _search(self, hits: _Found) -> bool:
        left, right = self.left.spans(hits), self.right.spans(hits)
        distance = self.distance
        if len(left) * len(right) <= _SMALL_JOIN:
            for ls, le, _ in left:
                for rs, re_, _ in right:
                    if (le <= rs and rs - le <= distance) or (re_ <= ls and ls - re_ <= distance):
                        return True
            return False
        # A sweep instead of every pair: for each left span, the nearest right span
        # starting at or after its end, and the nearest ending at or before its start.
        hits.spend(len(left) + len(right))
        starts = sorted([s for s, _, _ in right])
        ends = sorted([e for _, e, _ in right])
        count = len(starts)
        for ls, le, _ in left:
            i = bisect_left(starts, le)
            if i < count and starts[i] - le <= distance:
                return True
            j = bisect_right(ends, ls)
            if j and ls - ends[j - 1] <= distance:
                return True
        return False

    def evidence(self, hits: _Found, out: list[int]) -> None:
        for _, _, leaves in self.spans(hits):
            out.extend(leaves)

    def spans(self, hits: _Found) -> list[_Span]:
        if hits is self._last_hits:
            return self._last_spans
        self._last_spans = self._spans(hits)
        self._last_hits = hits
        return self._last_spans

    def _spans(self, hits: _Found) -> list[_Span]:
        left, right = self.left.spans(hits), self.right.spans(hits)
        if len(left) * len(right) <= _SMALL_JOIN:
            hits.spend(len(left) * len(right))
            return _pairs(left, right, self.distance)
        return _joined(left, right, self.distance, hits)

    def leaves(self) -> set[int]:
        return self.left.leaves() | self.right.leaves()


def _pairs(left: list[_Span], right: list[_Span], distance: int) -> list[_Span]:
    """Every close pair, comparing each left span with each right span (small inputs)."""
    found = []
    # Hot loop (the Russia-China pair alone is most of NEAR's cost): no min/max
    # calls; the order of the two sides gives the span's ends directly.
    for ls, le, lleaves in left:
        for rs, re_, rleaves in right:
            # Left then right, or right then left; overlapping spans never pair
            # (one word cannot be both sides).
            if le <= rs and rs - le <= distance:
                found.append((ls, re_, lleaves + rleaves))
            elif re_ <= ls and ls - re_ <= distance:
                found.append((rs, le, lleaves + rleaves))
    return found


def _joined(left: list[_Span], right: list[_Span], distance: int, hits: _Found) -> list[_Span]:
    """The close pairs of `_pairs`, found by bisecting sorted positions, each distinct span once.

    Only the close pairs are visited, and every one is paid for before it is built, so
    a chain of NEARs over a common word stops at the item's allowance instead of
    multiplying. A span repeated later in the list adds nothing an enclosing NEAR or
    the evidence could use (the same ends, the same terms, seen first earlier), so
    keeping the first of each, with each term once, gives the same test and evidence
    as the full list in the same order.
    """
    hits.spend(len(left) + len(right))
    by_start = sorted(range(len(right)), key=lambda k: right[k][0])
    starts = [right[k][0] for k in by_start]
    by_end = sorted(range(len(right)), key=lambda k: right[k][1])
    ends = [right[k][1] for k in by_end]
    found: dict[_Span, None] = {}
    merged: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}
    for ls, le, lleaves in left:
        # Right spans starting within `distance` after this one ends, and those
        # ending within `distance` before it starts (never both: spans are not empty).
        a, b = bisect_left(starts, le), bisect_right(starts, le + distance)
        c, d = bisect_left(ends, ls - distance), bisect_right(ends, ls)
        if a == b and c == d:
            continue
        hits.spend(b - a + d - c)
        # Back in the right side's order, so the spans come in the order `_pairs` has.
        for k in sorted(by_start[a:b] + by_end[c:d]):
            rs, re_, rleaves = right[k]
            leaves = merged.get((lleaves, rleaves))
            if leaves is None:
                leaves = merged[lleaves, rleaves] = tuple(dict.fromkeys(lleaves + rleaves))
            found[(ls, re_, leaves) if le <= rs else (rs, le, leaves)] = None
    return list(found)


def _compile(node: Node, scanner: _Scanner, shared: dict[Node, _Eval]) -> _Eval:
    """The evaluator of a node; equal subtrees (a term list used twice) share one."""
    ev = shared.get(node)
    if ev is None:
        ev = shared[node] = _compile_new(node, scanner, shared)
    return ev


def _compile_new(node: Node, scanner: _Scanner, shared: dict[Node, _Eval]) -> _Eval:
    if isinstance(node, Leaf):
        return _LeafEval(scanner.add(node.pattern))
    if isinstance(node, Not):
        return _NotEval(_compile(node.child, scanner, shared))
    if isinstance(node, Near):
        left, right = _compile(node.left, scanner, shared), _compile(node.right, scanner, shared)
        return _NearEval(left, right, node.distance)
    children = [_compile(c, scanner, shared) for c in _flatten(node)]
    if isinstance(node, And):
        return _AndEval(children)
    # Plain terms of an OR are tested together as one set; structured children follow.
    plain = [c for c in children if isinstance(c, _LeafEval | _AnyEval)]
    rest = [c for c in children if not isinstance(c, _LeafEval | _AnyEval)]
    if not plain:
        return _OrEval(rest)
    any_plain = _AnyEval(_leaf_ids(plain))
    return _OrEval([any_plain, *rest]) if rest else any_plain


def _flatten(node: And | Or) -> list[Node]:
    """Children with nested nodes of the same kind merged in: (a OR (b OR c)) -> a, b, c."""
    out: list[Node] = []
    for child in node.children:
        if type(child) is type(node):
            out.extend(_flatten(child))  # type: ignore[arg-type]
        else:
            out.append(child)
    return out


def _leaf_ids(children: list[_Eval]) -> set[int]:
    ids: set[int] = set()
    for c in children:
        ids |= c.leaves()
    return ids


def _cost(node: _Eval) -> int:
    """A rough price of testing a node: set tests are cheap, NEAR compares positions."""
    if isinstance(node, _NotEval):
        return _cost(node.child)
    if isinstance(node, _AndEval | _OrEval):
        return sum(_cost(c) for c in node.children)
    if isinstance(node, _NearEval):
        return 20 + _cost(node.left) + _cost(node.right)
    return 1


class _Codegen:
    """A compiled query tree as generated Python functions: `test` and `evidence`.

    A topic query is a tree of a few hundred nodes; walking it costs a method call
    per node, which was a third of the time per item. The generated `test` is one
    boolean expression of set tests (`not S3.isdisjoint(K)`), `and`, `or` and `not`,
    short-circuiting exactly as the tree does, and `evidence` is the tree's evidence
    walk unrolled into statements (same order, so the same evidence). NEAR stays a
    call to its evaluator, which keeps the item's spans. The source holds only
    integers and generated names, never query text, so nothing a user typed is
    executed. A tree too deep for the Python compiler keeps the method walk.
    """

    def __init__(self) -> None:
        self.names: dict[str, object] = {}
        self._bound: dict[tuple[str, int], str] = {}

    def bind(self, node: _Eval, kind: str, value: object) -> str:
        key = (kind, id(node))
        name = self._bound.get(key)
        if name is None:
            name = self._bound[key] = f"{kind}{len(self._bound)}"
            self.names[name] = value
            self.names[f"_keep{name}"] = node  # keeps id(node) from being reused
        return name

    def expr(self, node: _Eval) -> str:
        if isinstance(node, _LeafEval):
            return f"{node.leaf} in K"
        if isinstance(node, _AnyEval):
            if len(node.ids) >= _MASK_TEST_MIN:
                return f"({self.bind(node, 'B', sum(map(_BIT, node.ids)))} & M) != 0"
            return f"not {self.bind(node, 'S', node.ids)}.isdisjoint(K)"
        if isinstance(node, _NotEval):
            return f"not ({self.expr(node.child)})"
        if isinstance(node, _AndEval | _OrEval):
            # Cheap tests first: `and`/`or` of pure tests give the same answer in any
            # order, and "Russia word AND China word AND ..." should fail on a set test
            # before any NEAR compares positions. (Evidence keeps the written order.)
            joiner = " and " if isinstance(node, _AndEval) else " or "
            children = sorted(node.children, key=_cost)
            return "(" + joiner.join(f"({self.expr(c)})" for c in children) + ")"
        if isinstance(node, _NearEval):
            # Both sides must occur before positions are compared (most items stop here).
            close = self.bind(node, "N", node.close)
            return f"({self.expr(node.left)}) and ({self.expr(node.right)}) and {close}(F)"
        raise TypeError(f"cannot compile {type(node).__name__}")

    def evidence(self, node: _Eval, indent: str) -> list[str]:
        if isinstance(node, _LeafEval):
            return [f"{indent}out.append({node.leaf})"]
        if isinstance(node, _AnyEval):
            return [f"{indent}out.extend({self.bind(node, 'S', node.ids)}.intersection(K))"]
        if isinstance(node, _NotEval):
            return []  # an absence is not evidence
        if isinstance(node, _AndEval):
            return [line for c in node.children for line in self.evidence(c, indent)]
        if isinstance(node, _OrEval):
            lines = []
            for c in node.children:
                lines.append(f"{indent}if {self.expr(c)}:")
                lines.extend(self.evidence(c, indent + " ") or [f"{indent} pass"])
            return lines
        if isinstance(node, _NearEval):
            return [f"{indent}{self.bind(node, 'E', node.evidence)}(F, out)"]
        raise TypeError(f"cannot compile {type(node).__name__}")

    @classmethod
    def functions(cls, ev: _Eval) -> tuple[Callable[[_Found], bool], Callable[[_Found, list[int]], None]]:
        gen = cls()
        try:
            body = gen.evidence(ev, " ") or [" pass"]
            source = f"def test(F):\n K = F.keys\n M = F.mask\n return {gen.expr(ev)}\n"
            source += "def evidence(F, out):\n K = F.keys\n M = F.mask\n" + "\n".join(body) + "\n"
            exec(compile(source, "<query>", "exec"), gen.names)  # noqa: S102 (generated, see class doc)
        except (RecursionError, MemoryError, SyntaxError):
            return ev.test, ev.evidence
        return gen.names["test"], gen.names["evidence"]  # type: ignore[return-value]


class Scan:
    """The terms found in one item (title and summary), shared by every query."""

    # A plain slotted class: a frozen dataclass's __init__ costs ~1 us per item.
    __slots__ = ("found", "title_end", "tokens")

    def __init__(self, found: _Found, title_end: int, tokens: list[str]) -> None:
        self.found = found
        self.title_end = title_end
        # The words scanned: the title's, then (after a separator) the summary's.
        self.tokens = tokens

    def field_words(self, field: str) -> list[str]:
        """`words()` of the title or the summary, as scanned (for placing evidence)."""
        if field == "title":
            return self.tokens[: self.title_end]
        return self.tokens[self.title_end + 1 :]

    def allow(self, work: int) -> None:
        """Let the queries evaluated next do this much work on the item (spans that NEAR
        compares or keeps) before they raise QueryTooCostly; replaces what was left."""
        self.found.work = work

    def surfaces(self, leaves: Iterable[int]) -> tuple[str, ...]:
        """Matched text for the leaves, each phrase once, in order of first appearance."""
        return self.evidence(leaves)[0]

    def evidence(self, leaves: Iterable[int], last: frozenset[int] = frozenset()) -> tuple[tuple[str, ...], bool]:
        """The matched text of the leaves (each phrase once, in order of first appearance)
        and whether any of it is in the title, in one pass over the occurrences.

        Phrases found only through leaves in `last` (e.g. who/where terms) are listed
        after all the others; each group keeps the order of appearance.
        """
        occ = self.found.occ
        found: dict[str, int] = {}
        late: dict[str, int] = {}
        # A leaf can be evidence of several branches; its occurrences count once.
        for leaf in dict.fromkeys(leaves):
            into = late if leaf in last else found
            for start, _, surface in occ.get(leaf, ()):
                earlier = into.get(surface)
                if earlier is None or start < earlier:
                    into[surface] = start
        if late:
            for surface in found:
                late.pop(surface, None)
        if not found and not late:
            return (), False
        first = min(min(found.values(), default=self.title_end), min(late.values(), default=self.title_end))
        ordered = tuple(sorted(found, key=found.__getitem__)) + tuple(sorted(late, key=late.__getitem__))
        return ordered, first < self.title_end

    def matched(self, leaves: Iterable[int], last: frozenset[int] = frozenset()) -> tuple[
            int, list[tuple[str, int, int, bool]]]:
        """How many distinct phrases the leaves matched (the count `evidence` gives), and
        where they first matched, in one pass over the leaves.

        Positions are (field, first word, end word, only in `last`), field "title" or
        "summary", words counted as `words()` splits the field, each matched term at its
        first occurrence, in text order. A phrase's text says which words it is, so every
        leaf that matched it matched it at the same places: counting distinct texts needs
        no ordering.
        """
        occ = self.found.occ
        phrases: set[str] = set()
        late: dict[tuple[int, int], bool] = {}
        for leaf in set(leaves):
            found = occ.get(leaf)
            if found:
                phrases.update(map(_SURFACE, found))  # in C: a comprehension is a call per leaf
                key = found[0][:2]  # occurrences come in text order
                late[key] = leaf in last and late.get(key, True)
        title_end = self.title_end
        summary_start = title_end + 1 + _FIELD_GAP  # after the separator and the gap
        return len(phrases), [
            ("title", start, end, in_last) if start < title_end
            else ("summary", start - summary_start, end - summary_start, in_last)
            for (start, end), in_last in sorted(late.items())
        ]


# Where a phrase stops: sentence and clause punctuation before a space, the end or a
# Chinese character ("Phase One. China", "phase one; China"), quotation marks and
# brackets anywhere ('"Phase One" China'), and their Chinese forms. A full stop after a
# single letter is an abbreviation ("U.S. China"), and "1,000", "3.5" or "U.S.-China"
# have no space after the mark, so none of them stops a phrase. Hyphens, slashes and
# apostrophes join words.
_MARK_RE = re.compile(
    r"[.,;:!?\"\u201c\u201d\u201e\u00ab\u00bb()\[\]{}"
    r"\u3002\uff0c\uff1b\uff1a\uff01\uff1f\u3001\u300c\u300d\u300e\u300f\uff08\uff09]"
)
_CLAUSE_MARKS = frozenset(".,;:!?")
# ASCII text with the breaks marked: \x01 for a full stop, \x02 for any other mark;
# letters and digits kept (already lower case), everything else a space.
_MARKED_WORDS = bytes(c if chr(c).isalnum() or c in (1, 2) else 32 for c in range(128)) + bytes(range(128, 256))
_MARKED_TOKEN_RE = re.compile(rf"[\x01\x02]|{TOKEN_RE.pattern}")
_MARK_SPLIT = re.compile(r"([\x01\x02])")


def _breaks(text: str) -> set[int]:
    """Indexes of the words (as `words()` splits `text`) that follow a break.

    The marks become words of their own (\x01 a full stop, \x02 any other), the text
    is split into words as `words()` splits it, and the words between marks are
    counted piece by piece (a handful of pieces, not a step per word). A plain
    character class finds the marks: a regex with look-ahead was 15x slower.
    """
    parts: list[str] = []
    at = 0
    n = len(text)
    for m in _MARK_RE.finditer(text):
        i = m.start()
        mark = text[i]
        if mark in _CLAUSE_MARKS and i + 1 < n:
            after = text[i + 1]
            if not (after.isspace() or _CJK_RE.match(after)):
                continue
        parts.append(text[at:i])
        parts.append(" \x01 " if mark == "." else " \x02 ")
        at = i + 1
    if not parts:
        return set()
    parts.append(text[at:])
    marked = normalize_text("".join(parts))
    if marked.isascii():
        flat = marked.encode("ascii").translate(_MARKED_WORDS).decode("ascii")
    else:
        flat = " ".join(_MARKED_TOKEN_RE.findall(marked))
    pieces = _MARK_SPLIT.split(flat)
    out: set[int] = set()
    count = 0
    last = ""
    for k in range(0, len(pieces) - 1, 2):
        words_before = pieces[k].split()
        if words_before:
            count += len(words_before)
            last = words_before[-1]
        # A full stop after one letter is an abbreviation ("U.S. China"), no sentence end.
        if pieces[k + 1] == "\x02" or not (len(last) == 1 and last.isascii() and last.isalpha()):
            out.add(count)
    return out


def _drop_phrases_across_breaks(found: _Found, phrases: set[int], title: str, title_end: int, summary: str) -> None:
    """Phrase occurrences that run across a break (see `_BREAK_RE`) are not occurrences:
    "Phase One. China" holds no "one china". Word-for-word the same as a phrase within
    one clause, so this is decided from the text, only for items where a phrase matched."""
    summary_start = title_end + 1 + _FIELD_GAP
    texts = {False: title, True: summary}
    lowered: dict[bool, str] = {}  # per field (in the summary?), worked out when first needed
    breaks: dict[bool, set[int]] = {}
    occ = found.occ
    changed = False
    for leaf in phrases.intersection(found.keys):
        spans = occ[leaf]
        # The usual case costs a substring count per field: when a field holds the
        # phrase as written, words and single spaces, as often as it was found there,
        # none of its occurrences there can run across a mark. (Counted per field: a
        # phrase in both the title and the summary is common.)
        surface = spans[0][2]
        if len(spans) == 1:
            if _holds(lowered, texts, spans[0][0] >= title_end, surface, 1):
                continue
        elif all(s[2] == surface for s in spans):
            in_title = sum(1 for s in spans if s[0] < title_end)
            if (not in_title or _holds(lowered, texts, False, surface, in_title)) and (
                in_title == len(spans) or _holds(lowered, texts, True, surface, len(spans) - in_title)
            ):
                continue
        kept = []
        for start, end, surface in spans:
            in_summary = start >= title_end
            field = breaks.get(in_summary)
            if field is None:
                field = breaks[in_summary] = _breaks(texts[in_summary])
            offset = summary_start if in_summary else 0
            if field and any(b in field for b in range(start - offset + 1, end - offset)):
                continue
            kept.append((start, end, surface))
        if len(kept) != len(spans):
            changed = True
            if kept:
                occ[leaf] = kept
            else:
                del occ[leaf]
    if changed:
        found.index()


def _holds(lowered: dict[bool, str], texts: dict[bool, str], in_summary: bool, surface: str, times: int) -> bool:
    """Whether a field's normalized text (worked out once, kept in `lowered`) holds
    `surface` at least `times` times."""
    low = lowered.get(in_summary)
    if low is None:
        low = lowered[in_summary] = normalize_text(texts[in_summary])
    if low.count(surface) >= times:
        return True
    # Words joined by a hyphen or an apostrophe ("cross-strait", "people's") are the
    # phrase as written too: neither mark is a break.
    joined = low.replace("-", " ").replace("'", " ")
    return joined != low and joined.count(surface) >= times


class QueryEngine:
    """Several named queries compiled into one index; an item is scanned once for all."""

    def __init__(self, queries: Mapping[str, str], defs: Mapping[str, str] | None = None) -> None:
        self._scanner = _Scanner()
        self._evals: dict[str, _Eval] = {}
        self._tests: dict[str, Callable[[_Found], bool]] = {}
        self._evidence: dict[str, Callable[[_Found, list[int]], None]] = {}
        self._positive: dict[str, frozenset[int]] = {}
        shared: dict[Node, _Eval] = {}
        for name, source in queries.items():
            ev = _compile(parse(source, defs), self._scanner, shared)
            self._evals[name] = ev
            self._tests[name], self._evidence[name] = _Codegen.functions(ev)
            self._positive[name] = frozenset(ev.leaves())

    def scan(self, title: str, summary: str = "") -> Scan:
        tokens = _words(title)
        title_end = len(tokens)
        if summary:
            # One scan for both fields; the separator never matches, so no phrase
            # runs from the title into the summary.
            tokens.append(_SEPARATOR)
            tokens += _words(summary)
        found = self._scanner.scan(tokens, title_end)
        phrases = self._scanner.phrases
        if not phrases.isdisjoint(found.keys):
            _drop_phrases_across_breaks(found, phrases, title, title_end, summary)
        return Scan(found, title_end, tokens)

    def test(self, name: str, scan: Scan) -> bool:
        return self._tests[name](scan.found)

    def evidence(self, name: str, scan: Scan) -> list[int]:
        """Leaves that made the query true (call only when `test` is true)."""
        out: list[int] = []
        self._evidence[name](scan.found, out)
        return out

    def leaves(self, name: str) -> frozenset[int]:
        """Every positive term of a query, as the leaf ids `evidence` returns."""
        return self._positive[name]

    def partial(self, name: str, scan: Scan) -> int:
        """How many distinct positive terms of the query occur (for scores of non-matches)."""
        return len(self._positive[name].intersection(scan.found.keys))


@dataclass(frozen=True, slots=True)
class Match:
    evidence: tuple[str, ...]


class Query:
    """One compiled query, e.g. a custom topic typed in Slack.

    Matching raises QueryTooCostly past `DEFAULT_WORK` on one item.
    """

    def __init__(self, source: str, defs: Mapping[str, str] | None = None) -> None:
        self.source = source
        self._engine = QueryEngine({"q": source}, defs)

    def match(self, title: str, summary: str = "") -> Match | None:
        scan = self._engine.scan(title, summary)
        if not self._engine.test("q", scan):
            return None
        return Match(scan.surfaces(self._engine.evidence("q", scan)))

    def matches(self, title: str, summary: str = "") -> bool:
        return self._engine.test("q", self._engine.scan(title, summary))
