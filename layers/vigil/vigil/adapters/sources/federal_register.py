"""Federal Register documents API (JSON): one item per document of a search query.

The query is the source URL (`/api/v1/documents.json?conditions[agencies][]=…`).
Results have a unique `document_number` and a publication date, so they take the
feed path: the seen-store drops documents already delivered and a new source's first
poll alerts only on documents inside the backlog grace. An empty search answers
without a `results` key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from vigil.adapters.sources.xmltools import DocumentError
from vigil.domain.models import Item, Source
from vigil.domain.normalize import canonical_url, html_to_text, item_key

MAX_DOCUMENTS = 200


def parse(body: bytes, source: Source) -> list[Item]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"not JSON: {exc}") from None
    # The envelope, or (as some captures keep) the bare results array.
    results = data if isinstance(data, list) else data.get("results", []) if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise DocumentError("not a Federal Register documents response (no results list)")
    if isinstance(data, dict) and "results" not in data and "count" not in data:
        raise DocumentError("not a Federal Register documents response (no count or results)")
    return [i for i in (_item(d, source) for d in results[:MAX_DOCUMENTS] if isinstance(d, dict)) if i]


def _item(doc: dict[str, Any], source: Source) -> Item | None:
    number = str(doc.get("document_number") or "")
    title = html_to_text(str(doc.get("title") or ""), 300)
    if not number or not title:
        return None
    url = canonical_url(str(doc.get("html_url") or ""))
    agencies = [str(a.get("name") or a.get("raw_name") or "") for a in doc.get("agencies") or []
                if isinstance(a, dict)]
    kind = str(doc.get("type") or "Document")
    abstract = html_to_text(str(doc.get("abstract") or ""))
    summary = " ".join(p for p in (f"{kind} by {', '.join(a for a in agencies if a)}." if agencies else "",
                                   abstract) if p)
    return Item(key=item_key(source.id, number, url, title), source_id=source.id, title=title,
                summary=summary, url=url, published=_date(doc.get("publication_date")), lang="en",
                source_name=source.display_name, provenance=source.provenance)


def _date(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
