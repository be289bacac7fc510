"""Source kinds beyond RSS/Atom: each turns a fetched document into items.

`parse(body, source)` per kind, dispatched by `Source.kind` from the feed parser (so
every kind gets the same size cap, hostile-XML check, time limit and parse pool).
Whole-list kinds publish their complete list every time: what is new is what the
previous poll did not list (`vigil.services.cycle` compares entry ids).
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.adapters.sources import eu_sanctions, federal_register, ofac, ofac_delta, page_list, uk_sanctions
from vigil.adapters.sources.xmltools import DocumentError
from vigil.domain.models import Item, Source

PARSERS: dict[str, Callable[[bytes, Source], list[Item]]] = {
    "federal_register": federal_register.parse,
    "ofac": ofac.parse,
    "ofac_delta": ofac_delta.parse,
    "uk_sanctions": uk_sanctions.parse,
    "eu_sanctions": eu_sanctions.parse,
    "page_list": page_list.parse,
}
WHOLE_LIST_KINDS = frozenset({"ofac", "uk_sanctions", "eu_sanctions", "page_list"})

__all__ = ["PARSERS", "WHOLE_LIST_KINDS", "DocumentError"]
