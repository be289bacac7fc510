"""OFAC's delta file: what one Sanctions List Service publication changed.

`https://sanctionslistservice.ofac.treas.gov/changes/latest` answers with the latest
publication's changes: `<sanctionsData>` (namespace
`https://www.treasury.gov/ofac/DeltaFile/1.0`) holding `publicationInfo/datePublished`
and `entities/entity` elements, each with OFAC's id and an `action` of `add`, `change`
or `remove`; an entity has `generalInfo/entityType`, `sanctionsPrograms/sanctionsProgram`,
`names/name` (`isPrimary`, `translations/translation/formattedFullName`), `features/
feature` (`type`, `value`) and `addresses/address/country`.

No real delta file could be obtained while this was written; the layout above is the one
public parsers of the file read, and the tests use a file we wrote in that layout. Only
additions are news here (a changed entry keeps its designation); the publication's
additions are one item, dated by the publication and linked to OFAC's page for that day.
Unlike the whole lists, a delta covers one publication: a poll that misses a publication
(two within one interval) misses its item, so poll it often or keep a whole list too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from vigil.adapters.sources.ofac import AUTHORITY, DETAILS_URL
from vigil.adapters.sources.xmltools import DocumentError, descendants, local, parse_xml, text_of
from vigil.domain.designations import Entry, entry_item, group
from vigil.domain.models import Item, Source

RECENT_ACTIONS_URL = "https://ofac.treasury.gov/recent-actions/{day:%Y%m%d}"
# Feature types that say where a party belongs (the rest: birth dates, vessel types, ...).
_WHERE_FEATURES = ("nationality", "citizenship", "flag", "location")


def parse(body: bytes, source: Source) -> list[Item]:
    """The publication's additions as one item (none when it added nobody)."""
    root = parse_xml(body)
    if local(root.tag) != "sanctionsData":
        raise DocumentError(f"expected an OFAC delta <sanctionsData>, got <{local(root.tag)}>")
    published = _published(root)
    entities = list(descendants(root, "entity"))
    if entities and not any(node.get("action") for node in entities):
        # The layout was built without a real file: if OFAC's differs, say so rather
        # than find nothing new forever.
        raise DocumentError("OFAC delta entities carry no action attribute: the layout is not the one Vigil reads")
    added = [_entry(node) for node in entities if node.get("action", "").lower() == "add" and node.get("id")]
    items = [entry_item(source, entry, AUTHORITY) for entry in added if entry.name]
    if not items:
        return []
    publication = group(source, items)
    # The day's page, told apart by the publication: its URL is also the item's cross-source
    # seen key, and OFAC may publish twice a day (the page_list source of Recent Actions
    # lists the same day page, with nothing of the designated names to match topics).
    tag = publication.key.rsplit(":", 1)[-1]
    url = f"{RECENT_ACTIONS_URL.format(day=published)}#{tag}" if published else publication.url
    return [replace(publication, published=published, url=url)]


def _published(root: ET.Element) -> datetime | None:
    for info in descendants(root, "publicationInfo"):
        try:
            when = datetime.fromisoformat(text_of(info, "datePublished"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _entry(node: ET.Element) -> Entry:
    uid = node.get("id", "")
    programmes = tuple(" ".join((p.text or "").split()) for p in descendants(node, "sanctionsProgram") if p.text)
    countries = [" ".join((c.text or "").split()) for c in descendants(node, "country") if c.text]
    for feature in descendants(node, "feature"):
        kind = text_of(feature, "type").lower()
        value = text_of(feature, "value")
        if value and any(word in kind for word in _WHERE_FEATURES):
            countries.append(value)
    party_type = next((" ".join((t.text or "").split()) for t in descendants(node, "entityType")), "")
    return Entry(id=uid, name=_primary_name(node), party_type=party_type, programmes=programmes,
                 countries=tuple(dict.fromkeys(countries)), url=DETAILS_URL.format(uid=uid))


def _primary_name(node: ET.Element) -> str:
    """The primary name's primary (Latin) translation; else the first name given."""
    names = list(descendants(node, "name"))
    ordered = sorted(names, key=lambda n: text_of(n, "isPrimary").lower() != "true")
    for name in ordered:
        translations = sorted(descendants(name, "translation"),
                              key=lambda t: text_of(t, "isPrimary").lower() != "true")
        for translation in translations:
            full = text_of(translation, "formattedFullName")
            if full:
                return full
    return ""

