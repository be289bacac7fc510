"""The text normalization classification and story clustering share."""

from __future__ import annotations

import pytest
from vigil.domain.text import TRADITIONAL_TO_SIMPLIFIED, fold, normalize_text, strip_outlet, words

TRADITIONAL = "解放軍在臺灣海峽演習"
SIMPLIFIED = "解放军在台湾海峡演习"


def test_traditional_and_simplified_chinese_fold_to_one_form() -> None:
    assert fold(TRADITIONAL) == fold(SIMPLIFIED) == SIMPLIFIED
    assert normalize_text(TRADITIONAL) == normalize_text(SIMPLIFIED)
    assert words(TRADITIONAL) == words(SIMPLIFIED)


def test_fold_keeps_case_and_punctuation_and_reads_yo_as_ye() -> None:
    # The clusterer reads capitals as names, so only the classifier lower-cases.
    assert fold("Ёлка: «Минобороны» провёл ＰＬＡ") == "Елка: «Минобороны» провел PLA"
    assert normalize_text("Ёлка: ＰＬＡ") == "елка: pla"


@pytest.mark.parametrize("text", ["國防部：共軍機艦擾臺", "烏克蘭與俄羅斯", "對華出口管制與實體清單", "plain English"])
def test_folding_twice_changes_nothing(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_the_chinese_table_maps_single_characters_one_way() -> None:
    pairs = TRADITIONAL_TO_SIMPLIFIED.items()
    assert all(len(trad) == 1 and len(simp) == 1 and trad != simp for trad, simp in pairs)
    # No simplified form is itself folded again, so one pass is the whole fold.
    assert not set(TRADITIONAL_TO_SIMPLIFIED.values()) & set(TRADITIONAL_TO_SIMPLIFIED)
    common = "臺灣軍國義與戰艦機務製對關華東習總統"
    assert fold(common) == "台湾军国义与战舰机务制对关华东习总统"


@pytest.mark.parametrize(("title", "outlet", "expected"), [
    ("Navy ships sail through the strait - Harbor Ledger", "Harbor Ledger", "Navy ships sail through the strait"),
    ("Navy ships sail through the strait — Harbor Ledger", "Harbor Ledger", "Navy ships sail through the strait"),
    ("Short - Harbor Ledger", "Harbor Ledger", "Short - Harbor Ledger"),  # too little would remain
    ("China sanctions US firms - Reuters", "Harbor Ledger", "China sanctions US firms - Reuters"),
])
def test_only_the_known_outlet_is_stripped_without_guessing(title: str, outlet: str, expected: str) -> None:
    assert strip_outlet(title, outlet, guess=False) == expected


@pytest.mark.parametrize(("title", "outlet", "expected"), [
    ("China sanctions US firms - Reuters", "", "China sanctions US firms"),
    ("Taiwan earthquake today - Harbor Ledger", "Harbor Ledger", "Taiwan earthquake today"),
    ("Hualien earthquake - Harbor Ledger", "Harbor Ledger", "Hualien earthquake"),  # the known name
    ("Hualien earthquake - Reuters", "", "Hualien earthquake - Reuters"),  # too short to guess
    ("China sanctions US firms | the wire desk", "The Wire Desk", "China sanctions US firms"),
    ("Xi meets Putin in Moscow - what we know", "", "Xi meets Putin in Moscow - what we know"),
])
def test_guessing_also_strips_a_tail_that_looks_like_an_outlet(title: str, outlet: str, expected: str) -> None:
    assert strip_outlet(title, outlet) == expected
