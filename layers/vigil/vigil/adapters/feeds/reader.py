"""The pipeline's feed reader over HTTP: concurrent fetch, then feedparser on the bytes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vigil.adapters.feeds.parse import ParsedFeed, ParsePool, ParseTask
from vigil.adapters.http.fetch import Fetcher, FetchJob, FetchResult
from vigil.adapters.sources.robots import RobotsCheck
from vigil.domain.models import Source, SourceState
from vigil.ports import FeedOutcome

# Below this many sources, starting parser processes costs more than it saves.
PARALLEL_PARSE_MIN_SOURCES = 40


class HttpFeedReader:
    def __init__(self, fetcher: Fetcher | None = None, parse_workers: int | None = None) -> None:
        self.fetcher = fetcher or Fetcher()
        self.parse_workers = parse_workers

    def read(
        self, sources: Sequence[Source], states: dict[str, SourceState]
    ) -> Iterator[tuple[Source, FeedOutcome]]:
        by_id = {s.id: s for s in sources}
        refused = self._refused_by_robots(sources)
        for source_id, problem in refused.items():
            yield by_id[source_id], FeedOutcome(items=None, error=problem)
        jobs = [_job(s, states.get(s.id)) for s in sources if s.id not in refused]

        def tasks() -> Iterator[tuple[FetchResult, ParseTask | None]]:
            for result in self.fetcher.fetch_many(jobs):
                wanted = not result.error and not result.not_modified and result.body is not None
                source = by_id[result.source_id]
                yield result, ParseTask(result.body or b"", result.headers, source) if wanted else None

        # feedparser is pure Python: on a large cycle, parse on every core while fetching.
        workers = self.parse_workers if len(sources) >= PARALLEL_PARSE_MIN_SOURCES else 1
        with ParsePool[FetchResult](workers) as pool:
            for result, parsed in pool.parse_stream(tasks()):
                yield by_id[result.source_id], outcome_of(result, parsed)

    def _refused_by_robots(self, sources: Sequence[Source]) -> dict[str, str]:
        """Page sources whose site's robots.txt does not let Vigil fetch them, with why."""
        pages = [s for s in sources if s.kind == "page_list"]
        if not pages:
            return {}
        robots = RobotsCheck(self.fetcher, self.fetcher.options.user_agent)
        return {s.id: problem for s in pages if (problem := robots.problem(s.url))}

    def close(self) -> None:
        self.fetcher.close()


def _job(source: Source, state: SourceState | None) -> FetchJob:
    if state is None:
        return FetchJob(source.id, source.url)
    return FetchJob(source.id, source.url, etag=state.etag, modified=state.modified)


def outcome_of(result: FetchResult, parsed: ParsedFeed | None) -> FeedOutcome:
    """A fetch result and its parse (None when there was no body to parse) as one outcome."""
    outcome = FeedOutcome(
        items=None, status=result.status, error=result.error, etag=result.etag,
        modified=result.modified, retry_after=result.retry_after, elapsed=result.elapsed,
    )
    if parsed is not None:
        outcome.items = parsed.items
        outcome.error = parsed.error
        outcome.warning = parsed.warning
        outcome.whole_list = parsed.whole_list
    return outcome
