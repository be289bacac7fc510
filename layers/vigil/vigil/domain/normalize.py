"""Feed entries to `Item`s: canonical URLs, plain text, UTC dates, stable keys."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from vigil.domain.models import Item, Source
from vigil.domain.text import strip_outlet

MAX_TITLE = 500
MAX_SUMMARY = 2000
# Markup read per character of text kept. html.parser is quadratic on some unclosed
# constructs (`<a b="` repeated takes minutes at 260 KB), so a field is cut to this
# multiple of its text limit before parsing: room for real article HTML (tags, links,
# image srcsets), and well under a second for the worst input at MAX_SUMMARY.
MARKUP_PER_CHAR = 4

# Query parameters that only track the reader; dropping them makes the same
# article from a newsletter, a social post and the feed one canonical URL.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "oly_", "vero_", "_hs")
_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mkt_tok",
    "ncid", "ocid", "cmpid", "cmp", "smid", "sref", "ref_src", "rss", "feedtype", "src",
    "spm", "guccounter", "guce_referrer", "guce_referrer_sig", "__twitter_impression",
})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg"})
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "tr", "table", "section", "article", "figcaption"})
_SPACE = re.compile(r"\s+")
# An entity or character reference the markup cut split ("&am", "&#82"): dropped, not
# shown as text.
_PARTIAL_REF = re.compile(r"&#?\w*$")
_ECHO_SEPARATORS = " -–—|:\u00a0"
# C0/C1 controls and bidi overrides: invisible in Slack but able to reorder or hide text.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str, limit: int = MAX_SUMMARY) -> str:
    """Plain text from feed HTML: tags dropped, entities decoded, whitespace folded.

    At most `limit * MARKUP_PER_CHAR` characters of markup are read; a field cut there
    ends in "…" like one clipped to `limit`.
    """
    if not markup:
        return ""
    markup, cut = _clip_markup(markup, limit * MARKUP_PER_CHAR)
    if "<" in markup:
        parser = _TextExtractor()
        try:
            parser.feed(markup)
            parser.close()
            text = "".join(parser.parts)
        except Exception:  # html.parser is lenient; this is a last resort for odd input
            text = re.sub(r"<[^>]*>", " ", markup)
    else:
        text = html.unescape(markup)
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
    text = _SPACE.sub(" ", text).strip()
    return _clip(text, limit, cut=cut)


def _clip_markup(markup: str, size: int) -> tuple[str, bool]:
    """The first `size` characters of markup, cut where no tag, comment or reference
    is split, and whether anything was cut."""
    if len(markup) <= size:
        return markup, False
    head = markup[:size]
    # A comment may contain ">", so it is checked before tags; a split tag or comment
    # would otherwise come out as text when the parser closes.
    comment = head.rfind("<!--")
    if comment > head.rfind("-->"):
        head = head[:comment]
    tag = head.rfind("<")
    if tag > head.rfind(">"):
        head = head[:tag]
    return _PARTIAL_REF.sub("", head), True


def _clip(text: str, limit: int, *, cut: bool = False) -> str:
    """`text` in at most `limit` characters, ending in "…" when it (or its markup) was cut."""
    if cut and text and len(text) < limit:
        return text + "…"  # the text read is whole, the field it came from was not
    if len(text) <= limit and not (cut and text):
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 0.8:
        head = head[:space]
    return head.rstrip() + "…"


def canonical_url(url: str, base: str = "") -> str:
    """Absolute http(s) URL without tracking parameters or fragment; '' if not http(s)."""
    url = (url or "").strip()
    try:
        # Hostile feed text can make both raise (e.g. "https://[not-a-host").
        parts = urlsplit(urljoin(base, url) if base else url)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        return ""
    default_port = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def _is_tracking(key: str) -> bool:
    k = key.lower()
    return k in _TRACKING_PARAMS or k.startswith(_TRACKING_PREFIXES)


def entry_time(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's publication time in UTC (feedparser's parsed struct is already UTC)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict's own get() maps a missing "updated" onto "published"
        # with a DeprecationWarning.
        parsed = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if isinstance(parsed, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def item_key(source_id: str, guid: str, url: str, title: str) -> str:
    """A stable id for an entry: the same entry polled twice gets the same key.

    Keyed per source so two outlets syndicating one URL still count as two reports.
    Prefers the canonical URL, then the guid, then the title.
    """
    basis = url or guid or title
    digest = hashlib.blake2b(f"{source_id}\x1f{basis}".encode(), digest_size=12).hexdigest()
    return f"{source_id}:{digest}"


def url_key(url: str) -> str:
    """The cross-source seen key of a canonical URL: the same article in two feeds is
    one item. Hashed so a long URL cannot exceed a store's key size."""
    return "url:" + hashlib.blake2b(url.encode(), digest_size=16).hexdigest()


