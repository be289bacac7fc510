"""OFAC sanctions lists: the legacy XML (`CONSOLIDATED.XML`, `SDN.XML`) and `SDN.CSV`.

The lists carry no per-entry date: every entry comes out, keyed by OFAC's own id
(`uid` / ent_num), and the cycle compares ids with the previous poll's (a whole-list
source). Changed entries keep their id and are not new designations; OFAC reorders
child elements between publications, so nothing here depends on order.
"""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree as ET

from vigil.adapters.sources.xmltools import DocumentError, children, descendants, local, parse_xml, text_of
from vigil.domain.designations import Entry, entry_item
from vigil.domain.models import Item, Source

AUTHORITY = "OFAC"
# OFAC's own page for one entry of its lists.
DETAILS_URL = "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={uid}"
_CSV_EMPTY = "-0-"


def parse(body: bytes, source: Source) -> list[Item]:
    """Every entry of an OFAC list, XML or CSV (told apart by the first byte)."""
    is_xml = body.lstrip().removeprefix(b"\xef\xbb\xbf")[:1] == b"<"
    entries = _xml_entries(body) if is_xml else _csv_entries(body)
    return [entry_item(source, e, AUTHORITY) for e in entries]


def _xml_entries(body: bytes) -> list[Entry]:
    root = parse_xml(body)
    if local(root.tag) != "sdnList":
        raise DocumentError(f"expected an OFAC <sdnList>, got <{local(root.tag)}>")
    return [_xml_entry(node) for node in children(root, "sdnEntry") if text_of(node, "uid")]


def _xml_entry(node: ET.Element) -> Entry:
    uid = text_of(node, "uid")
    name = " ".join(p for p in (text_of(node, "firstName"), text_of(node, "lastName")) if p)
    programmes = tuple(" ".join((p.text or "").split()) for p in descendants(node, "program"))
    countries = [" ".join((c.text or "").split()) for tag in ("country", "idCountry", "nationality", "citizenship")
                 for c in descendants(node, tag) if c.text]
    # Addresses first: where the party is, before the countries its documents name.
    return Entry(id=uid, name=name, party_type=text_of(node, "sdnType"), programmes=programmes,
                 countries=tuple(dict.fromkeys(countries)), url=DETAILS_URL.format(uid=uid))


def _csv_entries(body: bytes) -> list[Entry]:
    # No header; Windows-1252 in practice; a final Ctrl-Z byte ends the file.
    text = body.rstrip(b"\x1a\r\n").decode("cp1252", errors="replace")
    entries = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 4 or not row[0].strip().isdigit():
            if row and row[0].strip():
                raise DocumentError(f"not an OFAC SDN.CSV row: {row[0][:40]!r}")
            continue
        # An empty SDN_Type means an entity (individuals, vessels and aircraft are named).
        uid, name, party_type, programme = (_csv_value(v) for v in row[:4])
        remarks = _csv_value(row[11]) if len(row) > 11 else ""
        entries.append(Entry(id=uid, name=name, party_type=party_type.capitalize() or "Entity",
                             programmes=tuple(p.strip() for p in programme.split("] [") if p.strip()),
                             countries=_remark_countries(remarks), url=DETAILS_URL.format(uid=uid)))
    return entries


def _csv_value(value: str) -> str:
    value = value.strip()
    return "" if value == _CSV_EMPTY else value


def _remark_countries(remarks: str) -> tuple[str, ...]:
    """Countries the CSV's remarks name ("nationality Russia", "Linked To: ...")."""
    found = []
    for marker in ("nationality ", "citizen ", "Nationality ", "Citizenship "):
        for part in remarks.split(marker)[1:]:
            country = part.split(";")[0].split(".")[0].strip()
            if country and len(country) < 40:
                found.append(country)
    return tuple(dict.fromkeys(found))
