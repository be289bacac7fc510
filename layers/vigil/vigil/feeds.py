"""The pipeline's feed reader over HTTP: concurrent fetch, then feedparser on the bytes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vigil.fetch import Fetcher, FetchJob, FetchResult
from vigil.models import Source, SourceState
from vigil.parse import parse_feed
from vigil.pipeline import FeedOutcome


class HttpFeedReader:
    def __init__(self, fetcher: Fetcher | None = None) -> None:
        self.fetcher = fetcher or Fetcher()

    def read(
        self, sources: Sequence[Source], states: dict[str, SourceState]
    ) -> Iterator[tuple[Source, FeedOutcome]]:
        by_id = {s.id: s for s in sources}
        jobs = [_job(s, states.get(s.id)) for s in sources]
        for result in self.fetcher.fetch_many(jobs):
            source = by_id[result.source_id]
            yield source, outcome_of(source, result)

    def close(self) -> None:
        self.fetcher.close()


def _job(source: Source, state: SourceState | None) -> FetchJob:
    if state is None:
        return FetchJob(source.id, source.url)
    return FetchJob(source.id, source.url, etag=state.etag, modified=state.modified)


def outcome_of(source: Source, result: FetchResult) -> FeedOutcome:
    """Turn a fetch result into items (parsing the body) or an error, never an exception."""
    outcome = FeedOutcome(
        items=None, status=result.status, error=result.error, etag=result.etag,
        modified=result.modified, retry_after=result.retry_after, elapsed=result.elapsed,
    )
    if result.error or result.not_modified or result.body is None:
        return outcome
    parsed = parse_feed(result.body, result.headers, source)
    outcome.items = parsed.items
    outcome.error = parsed.error
    outcome.warning = parsed.warning
    return outcome
