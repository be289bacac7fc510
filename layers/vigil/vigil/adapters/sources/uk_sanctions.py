"""The UK Sanctions List (FCDO) XML: every designation, keyed by its `UniqueID`.

A whole-list source: the cycle compares ids with the previous poll's. `UniqueID`
carries the regime (RUS…, CHN…); the regime's statutory name goes in the item, so a
Russia regime designation says "Russia" even when no address does.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from vigil.adapters.sources.xmltools import DocumentError, children, descendants, local, parse_xml, text_of
from vigil.domain.designations import Entry, entry_item
from vigil.domain.models import Item, Source

AUTHORITY = "UK"
# The list's publication page; the id in the fragment keeps each entry's link distinct.
LIST_PAGE = "https://www.gov.uk/government/publications/the-uk-sanctions-list#{uid}"


def parse(body: bytes, source: Source) -> list[Item]:
    root = parse_xml(body)
    if local(root.tag) != "Designations":
        raise DocumentError(f"expected the UK Sanctions List <Designations>, got <{local(root.tag)}>")
    return [entry_item(source, e, AUTHORITY) for e in map(_entry, children(root, "Designation")) if e.id]


def _entry(node: ET.Element) -> Entry:
    uid = text_of(node, "UniqueID")
    regime = text_of(node, "RegimeName")
    if uid[:3].upper() == "RUS" and "Russia" not in regime:
        regime = f"{regime} (Russia regime)".strip()
    countries = [" ".join((c.text or "").split()) for tag in ("AddressCountry", "Nationality", "Country")
                 for c in descendants(node, tag) if c.text]
    return Entry(id=uid, name=_primary_name(node), party_type=text_of(node, "IndividualEntityShip"),
                 programmes=(regime,) if regime else (), countries=tuple(dict.fromkeys(countries)),
                 url=LIST_PAGE.format(uid=uid))


def _primary_name(node: ET.Element) -> str:
    names = list(descendants(node, "Name"))
    primary = next((n for n in names if text_of(n, "NameType") == "Primary Name"), names[0] if names else None)
    if primary is None:
        return ""
    return " ".join(p for p in (text_of(primary, f"Name{i}") for i in range(1, 7)) if p)
