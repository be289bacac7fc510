"""Official pages without a feed: the entries of a page's list of links.

The source's `match` (a regular expression on the link's path) says which links are
list entries (Taiwan MND: `^/en/News/PLAAct/\\d+$`; Japan Joint Staff:
`^/js/pdf/\\d{4}/p\\d{8}_\\d+\\.pdf$`). Each matching link is one entry: its title
is the heading inside the link (else the link's text), its date a `<time datetime>`
or a YYYY.MM.DD-style date inside it. Not a whole-page diff: a changed banner or view
counter is not news. A link is closed by `</a>`, the next `<a>` or the end of its
list item, because some publishers (Japan's Joint Staff) never close theirs.

robots.txt is checked by the reader before the page is fetched (`robots.py`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from vigil.adapters.sources.xmltools import DocumentError
from vigil.domain.models import Item, Source
from vigil.domain.normalize import canonical_url, item_key

MAX_ENTRIES = 200
MAX_TEXT = 300
_DATE = re.compile(r"\b(\d{4})[./-](\d{1,2})[./-](\d{1,2})\b")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_ENDS_LINK = frozenset({"a", "li", "tr", "ul", "ol", "table"})


class _Entry:
    def __init__(self, href: str) -> None:
        self.href = href
        self.text: list[str] = []
        self.heading: list[str] = []
        self.when = ""


class _ListParser(HTMLParser):
    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.pattern = pattern
        self.base = ""
        self.entries: list[_Entry] = []
        self._open: _Entry | None = None
        self._heading = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "base" and not self.base:
            self.base = values.get("href", "")
        if tag in _ENDS_LINK:
            self._close()
        if tag == "a":
            href = values.get("href", "")
            if self.pattern.search(urlsplit(href).path or href) and len(self.entries) < MAX_ENTRIES:
                self._open = _Entry(href)
        elif self._open is not None:
            if tag == "time" and values.get("datetime"):
                self._open.when = values["datetime"]
            if tag in _HEADINGS:
                self._heading += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _ENDS_LINK:
            self._close()
        elif tag in _HEADINGS and self._heading:
            self._heading -= 1

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.text.append(data)
            if self._heading:
                self._open.heading.append(data)

    def _close(self) -> None:
        if self._open is not None:
            self.entries.append(self._open)
        self._open = None
        self._heading = 0


def parse(body: bytes, source: Source) -> list[Item]:
    if not source.match:
        raise DocumentError("a page_list source needs 'match' (a regular expression on entry link paths)")
    html = body.decode("utf-8", errors="replace")
    parser = _ListParser(re.compile(source.match))
    parser.feed(html)
    parser.close()
    parser._close()
    if not parser.entries:
        raise DocumentError(f"no links on the page match {source.match!r}")
    base = urljoin(source.url, parser.base) if parser.base else source.url
    items: dict[str, Item] = {}
    for entry in parser.entries:
        item = _item(entry, base, source)
        if item is not None:
            items.setdefault(item.key, item)  # a page may link one entry twice
    return list(items.values())


def _item(entry: _Entry, base: str, source: Source) -> Item | None:
    url = canonical_url(entry.href, base)
    text = _clean(" ".join(entry.text))
    title = _clean(" ".join(entry.heading)) or text
    if not url or not title:
        return None
    published = _date(entry.when) or _date(text)
    shown = f"{source.display_name}: {title}"
    if published:
        shown += f" ({published:%Y-%m-%d})"
    return Item(key=item_key(source.id, "", url, title), source_id=source.id, title=shown[:MAX_TEXT],
                summary="", url=url, published=published,
                lang=source.lang, source_name=source.display_name, provenance=source.provenance)


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


def _date(text: str) -> datetime | None:
    found = _DATE.search(text)
    if not found:
        return None
    try:
        return datetime(*(int(g) for g in found.groups()), tzinfo=UTC)
    except ValueError:
        return None
