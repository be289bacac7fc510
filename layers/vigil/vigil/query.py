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
structure is evaluated over the set of terms that occurred.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

# Title and summary positions are kept this far apart so a phrase or NEAR never
# spans the boundary between them; NEAR distances are capped below it.
_FIELD_GAP = 2000
MAX_NEAR = 1000
_MAX_DEPTH = 64
_MEMO_LIMIT = 200_000
_SEPARATOR = "\x00"  # between title and summary tokens; never a query word

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Every CJK character is a token of its own; other words are runs of letters/digits.
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_CJK_RE = re.compile(rf"[{_CJK}]")
_NEAR_RE = re.compile(r"NEAR/(\d+)\Z")

# Traditional -> simplified for characters common in defence and politics news, so
# one term list matches Taiwan/Hong Kong (traditional) and mainland (simplified) text.
_TRADITIONAL = (
    "灣臺軍戰區習聯艦機導彈兩獨國對單實體華進關東陸鬥飛衛擊協與為發動邊島峽統選舉黨總"
    "務門廈馬蘭羅爾維護訓練輸製資貿歐擴產業鏈術將領緊張線隊無衝條約價網絡電腦圓議會長"
    "書記處報稱據時間權責內閣經濟貨幣銀雙擾亂遠監視偵邏轟殲潛陣營聲談訪問賴罷運嚴備脅"
    "壓藥蘇劍認讓證鎖險態參圍簽購億萬專項準應顯試幾蔣歸復頭響擬廠額級災颱風預報們個來"
    "這說觀點錄係鐵層"
)
_SIMPLIFIED = (
    "湾台军战区习联舰机导弹两独国对单实体华进关东陆斗飞卫击协与为发动边岛峡统选举党总"
    "务门厦马兰罗尔维护训练输制资贸欧扩产业链术将领紧张线队无冲条约价网络电脑圆议会长"
    "书记处报称据时间权责内阁经济货币银双扰乱远监视侦逻轰歼潜阵营声谈访问赖罢运严备胁"
    "压药苏剑认让证锁险态参围签购亿万专项准应显试几蒋归复头响拟厂额级灾台风预报们个来"
    "这说观点录系铁层"
)
_CHINESE_FOLD = str.maketrans(dict(zip(_TRADITIONAL, _SIMPLIFIED, strict=True)))
_WORD_RE = re.compile(r"[^\W_]+")
# ASCII bytes: letters and digits kept, everything else a space (the fast path for
# plain English text, about 3x quicker than the regex).
_ASCII_WORDS = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + bytes(range(128, 256))


def normalize_text(text: str) -> str:
    """Lower-case, fold compatibility forms, ё and traditional Chinese (for matching only).

    Quotes, dashes and other punctuation need no folding: `tokenize` drops them all.
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower()
    if "ё" in text:
        text = text.replace("ё", "е")
    if _CJK_RE.search(text):
        text = text.translate(_CHINESE_FOLD)
    return text


def tokenize(text: str) -> list[str]:
    """Words of already-normalized text; each CJK character is a word of its own."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    if _CJK_RE.search(text):
        return _TOKEN_RE.findall(text)
    return _WORD_RE.findall(text)


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


# ---------------------------------------------------------------- matching

# Per-leaf occurrences found in one item: (start, end, surface text).
Hits = dict[int, list[tuple[int, int, str]]]


