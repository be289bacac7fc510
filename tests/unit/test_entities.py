"""Named things and figures as language-independent ids (the alias table and figure parsing).

Texts here are written for these tests (never copied from real outlets).
"""

from __future__ import annotations

import pytest
from vigil.domain.entities import chinese_number, entity_mentions, figures, ids_of, weight_of


def ids(text: str) -> set[str]:
    return set(ids_of(entity_mentions(text)))


def figure_ids(text: str) -> set[str]:
    return {f for f in figures(text).ids if f}


# ---------------------------------------------------------------- aliases


@pytest.mark.parametrize(("texts", "entity"), [
    (["Two Tu-95 bombers", "два Ту-95МС", "两架图-95轰炸机"], "weapon:tu95"),
    (["Shoigu met the envoy", "Шойгу встретился с послом", "绍伊古会见大使"], "person:shoigu"),
    (["ships in the Taiwan Strait", "корабли в Тайваньском проливе", "台湾海峡的船只", "臺灣海峽"],
     "place:taiwan_strait"),
    (["the PLA said", "НОАК заявила", "解放军表示", "解放軍表示"], "force:pla"),
    (["OFAC designated them", "Минфин США ввел", "美国财政部宣布"], "org:us_treasury"),
    (["the EU agreed", "Евросоюз согласовал", "ЕС согласовал", "欧盟同意"], "org:eu"),
    (["new sanctions", "новые санкции", "新的制裁"], "act:sanction"),
    (["the Sea of Japan", "в Японском море", "日本海"], "place:sea_of_japan"),
    (["China's commerce ministry", "Минкоммерции КНР", "商务部"], "org:mofcom"),
])
def test_one_thing_has_one_id_in_english_russian_and_chinese(texts: list[str], entity: str) -> None:
    for text in texts:
        assert entity in ids(text), text


def test_longest_form_wins_and_names_inside_longer_names_do_not_count() -> None:
    assert "programme:unreliable_entity_list" in ids("China adds firms to its unreliable entity list")
    assert "programme:entity_list" not in ids("列入不可靠实体清单")
    assert "programme:unreliable_entity_list" in ids("列入不可靠实体清单")
    assert "country:japan" not in ids("drills in the Sea of Japan")
    assert "country:us" not in ids("20亿美元"), "美元 is the dollar, not America"


def test_a_chinese_compound_names_both_countries_and_an_agency_names_its_country() -> None:
    assert {"country:china", "country:russia"} <= ids("中俄举行联合演习")
    assert "country:us" in ids("Treasury warns banks")


def test_case_tells_the_us_from_us() -> None:
    assert "country:us" in ids("US sanctions three firms")
    assert "country:us" not in ids("officials told us on Monday")


def test_named_ships_are_ids_in_each_language() -> None:
    assert "ship:higgins" in ids("USS Higgins sailed north")
    assert "ship:希金斯" in ids("美军军舰「希金斯号」通过")


def test_main_countries_weigh_less_than_names() -> None:
    assert weight_of("country:china") < weight_of("act:drill") < weight_of("person:shoigu")


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("text", [
    "$2 billion", "$2bn", "US$2 billion", "2 billion dollars", "2 млрд долларов", "20亿美元", "二十亿美元",
])
def test_amounts_in_any_format_are_one_figure(text: str) -> None:
    assert figure_ids(text) == {"M:2e+09"}


def test_millions_in_short_and_long_form_agree() -> None:
    assert figure_ids("a $330M package") == figure_ids("a $330 million package") == {"M:3.3e+08"}


@pytest.mark.parametrize("text", ["17th package", "17-й пакет", "семнадцатый пакет", "第十七轮", "第17轮"])
def test_ordinals_in_digits_or_words_are_one_figure(text: str) -> None:
    assert figure_ids(text) == {"O:17"}


def test_counts_years_and_dates_are_told_apart() -> None:
    found = figure_ids("Russia bans 500 Americans on May 19, 2023")
    assert found == {"N:500", "D:5-19", "Y:2023"}
    assert figure_ids("19 мая") == {"D:5-19"} == figure_ids("5月19日")


def test_chinese_numerals() -> None:
    assert [chinese_number(t) for t in ("十五", "二十", "一百零三", "42")] == [15, 20, 103, 42]
    assert chinese_number("多") is None
