"""Cross-source deduplication through run_cycle: one article in two feeds is one item."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import pytest
from vigil.adapters.feeds.parse import parse_feed
from vigil.domain.models import Item, Subscription
from vigil.domain.normalize import global_guid
from vigil.services.cycle import CycleOptions
from vigil.services.store import Store

from tests.unit.test_pipeline import DRILLS, NOW, SOURCES, cycle, item, known_sources_store


@pytest.fixture
def store() -> Iterator[Store]:
    s = known_sources_store(SOURCES, [Subscription("C-TW", "taiwan")])
    yield s
    s.close()


def test_same_article_in_two_feeds_is_one_alert_and_no_reply(store: Store) -> None:
    # Given the same article (same canonical URL) listed by two configured feeds
    article = item("wire", DRILLS)
    copy = dataclasses.replace(article, key="post:copy", source_id="post", source_name="Post")
    # When one cycle reads both
    sink, report = cycle(store, {"wire": [article], "post": [copy]})
    # Then it is one story with one outlet: no "also reported by" reply
    assert [a.kind for a in sink.alerts] == ["new"]
    assert sink.alerts[0].story.sources == ("Wire",)
    assert report.follow_ups == 0
    assert report.duplicates == 1


def test_a_copy_seen_in_a_later_cycle_is_skipped_and_not_looked_up_again(store: Store) -> None:
    article = item("wire", DRILLS)
    cycle(store, {"wire": [article]})
    copy = dataclasses.replace(article, key="post:copy", source_id="post", source_name="Post")
    sink, report = cycle(store, {"post": [copy]}, options=CycleOptions(force=True))
    assert sink.alerts == []
    assert report.duplicates == 1
    assert store.unseen(["post:copy"]) == set(), "the copy is marked seen under its own key"


def test_different_articles_from_two_outlets_still_make_a_follow_up(store: Store) -> None:
    other = "Chinese military stages live-fire drills around Taiwan to rehearse a blockade"
    sink, report = cycle(store, {"wire": [item("wire", DRILLS)], "post": [item("post", other)]})
    assert [a.kind for a in sink.alerts] == ["new", "update"]
    assert report.duplicates == 0


# Written for these tests: link-less notices, as some official and wire feeds publish them.
def _linkless_rss(guids: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f'<item><title>{title}</title><guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=20))}</pubDate></item>"
        for guid, title in guids)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title>'
            f"<link>https://notices.example/</link><description>d</description>{entries}</channel></rss>").encode()


def _parsed(source: str, body: bytes) -> list[Item]:
    found = parse_feed(body, {}, next(s for s in SOURCES if s.id == source))
    assert not found.error, found.error
    return found.items


@pytest.mark.parametrize(("guid", "kept"), [
    ("tag:notices.example,2026:drills-17", True),
    ("urn:uuid:6f1c2a9e-8d1b-4c55-9f0e-0a7b3c1d2e4f", True),
    ("6f1c2a9e-8d1b-4c55-9f0e-0a7b3c1d2e4f", True),
    ("notice-17@notices.example.org", True),
    ("https://notices.example/17", True),
    ("17", False),  # a serial number: another publisher's "17" is another entry
    ("notice-17", False),
    ("report.pdf", False),  # file names and relative paths repeat between publishers
    ("article.php?id=5", False),
    ("News.Item.1234", False),
    ("urn:1", False),
    ("http:", False),
    ("https://localhost/17", False),
    ("", False),
])
def test_only_a_globally_unique_guid_identifies_an_entry_across_feeds(guid: str, kept: bool) -> None:
    assert global_guid(guid) == (guid if kept else "")


def test_a_linkless_entry_in_two_feeds_is_one_alert_by_its_guid(store: Store) -> None:
    guid = "tag:notices.example,2026:drills-17"
    wire = _parsed("wire", _linkless_rss([(guid, DRILLS)]))
    post = _parsed("post", _linkless_rss([(guid, DRILLS)]))
    assert wire[0].url == "" and wire[0].guid == guid
    sink, report = cycle(store, {"wire": wire, "post": post})
    assert [a.kind for a in sink.alerts] == ["new"]
    assert report.duplicates == 1


def test_linkless_entries_sharing_only_a_serial_number_stay_two_reports(store: Store) -> None:
    other = "Chinese military stages live-fire drills around Taiwan to rehearse a blockade"
    wire = _parsed("wire", _linkless_rss([("17", DRILLS)]))
    post = _parsed("post", _linkless_rss([("17", other)]))
    sink, report = cycle(store, {"wire": wire, "post": post})
    assert [a.kind for a in sink.alerts] == ["new", "update"]
    assert report.duplicates == 0
