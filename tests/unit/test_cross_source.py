"""Cross-source deduplication through run_cycle: one article in two feeds is one item."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from vigil.domain.models import Subscription
from vigil.services.cycle import CycleOptions
from vigil.services.store import Store

from tests.unit.test_pipeline import DRILLS, SOURCES, cycle, item, known_sources_store


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
