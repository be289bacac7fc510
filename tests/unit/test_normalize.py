"""Feed entries to items: canonical URLs, plain text, UTC dates, stable keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vigil.domain.models import Source
from vigil.domain.normalize import (
    MARKUP_PER_CHAR,
    MAX_SUMMARY,
    canonical_url,
    entry_time,
    entry_to_item,
    html_to_text,
    item_key,
    strip_aggregator_echo,
)

SOURCE = Source(id="harbor", url="https://harbor.example/feed.xml", name="Harbor Ledger")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://Example.org/a?utm_source=rss&utm_medium=x&id=7", "https://example.org/a?id=7"),
        ("https://example.org:443/a#section", "https://example.org/a"),
        ("http://example.org:8080/a?fbclid=abc", "http://example.org:8080/a"),
        ("https://example.org", "https://example.org/"),
        ("/relative/path?gclid=1", "https://harbor.example/relative/path"),
        ("javascript:alert(1)", ""),
        ("ftp://example.org/file", ""),
        ("https://[not-a-host", ""),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw, "https://harbor.example/feed.xml") == expected


@given(st.text())
def test_canonical_url_never_raises_and_is_http_or_empty(raw: str) -> None:
    url = canonical_url(raw)
    assert url == "" or url.startswith(("http://", "https://"))


def test_html_becomes_plain_text_without_scripts() -> None:
    markup = "<p>Ships &amp; planes</p><script>steal()</script><p>sailed&nbsp;<b>north</b></p>"
    assert html_to_text(markup) == "Ships & planes sailed north"


def test_invisible_and_bidi_control_characters_are_removed() -> None:
    assert html_to_text("a\u202eb\u200bc\x00d") == "abcd"


def test_long_text_is_clipped_at_a_word_with_an_ellipsis() -> None:
    text = html_to_text("word " * 1000, limit=100)
    assert len(text) <= 100
    assert text.endswith("…")


def test_unclosed_markup_that_makes_html_parser_quadratic_is_cut_before_parsing() -> None:
    # Given 263 KB of one unclosed attribute after another (minutes of html.parser work)
    markup = '<a b="' * 30_000
    # When it becomes a summary
    started = time.monotonic()
    text = html_to_text(markup)
    # Then only a bounded head of it was parsed (generous bound: the point is not minutes)
    assert time.monotonic() - started < 3
    assert len(text) <= MAX_SUMMARY and text.endswith("…")


def test_markup_is_cut_between_tags_so_no_tag_becomes_text() -> None:
    filler = "<p>" + "word " * (MAX_SUMMARY * MARKUP_PER_CHAR // 5 - 3)
    markup = filler + '<a href="https://harbor.example/a-long-link">link</a> more words</p>'
    text = html_to_text(markup)
    assert "href" not in text and "<" not in text
    assert len(text) <= MAX_SUMMARY and text.endswith("…")


def test_a_comment_or_reference_split_by_the_cut_is_dropped_not_shown() -> None:
    limit = 20
    size = limit * MARKUP_PER_CHAR
    comment = html_to_text("<p>Ships sailed.</p><!-- " + "> hidden " * size + "-->", limit)
    assert comment == "Ships sailed.…"
    assert html_to_text(" " * (size - 4) + "x&amp; y", limit) == "x…"


def test_short_markup_is_not_marked_as_cut() -> None:
    assert html_to_text("<p>Ships sailed.</p>") == "Ships sailed."


def test_entry_time_is_utc() -> None:
    parsed = time.strptime("2026-11-17 13:05:00", "%Y-%m-%d %H:%M:%S")
    assert entry_time({"published_parsed": parsed}) == datetime(2026, 11, 17, 13, 5, tzinfo=UTC)
    assert entry_time({}) is None


def test_item_key_is_stable_and_per_source() -> None:
    a = item_key("harbor", "guid-1", "https://x.example/a", "t")
    assert a == item_key("harbor", "other-guid", "https://x.example/a", "t2")
    assert a != item_key("strait", "guid-1", "https://x.example/a", "t")


def test_entry_to_item_normalizes_everything() -> None:
    entry = {
        "title": "Drills &amp; patrols <b>resume</b>",
        "summary": "<p>Ships sailed.</p>",
        "link": "https://harbor.example/a?utm_campaign=x",
        "id": "tag:harbor,1",
    }
    item = entry_to_item(entry, SOURCE)
    assert item is not None
    assert item.title == "Drills & patrols resume"
    assert item.summary == "Ships sailed."
    assert item.url == "https://harbor.example/a"
    assert item.source_name == "Harbor Ledger"


def test_entry_without_title_or_link_is_dropped() -> None:
    assert entry_to_item({"summary": ""}, SOURCE) is None


def test_aggregator_suffix_and_echoed_summary_are_removed() -> None:
    title, summary = strip_aggregator_echo(
        "Navy ships sail through the strait - Harbor Ledger",
        "Navy ships sail through the strait - Harbor Ledger\u00a0\u00a0Harbor Ledger The transit was the third.",
        "Harbor Ledger",
    )
    assert title == "Navy ships sail through the strait"
    assert summary == "The transit was the third."


def test_summary_starting_with_the_outlet_name_alone_is_kept() -> None:
    _, summary = strip_aggregator_echo("Ships sail", "Harbor Ledger reports that ships sail.", "Harbor Ledger")
    assert summary == "Harbor Ledger reports that ships sail."


def test_summary_that_only_repeats_the_title_becomes_empty() -> None:
    assert strip_aggregator_echo("Ships sail north", "Ships sail north", "X") == ("Ships sail north", "")
