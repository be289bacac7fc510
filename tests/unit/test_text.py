"""The text normalization classification and story clustering share."""

from __future__ import annotations

import pytest
from vigil.domain.text import TRADITIONAL_TO_SIMPLIFIED, fold, normalize_text, words

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