class _Scanner:
    """Finds every leaf of every query in one pass over an item's tokens."""

    def __init__(self) -> None:
        self.patterns: list[Pattern] = []
        self._ids: dict[Pattern, int] = {}
        self._first_exact: dict[str, list[int]] = {}
        self._first_prefix: dict[str, list[int]] = {}
        self._prefix_lengths: list[int] = []
        # token -> leaves that can start at it; `_active` holds the tokens with any.
        # News vocabulary repeats, so after warm-up almost every token is known and an
        # item costs a few set operations plus work on the tokens that matter.
        self._memo: dict[str, tuple[tuple[int, ...], dict[str, tuple[int, ...]], tuple[int, ...]]] = {}
        self._active: set[str] = set()

    def add(self, pattern: Pattern) -> int:
        if pattern in self._ids:
            return self._ids[pattern]
        leaf = len(self.patterns)
        self.patterns.append(pattern)
        self._ids[pattern] = leaf
        word, prefix = pattern[0]
        table = self._first_prefix if prefix else self._first_exact
        table.setdefault(word, []).append(leaf)
        self._prefix_lengths = sorted({len(p) for p in self._first_prefix})
        self._forget()
        return leaf

    def _forget(self) -> None:
        self._memo.clear()
        self._active.clear()

    def _learn(self, token: str) -> None:
        """Record which leaves can start at `token`, phrases indexed by their second word."""
        found = list(self._first_exact.get(token, ()))
        for size in self._prefix_lengths:
            if size > len(token):
                break
            found.extend(self._first_prefix.get(token[:size], ()))
        singles: list[int] = []
        by_next: dict[str, list[int]] = {}
        loose: list[int] = []
        for leaf in found:
            pattern = self.patterns[leaf]
            if len(pattern) == 1:
                singles.append(leaf)
            elif pattern[1][1]:
                loose.append(leaf)  # second word is a prefix: checked on every occurrence
            else:
                by_next.setdefault(pattern[1][0], []).append(leaf)
        if len(self._memo) >= _MEMO_LIMIT:
            self._forget()
        self._memo[token] = (tuple(singles), {k: tuple(v) for k, v in by_next.items()}, tuple(loose))
        if found:
            self._active.add(token)

    def scan(self, tokens: list[str], title_end: int) -> Hits:
        """Occurrences of every leaf; tokens after `title_end` (the summary) are shifted
        by a gap so that no NEAR reaches from the title into the summary."""
        hits: Hits = {}
        distinct = set(tokens)
        for token in distinct.difference(self._memo):
            self._learn(token)
        useful = distinct & self._active
        if not useful:
            return hits
        memo, n = self._memo, len(tokens)
        for i in [i for i, token in enumerate(tokens) if token in useful]:
            token = tokens[i]
            pos = i if i < title_end else i + _FIELD_GAP
            singles, by_next, loose = memo[token]
            for leaf in singles:
                hits.setdefault(leaf, []).append((pos, pos + 1, token))
            if i + 1 < n and (by_next or loose):
                self._phrases(by_next.get(tokens[i + 1], ()) + loose, tokens, i, pos, hits)
        return hits

    def _phrases(self, leaves: tuple[int, ...], tokens: list[str], i: int, pos: int, hits: Hits) -> None:
        n = len(tokens)
        for leaf in leaves:
            pattern = self.patterns[leaf]
            if _rest_matches(pattern, tokens, i, n):
                size = len(pattern)
                hits.setdefault(leaf, []).append((pos, pos + size, _join(tokens[i : i + size])))


def _rest_matches(pattern: Pattern, tokens: list[str], i: int, n: int) -> bool:
    if i + len(pattern) > n:
        return False
    for k in range(1, len(pattern)):
        word, prefix = pattern[k]
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


class _Found:
    """An item's occurrences per leaf, with the set of leaves for fast set tests."""

    __slots__ = ("keys", "occ")

    def __init__(self, occ: Hits) -> None:
        self.occ = occ
        self.keys = frozenset(occ)


class _Eval:
    """Compiled node: `test` decides, `evidence` lists the leaves that made it true."""

    __slots__ = ()

    def test(self, hits: _Found) -> bool:
        raise NotImplementedError

    def evidence(self, hits: _Found, out: list[int]) -> None:
        raise NotImplementedError

    def spans(self, hits: _Found) -> list[tuple[int, int, tuple[int, ...]]]:
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

    def spans(self, hits: _Found) -> list[tuple[int, int, tuple[int, ...]]]:
        return [(s, e, (self.leaf,)) for s, e, _ in hits.occ.get(self.leaf, ())]

    def leaves(self) -> set[int]:
        return {self.leaf}


