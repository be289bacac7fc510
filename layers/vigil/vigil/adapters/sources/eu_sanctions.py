"""The EU Financial Sanctions Files XML (v1.1): every `sanctionEntity`, keyed by `logicalId`.

Values are attributes, not text. A whole-list source: the cycle compares ids with the
previous poll's. The regulation's `programme` (RUS, CHN, UKR…) is the programme.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from vigil.adapters.sources.xmltools import DocumentError, children, local, parse_xml
from vigil.domain.designations import Entry, entry_item
from vigil.domain.models import Item, Source

AUTHORITY = "EU"
# The programme codes the topic cares about, spelled out for the classifier and readers.
PROGRAMMES = {"RUS": "RUS (Russia)", "UKR": "UKR (Ukraine territorial integrity, Russia)",
              "CHN": "CHN (China)", "BLR": "BLR (Belarus)"}


def parse(body: bytes, source: Source) -> list[Item]:
    root = parse_xml(body)
    if local(root.tag) != "export":
        raise DocumentError(f"expected the EU FSF <export>, got <{local(root.tag)}>")
    entries = (_entry(node) for node in children(root, "sanctionEntity"))
    return [entry_item(source, e, AUTHORITY) for e in entries if e.id and e.name]


def _entry(node: ET.Element) -> Entry:
    uid = node.get("logicalId", "")
    names = list(children(node, "nameAlias"))
    name = next((n.get("wholeName", "") for n in names if n.get("wholeName")), "")
    regulations = list(children(node, "regulation"))
    programmes = tuple(dict.fromkeys(PROGRAMMES.get(p, p) for r in regulations if (p := r.get("programme", ""))))
    countries = [c.get("countryDescription", "").title() for tag in ("citizenship", "address", "birthdate")
                 for c in children(node, tag) if c.get("countryDescription")]
    subject = next(children(node, "subjectType"), None)
    party = {"person": "Individual", "enterprise": "Entity"}.get(subject.get("code", "") if subject is not None
                                                                  else "", "")
    url = next((u.text.strip() for r in regulations for u in children(r, "publicationUrl") if u.text), "")
    return Entry(id=uid, name=name, party_type=party, programmes=programmes,
                 countries=tuple(dict.fromkeys(countries)), url=f"{url}#{uid}" if url else "")
