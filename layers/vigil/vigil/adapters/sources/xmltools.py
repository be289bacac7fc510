"""Small helpers for reading publishers' XML by local element names.

Publishers move namespaces between releases (OFAC's legacy XML had tempuri.org, the
2026 export another URI), so matching ignores them. The bodies reach here only after
`vigil.adapters.feeds.parse` refused hostile entity declarations, and expat fetches no
external entities.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree as ET


class DocumentError(ValueError):
    """The body is not the document this source kind reads; the message says why."""


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes) -> ET.Element:
    try:
        # S314: the feed parser's entity check ran first (no billion laughs, no long
        # entity values) and expat resolves no external entities.
        return ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise DocumentError(f"not well-formed XML: {exc}") from None


def children(node: ET.Element, name: str) -> Iterator[ET.Element]:
    return (c for c in node if local(c.tag) == name)


def descendants(node: ET.Element, name: str) -> Iterator[ET.Element]:
    return (c for c in node.iter() if local(c.tag) == name)


def text_of(node: ET.Element, name: str) -> str:
    """The stripped text of the first child named `name`, or ''."""
    for child in children(node, name):
        return " ".join((child.text or "").split())
    return ""
