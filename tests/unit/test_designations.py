"""Sanctions-list entries as items: who, programme, country, and the Russia/China tie."""

from __future__ import annotations

import pytest
from vigil.domain.designations import Entry, entry_item, group, short_name, ties
from vigil.domain.models import Source

LIST = Source("ofac", "https://lists.example/sdn.xml", name="OFAC SDN List", kind="ofac", provenance="official")


@pytest.mark.parametrize(("entry", "expected"), [
    (Entry("1", "A", programmes=("RUSSIA-EO14024",)), ("Russia",)),
    (Entry("2", "B", programmes=("CMIC-EO13959",)), ("China",)),
    (Entry("3", "C", programmes=("NPWMD",), countries=("Hong Kong",)), ("China",)),
    (Entry("4", "D", programmes=("RUS (Russia)",), countries=("China",)), ("Russia", "China")),
    (Entry("5", "E", programmes=("The Belarus (Sanctions) (EU Exit) Regulations 2019",)), ()),
    (Entry("6", "F", programmes=("BLR (Belarus)",), countries=("Belarus",)), ()),
    (Entry("7", "G", programmes=("IRQ",), countries=("Iraq",)), ()),
])
def test_ties_come_from_programme_or_country_never_from_a_substring(entry: Entry, expected: tuple[str, ...]) -> None:
    assert ties(entry) == expected


def test_an_entry_item_names_who_programme_and_country_and_says_the_tie() -> None:
    item = entry_item(LIST, Entry("34682", "JOINT STOCK COMPANY ALFA-BANK", "Entity", ("RUSSIA-EO14024",),
                                  ("Russia",), "https://ofac.example/34682"), "OFAC")
    assert item.key == "ofac:34682"
    assert item.title == "OFAC sanctions ALFA-BANK (Russia)"
    assert "JOINT STOCK COMPANY ALFA-BANK" in item.summary and "RUSSIA-EO14024" in item.summary
    assert "Russia-related sanctions designation by OFAC." in item.summary
    assert item.provenance == "official"


def test_a_publication_of_several_entries_is_one_item_naming_them() -> None:
    items = [entry_item(LIST, Entry(str(n), f"PARTY {n} LLC", "Entity", ("RUSSIA-EO14024",), ("Russia",)), "OFAC")
             for n in range(6)]
    grouped = group(LIST, items)
    assert grouped.title == "OFAC sanctions 6 parties: PARTY 0 (Russia), PARTY 1 (Russia), PARTY 2 (Russia), " \
                            "PARTY 3 (Russia) and 2 more"
    assert "PARTY 5" in grouped.summary and "Programmes: RUSSIA-EO14024." in grouped.summary
    assert grouped.summary.count("Russia-related sanctions designation by OFAC.") == 1
    assert group(LIST, items[:1]) is items[0]


@pytest.mark.parametrize(("name", "short"), [
    ("JOINT STOCK COMPANY ALFA-BANK", "ALFA-BANK"),
    ("VTB BANK PUBLIC JOINT STOCK COMPANY", "VTB BANK"),
    ("ANGLO-CARIBBEAN CO., LTD.", "ANGLO-CARIBBEAN"),
    ("LLC", "LLC"),
])
def test_short_name_drops_legal_forms_only(name: str, short: str) -> None:
    assert short_name(name) == short
