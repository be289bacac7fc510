"""The pipeline's feed reader: fetch and parse together, over loopback HTTP."""

from __future__ import annotations

import time

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import PARALLEL_PARSE_MIN_SOURCES, HttpFeedReader
from vigil.adapters.http.fetch import ALLOW_PRIVATE_ENV, Fetcher
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.models import Alert, Source, SourceState
from vigil.runtime.local import fetch_options
from vigil.services.cycle import run_cycle
from vigil.services.store import Store

from tests.adapters.feedserver import FeedServer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FeedServer:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with FeedServer() as srv:
        yield srv


def _read(sources: list[Source], workers: int, states: dict[str, SourceState] | None = None) -> dict:
    reader = HttpFeedReader(Fetcher(fetch_options(total_timeout=5.0)), parse_workers=workers)
    try:
        return {source.id: outcome for source, outcome in reader.read(sources, states or {})}
    finally:
        reader.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_large_cycle_parses_every_feed_inline_or_on_worker_processes(server: FeedServer, workers: int) -> None:
    # Given enough sources for the reader to parse on worker processes, and two bad ones
    good = [Source(f"s{i}", server.url(f"/feed/s{i}")) for i in range(PARALLEL_PARSE_MIN_SOURCES)]
    bad = [Source("page", server.url("/html")), Source("laughs", server.url("/billion-laughs"))]
    # When one cycle reads them all
    outcomes = _read([*good, *bad], workers)
    # Then every good feed has its items, and each bad one its own error
    assert len(outcomes) == len(good) + len(bad)
    for source in good:
        assert outcomes[source.id].error == ""
        assert [i.title for i in outcomes[source.id].items] == [f"{source.id} item {n}" for n in range(3)]
    assert "not a feed" in outcomes["page"].error
    assert outcomes["laughs"].error
    assert not outcomes["laughs"].items


def test_an_unchanged_feed_is_a_304_with_no_items_to_parse(server: FeedServer) -> None:
    source = Source("etagged", server.url("/feed/etagged"))
    first = _read([source], 1)["etagged"]
    assert first.items
    again = _read([source], 1, {"etagged": SourceState("etagged", etag=first.etag, modified=first.modified)})
    assert again["etagged"].status == 304
    assert again["etagged"].items is None
    assert again["etagged"].error == ""


def test_a_feed_that_makes_html_parsing_quadratic_does_not_hold_up_a_good_one(server: FeedServer) -> None:
    # Given, in one cycle, a feed whose description is minutes of html.parser work and a good feed
    hostile, good = Source("hostile", server.url("/quadratic-html")), Source("good", server.url("/feed/good"))
    # When the reader reads both
    started = time.monotonic()
    outcomes = _read([hostile, good], 1)
    # Then both are answered quickly (generous bound: unbounded, this took minutes)
    assert time.monotonic() - started < 10
    assert [i.title for i in outcomes["good"].items] == [f"good item {n}" for n in range(3)]
    # and the hostile item was read with a clipped summary, or the source failed with a reason
    hostile_outcome = outcomes["hostile"]
    assert hostile_outcome.error or [i.title for i in hostile_outcome.items or []] == ["quadratic item 0"]


class _Sink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alerts: list[Alert]) -> None:
        self.alerts.extend(alerts)


def test_a_source_dribbling_its_headers_is_recorded_as_failing_at_the_deadline(server: FeedServer) -> None:
    # Given a source whose server sends one header line every 0.3 s forever, and a good one
    dribbling, good = Source("dribbling", server.url("/dribble-headers")), Source("good", server.url("/feed/ok"))
    store = Store(SQLiteKV(":memory:"))
    reader = HttpFeedReader(Fetcher(fetch_options(total_timeout=2.0, backoff=0.01)), parse_workers=1)
    # When a cycle polls both with a 2 s fetch budget
    started = time.monotonic()
    try:
        report = run_cycle([dribbling, good], load_topics(), store, reader, _Sink())
    finally:
        reader.close()
    # Then the cycle ends near the deadline and the source is recorded as failing, with why
    assert time.monotonic() - started < 2.0 + 3.0
    assert (report.sources_ok, report.sources_failed) == (1, 1)
    state = store.source_states_of(["dribbling"])["dribbling"]
    assert state.consecutive_failures == 1
    assert "timed out" in state.last_error and "total timeout" in state.last_error
    assert store.source_states_of(["good"])["good"].consecutive_failures == 0
    store.close()
