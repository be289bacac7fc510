"""The topic query language: precedence, phrases, NEAR, wildcards, scripts, errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vigil.domain import query as query_module
from vigil.domain.query import (
    And,
    Leaf,
    Near,
    Not,
    Or,
    Query,
    QueryEngine,
    QueryError,
    QueryTooCostly,
    expand,
    parse,
)
from vigil.domain.topic_limits import CUSTOM_TOPIC_WORK, MAX_NEAR_DEPTH

from tests.deadline import within


def matches(query: str, text: str, summary: str = "") -> bool:
    return Query(query).matches(text, summary)


def evidence(query: str, text: str, summary: str = "") -> tuple[str, ...] | None:
    found = Query(query).match(text, summary)
    return None if found is None else found.evidence


# --- precedence ------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    tree = parse("a OR b AND c")
    assert isinstance(tree, Or)
    assert isinstance(tree.children[1], And)


def test_not_binds_tighter_than_and() -> None:
    tree = parse("a AND NOT b")
    assert isinstance(tree, And)
    assert isinstance(tree.children[1], Not)


def test_near_binds_tighter_than_and() -> None:
    tree = parse("a AND b NEAR/2 c")
    assert isinstance(tree, And)
    assert isinstance(tree.children[1], Near)


def test_adjacent_terms_are_an_implicit_and() -> None:
    assert parse("navy drills") == parse("navy AND drills")


def test_parentheses_override_precedence() -> None:
    assert matches("(tanks OR ships) AND navy", "the navy sends ships")
    assert not matches("tanks OR ships AND navy", "ships leave port")
    assert matches("tanks OR ships AND navy", "tanks roll")


def test_lowercase_operator_words_are_ordinary_terms() -> None:
    assert matches("salt and pepper", "salt and pepper")
    assert not matches("salt and pepper", "salt or pepper")


# --- terms and phrases -----------------------------------------------------------


def test_terms_match_whole_words_case_insensitively() -> None:
    assert matches("PLA", "The pla said on Monday")
    assert not matches("pla", "a new plan for the plaza")


def test_phrase_needs_the_words_in_order() -> None:
    assert matches('"entity list"', "added to the Entity List")
    assert not matches('"entity list"', "the list of every entity")


def test_phrase_ignores_punctuation_between_words() -> None:
    assert matches('"lai ching-te"', "President Lai Ching te spoke")
    assert matches('"cross strait"', "cross-strait ties")
    assert matches('"u s china"', "U.S.-China talks") and matches('"u s china"', "U.S. China talks")
    assert matches('"northern interaction"', "Northern/Interaction-2030 drills")


@pytest.mark.parametrize("text", [
    "Markets cheer Phase One. China buys soybeans",
    "Talks end phase one; China leads phase two",
    'Both sides hail "Phase One" China trade pact',
    "Beijing: the first is phase one, China said",
])
def test_a_phrase_never_runs_across_a_sentence_clause_or_quotation_boundary(text: str) -> None:
    assert not matches('"one china"', text)
    assert matches('one AND china', text)  # the words are there, just not as one phrase


def test_a_phrase_inside_quotes_or_before_a_full_stop_still_matches() -> None:
    assert matches('"one china"', 'Beijing restates the "one China" policy.')
    assert evidence('"one china"', "It backs one China. Talks follow") == ("one china",)
    assert matches('"1 000"', "about 1,000 troops")  # a comma inside a number joins
    assert not matches("中国", "中。国") and matches("中国", "中国军队")
    assert not matches('"морское взаимодействие"', "в море. Взаимодействие флотов")
    assert matches('"морск* взаимодействи*"', "учение «Морское взаимодействие-2031»")


def test_the_clause_check_finds_a_break_when_the_phrase_also_occurs_unbroken() -> None:
    # One occurrence across a full stop, one within a clause: only the second counts.
    engine = QueryEngine({"q": '"one china"'})
    scan = engine.scan("Talks end phase one. China waits", "Beijing restates its one China policy.")
    assert engine.test("q", scan)
    assert [span[:2] for span in scan.found.occ[next(iter(scan.found.keys))]] == [(2000 + 6 + 1 + 3, 2000 + 6 + 1 + 5)]


def test_curly_quotes_in_queries_and_text_are_folded() -> None:
    assert matches("“shadow fleet”", "Britain targets Russia’s ‘shadow fleet’")


def test_prefix_wildcard_matches_word_starts() -> None:
    assert evidence("sanction*", "Washington sanctioned three firms") == ("sanctioned",)
    assert not matches("sanction*", "a sanatorium")


def test_wildcard_inside_a_phrase() -> None:
    assert matches('"export control*"', "new export controlling rules")


def test_russian_terms_match_inflected_forms_with_a_prefix() -> None:
    assert matches("санкци* AND росси*", "ЕС готовит новый пакет санкций против России")


def test_yo_and_ye_are_the_same_letter() -> None:
    assert matches("учеба", "Учёба офицеров")


def test_chinese_terms_match_inside_text_without_spaces() -> None:
    assert evidence("解放军 AND 台湾", "解放军今日在台湾以东海域进行演练") == ("解放军", "台湾")


def test_traditional_chinese_matches_simplified_terms() -> None:
    assert matches("台湾海峡", "共軍機艦持續在台灣海峽活動")


def test_chinese_terms_next_to_latin_words() -> None:
    assert matches("制裁", "US制裁Huawei")


# --- NEAR ------------------------------------------------------------------------


def test_near_matches_within_the_distance_in_either_order() -> None:
    assert matches("russia NEAR/3 china", "Russia and China hold talks")
    assert matches("russia NEAR/3 china", "China and Russia hold talks")


def test_near_fails_beyond_the_distance() -> None:
    assert not matches("russia NEAR/2 china", "Russia said on Monday that China was fine")


def test_near_does_not_reach_from_title_into_summary() -> None:
    assert not matches("drills NEAR/5 taiwan", "Navy holds drills", "Taiwan watches closely")
    assert matches("drills AND taiwan", "Navy holds drills", "Taiwan watches closely")


def test_near_with_or_groups_and_phrases() -> None:
    q = '(bomber* OR warship*) NEAR/4 ("joint patrol" OR patrol*)'
    assert evidence(q, "Bombers flew a joint patrol near Japan") == ("bombers", "joint patrol", "patrol")


def test_near_evidence_is_the_pair_that_was_close() -> None:
    found = evidence("sanctions NEAR/2 new", "New sanctions today. Old news repeated sanctions")
    assert found == ("new", "sanctions")


# --- work per item is bounded ------------------------------------------------------

# An ordinary news item of 2,000 characters (our own wording) with the usual share of
# "the": 35 of them.
ORDINARY = (
    "The defence ministry said on Monday that the navy had finished a week of exercises in "
    "the waters east of the island, and that no foreign ships were seen near the area. Officials "
    "declined to say how many vessels took part, citing security, but added that the drills "
    "followed a plan agreed last year. Analysts said such exercises are routine at this time "
    "of the year and draw little notice abroad now. "
) * 5


def _outcome(engine: QueryEngine, title: str, summary: str, work: int) -> bool | str:
    """Whether the query matched, or "too costly" when it ran out of work."""
    scan = engine.scan(title, summary)
    scan.allow(work)
    try:
        return engine.test("q", scan) and bool(engine.evidence("q", scan))
    except QueryTooCostly:
        return "too costly"


def test_a_long_near_chain_over_a_common_word_matches_an_ordinary_item_quickly() -> None:
    # Given 9 terms chained by 8 NEARs over "the" (comparing every pair took over a
    # minute on one such item)
    chain = Query(" NEAR/1000 ".join(["the"] * 9))
    assert len(ORDINARY) == 2000
    # When it is matched against an ordinary item, Then it answers, and well within a second
    found = within(1.0, lambda: chain.match("", ORDINARY))
    assert found is not None
    assert found.evidence == ("the",)


def test_the_deepest_near_chain_allowed_stays_within_its_allowance_on_a_repeated_word() -> None:
    # Given the deepest NEAR chain the custom-topic limits allow, over the one word of
    # an item that repeats it 200 times (every pair of occurrences is close)
    for word in ("a", "the"):
        engine = QueryEngine({"q": " NEAR/1000 ".join([word] * (MAX_NEAR_DEPTH + 1))})
        # When it is evaluated with a custom topic's allowance
        outcome = within(1.0, lambda e=engine, w=word: _outcome(e, "", f"{w} " * 200, CUSTOM_TOPIC_WORK))
        # Then it stops at the allowance instead of multiplying the matches
        assert outcome == "too costly"


def test_a_query_that_needs_more_work_than_allowed_raises_and_a_fresh_allowance_is_not_spent() -> None:
    engine = QueryEngine({"q": "a NEAR/1000 a NEAR/1000 a"})
    assert _outcome(engine, "", "a " * 200, 10_000) == "too costly"
    # A few occurrences cost little: the same query on a short item still matches.
    assert _outcome(engine, "", "a b a c a", 10_000) is True


_NEAR_OPERAND = st.recursive(
    st.sampled_from(["a", "b", "ab*", '"a b"', '"b c"']),
    lambda inner: st.one_of(
        st.tuples(inner, st.integers(0, 6), inner).map(lambda t: f"({t[0]} NEAR/{t[1]} {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
    ),
    max_leaves=8,
)
_NEAR_TEXT = st.lists(st.sampled_from(["a", "b", "c", "abc", "x"]), max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_NEAR_OPERAND, _NEAR_TEXT, _NEAR_TEXT)
def test_near_sweep_agrees_with_comparing_every_pair(source: str, title: str, summary: str) -> None:
    # Small NEARs compare every pair, large ones sweep sorted positions and keep each
    # distinct span once; forcing one way or the other must give the same match,
    # evidence and evidence order.
    engine = QueryEngine({"q": source})
    results = []
    for small_join in (10**9, -1):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(query_module, "_SMALL_JOIN", small_join)
            scan = engine.scan(title, summary)
            matched = engine.test("q", scan)
            leaves = list(dict.fromkeys(engine.evidence("q", scan))) if matched else []
            results.append((matched, leaves, scan.evidence(leaves)))
    assert results[0] == results[1]


# --- evidence --------------------------------------------------------------------


def test_evidence_lists_only_what_matched_in_order_of_appearance() -> None:
    found = evidence("(drills OR exercise) AND taiwan AND NOT earthquake", "Taiwan drills begin")
    assert found == ("taiwan", "drills")


def test_no_match_gives_none() -> None:
    assert evidence("taiwan AND NOT earthquake", "Taiwan earthquake") is None


# --- term lists ------------------------------------------------------------------


def test_named_term_lists_expand_in_parentheses() -> None:
    defs = {"ru": "russia OR moscow", "cn": "china OR beijing"}
    assert expand("@ru NEAR/3 @cn", defs) == "(russia OR moscow) NEAR/3 (china OR beijing)"
    assert Query("@ru AND @cn", defs).matches("Moscow and Beijing agree")


def test_term_list_that_refers_to_itself_is_an_error() -> None:
    with pytest.raises(QueryError, match="refers to itself"):
        expand("@a", {"a": "x OR @a"})


# --- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "problem"),
    [
        ("", 0, "empty query"),
        ("taiwan AND", 10, "ends too early"),
        ("(taiwan OR strait", 0, "missing ')'"),
        ("taiwan)", 6, "unexpected ')'"),
        ('"shadow fleet', 0, "unterminated phrase"),
        ("a NEAR/x b", 2, "NEAR needs a distance"),
        ("a NEAR b", 2, "NEAR needs a distance"),
        ("(a AND b) NEAR/3 c", 10, "NEAR works on terms"),
        ("sanc*tions", 0, "only allowed at the end"),
        ("s*", 0, "at least 2 letters"),
        ("台湾*", 0, "need no '*'"),
        ("OR taiwan", 0, "expected a term"),
        ("a AND ()", 6, "empty parentheses"),
        ("@missing", 0, "unknown term list"),
        ("---", 0, "no letters or digits"),
    ],
)
def test_malformed_query_points_at_the_problem(query: str, position: int, problem: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(query)
    err = info.value
    assert problem in err.problem
    assert err.position == position
    caret_line = str(err).splitlines()[-1]
    assert caret_line == "  " + " " * position + "^"
    assert "\n" not in err.brief


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(QueryError, match="nested deeper"):
        parse("(" * 500 + "a" + ")" * 500)


def test_leaf_keeps_what_the_user_wrote() -> None:
    assert parse('"Lai Ching-te"') == Leaf((("lai", False), ("ching", False), ("te", False)), "Lai Ching-te")


# --- properties ------------------------------------------------------------------

_QUERY_ALPHABET = st.sampled_from(
    ["a", "b", "Тайвань", "台湾", "*", '"', "(", ")", " ", "AND", "OR", "NOT", "NEAR/2", "NEAR/", "@x", "-", "'"]
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_raises_only_query_error_on_arbitrary_text(source: str) -> None:
    with contextlib.suppress(QueryError):
        parse(source)


@settings(max_examples=300, deadline=None)
@given(st.lists(_QUERY_ALPHABET, max_size=20).map(" ".join), st.text(max_size=200))
def test_valid_queries_match_arbitrary_text_without_crashing(source: str, text: str) -> None:
    try:
        query = Query(source, {"x": "b OR 台湾"})
    except QueryError:
        return
    found = query.match(text, text)
    assert found is None or all(isinstance(e, str) and e for e in found.evidence)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["navy", "drills", "taiwan", "и", "台湾", "x"]), min_size=1, max_size=12))
def test_or_of_terms_matches_exactly_when_one_term_occurs(words: list[str]) -> None:
    text = " ".join(words)
    assert matches("taiwan OR 台湾", text) == ("taiwan" in words or "台湾" in words)


# --- the fast paths agree with the plain ones ---------------------------------------

_TEXT_WORDS = st.sampled_from(
    [
        "navy",
        "drills",
        "taiwan",
        "strait",
        "joint",
        "sanctions",
        "russia’s",
        "“shadow",
        "fleet”",
        "—",
        "…",
        "Тайвань",
        "台湾",
        "x",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT_WORDS, max_size=30).map(" ".join))
def test_typographic_punctuation_fast_path_gives_the_same_words(text: str) -> None:
    # The fast path turns curly quotes and dashes into spaces and takes the ASCII
    # route; the general route (NFKC + regex) must find exactly the same words.
    import unicodedata

    from vigil.domain.text import WORD_RE as _WORD_RE
    from vigil.domain.text import normalize_text, tokenize
    from vigil.domain.text import words as _words

    general = unicodedata.normalize("NFKC", text).lower()
    if not any("\u3400" <= ch <= "\u9fff" for ch in general):
        assert tokenize(normalize_text(text)) == _WORD_RE.findall(general)
    # And the one-pass splitter used on item text gives the same words.
    assert _words(text) == tokenize(normalize_text(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_QUERY_ALPHABET, max_size=20).map(" ".join),
    st.lists(st.sampled_from(["a", "b", "x", "Тайвань", "台湾", "the"]), max_size=25).map(" ".join),
)
def test_generated_query_functions_agree_with_the_tree_walk(source: str, text: str) -> None:
    from vigil.domain.query import QueryEngine

    try:
        engine = QueryEngine({"q": source}, {"x": "b OR 台湾"})
    except QueryError:
        return
    scan = engine.scan(text, text)
    tree = engine._evals["q"]
    assert engine.test("q", scan) == tree.test(scan.found)
    if tree.test(scan.found):
        walked: list[int] = []
        tree.evidence(scan.found, walked)
        assert engine.evidence("q", scan) == walked