# A guid worth trusting across publishers: one built to be globally unique. A URN
# (RFC 8141), a tag URI (RFC 4151), an absolute http(s) URL with a dotted host, a UUID,
# or a message-id style "local@host.tld". Serial numbers ("12345"), file names
# ("report.pdf") and relative paths repeat between publishers and are not.
_GLOBAL_GUID = re.compile(
    r"urn:[a-z0-9][a-z0-9-]{0,31}:\S+"
    r"|tag:[a-z0-9.@-]+\.[a-z]{2,},\d{4}(?:-\d{2}){0,2}:\S*"
    r"|https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[^@\s]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
    re.IGNORECASE,
)


def global_guid(guid: str) -> str:
    """The entry's guid when it can identify the entry across feeds, else ""."""
    guid = guid.strip()
    return guid if len(guid) <= 2048 and _GLOBAL_GUID.fullmatch(guid) else ""


def guid_key(guid: str) -> str:
    """The cross-source seen key of a global guid (see `url_key`)."""
    return "guid:" + hashlib.blake2b(guid.encode(), digest_size=16).hexdigest()


def entry_to_item(entry: Mapping[str, Any], source: Source, feed_link: str = "") -> Item | None:
    """Normalize one feedparser entry; None when it has neither title nor link."""
    title = html_to_text(str(entry.get("title") or ""), MAX_TITLE)
    raw_summary = _summary_markup(entry)
    summary = html_to_text(raw_summary)
    link = _entry_link(entry)
    # An entry without a link has none: resolving "" would give the feed's own URL.
    url = canonical_url(link, feed_link or source.url) if link else ""
    guid = str(entry.get("id") or entry.get("guid") or "").strip()
    if not title and not url:
        return None
    if not title:
        title = _clip(summary, 120) or url
    lang = _lang(entry, source)
    outlet = _outlet(entry, source)
    key = item_key(source.id, guid, url, title)
    title, summary = strip_aggregator_echo(title, summary, outlet)
    return Item(
        key=key,
        source_id=source.id,
        title=title,
        summary=summary,
        url=url,
        published=entry_time(entry),
        lang=lang,
        source_name=outlet,
        guid=global_guid(guid),
    )


def strip_aggregator_echo(title: str, summary: str, outlet: str) -> tuple[str, str]:
    """Drop the " - Outlet" suffix aggregators add to titles and a summary that only
    repeats the title (Google News descriptions are "<title> <outlet>")."""
    # Only the outlet's own name: a guessed one would cut headlines people read.
    title = strip_outlet(title, outlet, guess=False)
    if title and summary.startswith(title):
        rest = summary[len(title):].lstrip(_ECHO_SEPARATORS)
        while outlet and rest.startswith(outlet):
            rest = rest[len(outlet):].lstrip(_ECHO_SEPARATORS)
        summary = rest
    return title, summary


def _summary_markup(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary") or entry.get("description") or ""
    if not summary:
        for content in entry.get("content") or ():
            value = content.get("value") if isinstance(content, Mapping) else None
            if value:
                return str(value)
    return str(summary)


def _entry_link(entry: Mapping[str, Any]) -> str:
    link = entry.get("link")
    if link:
        return str(link)
    for candidate in entry.get("links") or ():
        if not isinstance(candidate, Mapping) or candidate.get("rel", "alternate") != "alternate":
            continue
        if candidate.get("href"):
            return str(candidate["href"])
    guid = str(entry.get("id") or "")
    return guid if guid.startswith(("http://", "https://")) else ""


def _outlet(entry: Mapping[str, Any], source: Source) -> str:
    # Aggregators (Google News) name the real outlet per entry.
    src = entry.get("source")
    if isinstance(src, Mapping) and src.get("title"):
        return html_to_text(str(src["title"]), 100)
    return source.display_name


def _lang(entry: Mapping[str, Any], source: Source) -> str:
    detail = entry.get("title_detail")
    language = detail.get("language") if isinstance(detail, Mapping) else None
    if language:
        return str(language).split("-")[0].lower()[:8]
    return source.lang
