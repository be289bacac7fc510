"""The summary line of `vigil run` when nothing changed upstream."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vigil.domain.models import Source, SourceState
from vigil.ports import FeedOutcome
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.store import Store

SOURCES = [Source(f"s{n}", f"https://s{n}.example/rss") for n in range(6)]


class NotModified:
    """Every feed answers 304 Not Modified."""

    def read(self, sources: Sequence[Source], states: dict[str, SourceState]
             ) -> Iterator[tuple[Source, FeedOutcome]]:
        for source in sources:
            yield source, FeedOutcome(items=None, status=304)


class NoSink:
    def send(self, keys: list[str]) -> None:
        raise AssertionError("nothing to send")


def test_a_run_where_every_feed_answered_304_says_so(store: Store) -> None:
    report = run_cycle(SOURCES, [], store, NotModified(), NoSink(), CycleOptions(force=True))

    assert report.summary_line().startswith("sources: 6 ok, 0 failed | items: none new (6 not modified) | alerts: 0")


def test_the_items_part_is_unchanged_when_items_came(store: Store) -> None:
    report = CycleReport(sources_ok=3, sources_not_modified=1, items_fetched=9, items_new=2, items_matched=1)

    assert "| items: 2 new of 9, 1 on topic |" in report.summary_line()
    assert "items: 0 new of 0, 0 on topic" in CycleReport().summary_line()