class _AnyEval(_Eval):
    """An OR of plain terms: one set test instead of a walk over the children."""

    __slots__ = ("ids",)

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = frozenset(ids)

    def test(self, hits: _Found) -> bool:
        return not self.ids.isdisjoint(hits.keys)

    def evidence(self, hits: _Found, out: list[int]) -> None:
        out.extend(self.ids.intersection(hits.keys))

    def spans(self, hits: _Found) -> list[tuple[int, int, tuple[int, ...]]]:
        occ = hits.occ
        return [(s, e, (leaf,)) for leaf in self.ids.intersection(hits.keys) for s, e, _ in occ[leaf]]

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

    def spans(self, hits: _Found) -> list[tuple[int, int, tuple[int, ...]]]:
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
    __slots__ = ("_last_hits", "_last_spans", "distance", "left", "right")

    def __init__(self, left: _Eval, right: _Eval, distance: int) -> None:
        self.left, self.right, self.distance = left, right, distance
        # The spans of the last item: test, evidence and enclosing NEARs ask again.
        # Holding the hits dict keeps its identity from being reused by a later item.
        self._last_hits: _Found | None = None
        self._last_spans: list[tuple[int, int, tuple[int, ...]]] = []

    def test(self, hits: _Found) -> bool:
        if hits is self._last_hits:
            return bool(self._last_spans)
        return self.left.test(hits) and self.right.test(hits) and bool(self.spans(hits))

    def evidence(self, hits: _Found, out: list[int]) -> None:
        for _, _, leaves in self.spans(hits):
            out.extend(leaves)

    def spans(self, hits: _Found) -> list[tuple[int, int, tuple[int, ...]]]:
        if hits is self._last_hits:
            return self._last_spans
        self._last_spans = self._spans(hits)
        self._last_hits = hits
        return self._last_spans

    def _spans(self, hits: _Found) -> list[tuple[int, int, tuple[int, ...]]]:
        found = []
        for ls, le, lleaves in self.left.spans(hits):
            for rs, re_, rleaves in self.right.spans(hits):
                if le <= rs:
                    gap = rs - le
                elif re_ <= ls:
                    gap = ls - re_
                else:
                    continue  # one word cannot be both sides
                if gap <= self.distance:
                    found.append((min(ls, rs), max(le, re_), lleaves + rleaves))
        return found

    def leaves(self) -> set[int]:
        return self.left.leaves() | self.right.leaves()


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


@dataclass(frozen=True, slots=True)
class Scan:
    """The terms found in one item (title and summary), shared by every query."""

    found: _Found
    title_end: int

    def surfaces(self, leaves: Iterable[int]) -> tuple[str, ...]:
        """Matched text for the leaves, each phrase once, in order of first appearance."""
        found: dict[str, int] = {}
        for leaf in leaves:
            for start, _, surface in self.found.occ.get(leaf, ()):
                if surface not in found or start < found[surface]:
                    found[surface] = start
        return tuple(sorted(found, key=found.__getitem__))

    def in_title(self, leaves: Iterable[int]) -> bool:
        occ = self.found.occ
        return any(start < self.title_end for leaf in leaves for start, _, _ in occ.get(leaf, ()))


class QueryEngine:
    """Several named queries compiled into one index; an item is scanned once for all."""

    def __init__(self, queries: Mapping[str, str], defs: Mapping[str, str] | None = None) -> None:
        self._scanner = _Scanner()
        self._evals: dict[str, _Eval] = {}
        self._positive: dict[str, frozenset[int]] = {}
        shared: dict[Node, _Eval] = {}
        for name, source in queries.items():
            ev = _compile(parse(source, defs), self._scanner, shared)
            self._evals[name] = ev
            self._positive[name] = frozenset(ev.leaves())

    def scan(self, title: str, summary: str = "") -> Scan:
        tokens = tokenize(normalize_text(title))
        title_end = len(tokens)
        if summary:
            # One scan for both fields; the separator never matches, so no phrase
            # runs from the title into the summary.
            tokens.append(_SEPARATOR)
            tokens += tokenize(normalize_text(summary))
        return Scan(_Found(self._scanner.scan(tokens, title_end)), title_end)

    def test(self, name: str, scan: Scan) -> bool:
        return self._evals[name].test(scan.found)

    def evidence(self, name: str, scan: Scan) -> list[int]:
        """Leaves that made the query true (call only when `test` is true)."""
        out: list[int] = []
        self._evals[name].evidence(scan.found, out)
        return out

    def partial(self, name: str, scan: Scan) -> int:
        """How many distinct positive terms of the query occur (for scores of non-matches)."""
        return len(self._positive[name].intersection(scan.found.keys))


@dataclass(frozen=True, slots=True)
class Match:
    evidence: tuple[str, ...]


class Query:
    """One compiled query, e.g. a custom topic typed in Slack."""

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
