"""feedparser on fetched bytes: real recorded feeds, and hostile or broken bodies."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from vigil.adapters.feeds import parse
from vigil.adapters.feeds.parse import parse_feed
from vigil.domain.models import Source

from tests.adapters import feedserver

SHARED_FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "feeds"
REAL_FEEDS = sorted(SHARED_FEEDS.glob("*.xml")) if SHARED_FEEDS.is_dir() else []
SOURCE = Source("test", "https://news.example.com/feed.xml")
RSS = {"content-type": "application/rss+xml"}
CYRILLIC = re.compile("[а-яА-Я]")


@pytest.fixture(params=REAL_FEEDS or [None], ids=lambda p: p.stem if p else "absent")
def real_feed(request: pytest.FixtureRequest) -> Path:
    if request.param is None:
        pytest.skip(f"recorded feeds not found at {SHARED_FEEDS} (they live in ../shared, never in the repo)")
    return request.param


def test_every_recorded_feed_yields_items_with_titles_and_links(real_feed: Path) -> None:
    parsed = parse_feed(real_feed.read_bytes(), RSS, Source(real_feed.stem, "https://feeds.example.com/x"))
    assert parsed.ok, parsed.error
    assert parsed.items
    for item in parsed.items:
        assert item.title.strip()
        assert item.url.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    ("stem", "script"),
    [
        ("ibash-org-ru-windows1251-rss2-TRUNCATED", CYRILLIC),
        ("qq-news-china-gb2312-rss2", re.compile("[\u4e00-\u9fff]")),
        ("aif-ru-russian-rss2-yandex-turbo", CYRILLIC),
    ],
)
def test_recorded_feeds_in_legacy_encodings_decode_cleanly(stem: str, script: re.Pattern[str]) -> None:
    path = SHARED_FEEDS / f"{stem}.xml"
    if not path.is_file():
        pytest.skip(f"{path} not found (recorded feeds live in ../shared)")
    parsed = parse_feed(path.read_bytes(), RSS, SOURCE)
    assert all(script.search(i.title) for i in parsed.items[:5])
    assert not any("\ufffd" in i.title for i in parsed.items)


# ---------------------------------------------------------------- broken and hostile bodies


def test_malformed_xml_is_parsed_best_effort_with_a_warning() -> None:
    parsed = parse_feed(feedserver.INVALID_XML, RSS, SOURCE)
    assert parsed.ok
    assert parsed.items[0].title == "Tom & Jerry unclosed"
    assert "malformed" in parsed.warning


def test_entity_expansion_bombs_are_refused_quickly() -> None:
    started = time.monotonic()
    parsed = parse_feed(feedserver.BILLION_LAUGHS, RSS, SOURCE)
    assert "entity expansion" in parsed.error
    assert time.monotonic() - started < 0.5


def test_a_quadratic_blowup_entity_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
        b"<rss><channel><title>" + b"&a;" * 10_000 + b"</title></channel></rss>"
    )
    assert "entity" in parse_feed(body, RSS, SOURCE).error


def test_short_character_entities_are_allowed() -> None:
    body = feedserver.rss("ent").replace(
        b"<rss", b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]><rss'
    ).replace(b"ent item 0", b"ent&nbsp;item 0")
    parsed = parse_feed(body, RSS, SOURCE)
    assert parsed.ok and len(parsed.items) == 3


def test_a_wrong_charset_is_parsed_best_effort_with_a_warning() -> None:
    body = feedserver.rss("wrong").replace(b"wrong item 0", feedserver.CYRILLIC_TITLE.encode("cp1251"))
    parsed = parse_feed(body, {"content-type": "application/rss+xml; charset=utf-8"}, SOURCE)
    assert parsed.ok and len(parsed.items) == 3
    assert "declared as utf-8" in parsed.warning


def test_a_missing_charset_falls_back_to_detection() -> None:
    body = feedserver.rss("nocs", declare=None).replace(b"nocs item 0", feedserver.CYRILLIC_TITLE.encode())
    parsed = parse_feed(body, {"content-type": "application/xml"}, SOURCE)
    assert parsed.items[0].title == feedserver.CYRILLIC_TITLE


def test_the_charset_in_the_content_type_header_is_honoured() -> None:
    body = feedserver.rss("koi", declare=None).replace(b"koi item 0", feedserver.CYRILLIC_TITLE.encode("koi8-r"))
    parsed = parse_feed(body, {"content-type": "application/xml; charset=koi8-r"}, SOURCE)
    assert parsed.items[0].title == feedserver.CYRILLIC_TITLE


def test_an_html_page_instead_of_a_feed_is_an_error() -> None:
    parsed = parse_feed(feedserver.HTML_PAGE, {"content-type": "text/html; charset=utf-8"}, SOURCE)
    assert parsed.error.startswith("not a feed") and "HTML" in parsed.error


def test_an_html_page_with_a_feed_content_type_is_still_recognised() -> None:
    assert "HTML page" in parse_feed(feedserver.HTML_PAGE, RSS, SOURCE).error


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01\x02 junk", b'{"json": true}'])
def test_empty_or_garbage_bodies_are_errors(body: bytes) -> None:
    assert parse_feed(body, RSS, SOURCE).error


def test_a_valid_feed_without_entries_is_not_an_error() -> None:
    parsed = parse_feed(feedserver.rss("none", items=0), RSS, SOURCE)
    assert parsed.ok and parsed.items == [] and parsed.title == "none"


@pytest.mark.parametrize("body", [b"/etc/passwd", b"http://127.0.0.1:9/feed", b"file:///etc/hostname"])
def test_a_body_that_looks_like_a_path_or_url_is_never_opened(body: bytes) -> None:
    # feedparser opens plain strings as files or URLs; parse_feed must treat them as data.
    parsed = parse_feed(body, RSS, SOURCE)
    assert parsed.items == [] and parsed.error


def test_entries_are_capped() -> None:
    parsed = parse_feed(feedserver.rss("many", items=30), RSS, SOURCE, max_entries=10)
    assert len(parsed.items) == 10 and parsed.entries == 30
    assert "only the first 10" in parsed.warning


def test_relative_links_resolve_against_the_site_link() -> None:
    body = feedserver.rss("rel").replace(b"https://news.example.com/rel/1", b"/articles/1")
    parsed = parse_feed(body, RSS, Source("rel", "https://feeds.example.org/rss/all.xml"))
    assert parsed.items[1].url == "https://news.example.com/articles/1"


def test_relative_links_without_a_site_link_resolve_against_the_feed_url() -> None:
    body = (
        feedserver.rss("rel")
        .replace(b"<link>https://news.example.com/rel</link>", b"")
        .replace(b"https://news.example.com/rel/1", b"/articles/1")
    )
    parsed = parse_feed(body, RSS, Source("rel", "https://feeds.example.org/rss/all.xml"))
    assert parsed.items[1].url == "https://feeds.example.org/articles/1"


def test_a_runaway_parse_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    def stuck(body: bytes, headers: dict[str, str]) -> Any:
        time.sleep(5)

    monkeypatch.setattr(parse, "_feedparser", stuck)
    started = time.monotonic()
    parsed = parse_feed(feedserver.rss("slow"), RSS, SOURCE, time_limit=0.2)
    assert "longer than 0.2s" in parsed.error
    assert time.monotonic() - started < 1


def test_a_description_that_makes_html_parsing_quadratic_is_read_quickly() -> None:
    started = time.monotonic()
    parsed = parse_feed(feedserver.QUADRATIC_HTML, RSS, SOURCE)
    assert time.monotonic() - started < 5  # generous: unbounded, this took minutes
    assert parsed.ok
    [item] = parsed.items
    assert item.title == "quadratic item 0" and item.summary.endswith("…")


def _slow_entries(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real = parse.entry_to_item

    def slow(entry: Any, source: Source, feed_link: str = "") -> Any:
        time.sleep(seconds)
        return real(entry, source, feed_link)

    monkeypatch.setattr(parse, "entry_to_item", slow)


def test_normalizing_entries_counts_against_the_parse_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given entries that each take 0.1 s to normalize, thirty of them
    _slow_entries(monkeypatch, 0.1)
    # When the feed is parsed with a 0.5 s limit
    started = time.monotonic()
    parsed = parse_feed(feedserver.rss("slow", items=30), RSS, SOURCE, time_limit=0.5)
    # Then it stops near the limit, keeping the entries read so far and saying so
    assert time.monotonic() - started < 2
    assert parsed.ok and 0 < len(parsed.items) < 30
    assert f"{len(parsed.items)} of 30 entries read" in parsed.warning


def test_a_feed_whose_first_entry_outlasts_the_limit_fails_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _slow_entries(monkeypatch, 5)
    started = time.monotonic()
    parsed = parse_feed(feedserver.rss("stuck"), RSS, SOURCE, time_limit=0.2)
    assert time.monotonic() - started < 2
    assert parsed.error == "parsing stopped at the time limit: 0 of 3 entries read"
    assert parsed.items == []


def test_the_limit_holds_between_entries_where_no_timer_signal_can_be_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given slow entries, parsed on a thread (SIGALRM works only on the main thread)
    _slow_entries(monkeypatch, 0.1)
    results: list[parse.ParsedFeed] = []
    worker = threading.Thread(
        target=lambda: results.append(parse_feed(feedserver.rss("t", items=30), RSS, SOURCE, time_limit=0.5))
    )
    started = time.monotonic()
    worker.start()
    worker.join(timeout=10)
    # Then the clock check between entries stops it at the limit (plus one entry)
    assert time.monotonic() - started < 2
    [parsed] = results
    assert 0 < len(parsed.items) < 30 and "entries read" in parsed.warning


def test_an_entry_that_breaks_normalization_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parse.entry_to_item

    def fragile(entry: Any, source: Source, feed_link: str = "") -> Any:
        if "item 1" in entry.get("title", ""):
            raise ValueError("odd entry")
        return real(entry, source, feed_link)

    monkeypatch.setattr(parse, "entry_to_item", fragile)
    parsed = parse_feed(feedserver.rss("fragile"), RSS, SOURCE)
    assert [i.title for i in parsed.items] == ["fragile item 0", "fragile item 2"]
    assert "1 entries skipped" in parsed.warning


# ---------------------------------------------------------------- parsing on worker processes


def _tasks(n: int) -> list[tuple[str, parse.ParseTask | None]]:
    tasks: list[tuple[str, parse.ParseTask | None]] = [
        (f"feed-{i}", parse.ParseTask(feedserver.rss(f"feed-{i}"), RSS, Source(f"feed-{i}", SOURCE.url)))
        for i in range(n)
    ]
    tasks.append(("not-modified", None))
    return tasks


@pytest.mark.parametrize("workers", [1, 2])
def test_the_parse_pool_gives_the_same_items_as_parsing_inline(workers: int) -> None:
    with parse.ParsePool[str](workers) as pool:
        assert pool.parallel is (workers > 1)
        results = dict(pool.parse_stream(_tasks(6)))
    assert results.pop("not-modified") is None
    assert sorted(results) == [f"feed-{i}" for i in range(6)]
    for tag, parsed in results.items():
        assert parsed is not None and [i.title for i in parsed.items] == [f"{tag} item {n}" for n in range(3)]


def test_the_parse_pool_falls_back_inline_without_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    # AWS Lambda has no /dev/shm: creating the process pool raises OSError there.
    def no_semaphores(*args: Any, **kwargs: Any) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(parse, "ProcessPoolExecutor", no_semaphores)
    with parse.ParsePool[str](4) as pool:
        results = dict(pool.parse_stream(_tasks(2)))
    assert not pool.parallel
    assert results["feed-1"] is not None and len(results["feed-1"].items) == 3


def test_entity_declarations_after_a_long_prolog_are_still_checked() -> None:
    padding = b"<!-- " + b"pad " * 40_000 + b"-->\n"
    body = feedserver.BILLION_LAUGHS.replace(b"<!DOCTYPE", padding + b"<!DOCTYPE", 1)
    assert "entity expansion" in parse_feed(body, RSS, SOURCE).error
