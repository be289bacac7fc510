"""The demo feeds and both shipped sources files are well formed.

The demo feeds are written for Vigil (fictional outlets) and must parse cleanly with
feedparser; the sources files must load with tomllib and describe usable sources.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "vigil" / "vigil"
DEMO_DIR = PACKAGE / "data" / "demo"
FEEDS_DIR = DEMO_DIR / "feeds"
DEMO_SOURCES = DEMO_DIR / "sources.toml"
DEFAULT_SOURCES = PACKAGE / "data" / "sources.toml"

LANGS = {"en", "ru", "zh"}
FAKE_BASE = "http://127.0.0.1:8000"

# Feeds whose encoding quirk is deliberate: none today (the GB2312 feed declares its
# encoding and parses without bozo when no conflicting HTTP charset is given).
BOZO_ALLOWED: set[str] = set()

DEMO_FEEDS = sorted(FEEDS_DIR.glob("*.xml"))


def _parse(path: Path):
    return feedparser.parse(path.read_bytes())


def _load_sources(path: Path) -> list[dict]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    sources = data.get("sources")
    assert isinstance(sources, list), f"{path.name}: no [[sources]] tables"
    assert sources, f"{path.name}: [[sources]] is empty"
    return sources


def test_there_are_demo_feeds():
    assert len(DEMO_FEEDS) >= 5


@pytest.mark.parametrize("path", DEMO_FEEDS, ids=lambda p: p.name)
def test_demo_feed_parses_with_titles_and_links(path: Path):
    parsed = _parse(path)
    if path.name not in BOZO_ALLOWED:
        assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')!r}"
    assert parsed.version, f"{path.name}: feedparser did not recognise the format"
    assert parsed.feed.get("title"), f"{path.name}: feed has no title"
    assert parsed.entries, f"{path.name}: no entries"
    for entry in parsed.entries:
        assert entry.get("title", "").strip(), f"{path.name}: entry without a title"
        assert entry.get("link", "").strip(), f"{path.name}: entry {entry.get('title')!r} has no link"
        assert entry.get("published_parsed") or entry.get("updated_parsed"), (
            f"{path.name}: entry {entry.get('title')!r} has no parseable date"
        )


def test_demo_feeds_cover_the_formats_and_languages():
    versions = {_parse(p).version for p in DEMO_FEEDS}
    assert {"rss20", "atom10", "rss10"} <= versions
    texts = " ".join(e.title for p in DEMO_FEEDS for e in _parse(p).entries)
    assert any("\u0400" <= ch <= "\u04ff" for ch in texts), "no Russian-language item"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in texts), "no Chinese-language item"


def test_demo_feeds_contain_a_hostile_title():
    titles = [e.title for p in DEMO_FEEDS for e in _parse(p).entries]
    hostile = [t for t in titles if "<!channel>" in t]
    assert hostile, "the demo should show that <!channel> in a title is escaped"
    assert any("<https://evil.example|click here>" in t and "&" in t for t in hostile)


def test_demo_feeds_have_about_thirty_items():
    total = sum(len(_parse(p).entries) for p in DEMO_FEEDS)
    assert 25 <= total <= 40


@pytest.mark.parametrize("path", [DEMO_SOURCES, DEFAULT_SOURCES], ids=["demo", "default"])
def test_sources_file_is_well_formed(path: Path):
    sources = _load_sources(path)
    ids = [s.get("id") for s in sources]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate ids"
    for source in sources:
        for key in ("id", "name", "url", "lang"):
            value = source.get(key)
            assert isinstance(value, str), f"{path.name}: {source.get('id')!r} lacks {key}"
            assert value.strip(), f"{path.name}: {source.get('id')!r} has an empty {key}"
        assert source["lang"] in LANGS, f"{source['id']}: lang {source['lang']!r}"
        url = source["url"].replace("{base}", FAKE_BASE)
        parts = urlsplit(url)
        assert parts.scheme in {"http", "https"}, f"{source['id']}: {url}"
        assert parts.hostname, f"{source['id']}: {url}"
        assert not any(ch.isspace() for ch in url), f"{source['id']}: whitespace in URL"
        if "interval_minutes" in source:
            interval = source["interval_minutes"]
            assert isinstance(interval, int), f"{source['id']}: interval_minutes"
            assert not isinstance(interval, bool), f"{source['id']}: interval_minutes"
            assert interval > 0, f"{source['id']}: interval_minutes"


def test_default_sources_are_real_https_feeds():
    sources = _load_sources(DEFAULT_SOURCES)
    assert 20 <= len(sources) <= 40
    for source in sources:
        assert "{base}" not in source["url"]
        assert urlsplit(source["url"]).scheme == "https", source["id"]


def test_demo_sources_match_the_feed_files():
    sources = _load_sources(DEMO_SOURCES)
    listed = set()
    for source in sources:
        url = source["url"]
        assert url.startswith("{base}/"), f"{source['id']}: demo urls are served from {{base}}"
        listed.add(url.removeprefix("{base}/"))
    assert listed == {p.name for p in DEMO_FEEDS}
