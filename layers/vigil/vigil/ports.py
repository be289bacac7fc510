"""The interfaces services depend on; adapters implement them, runtime wires them.

Nothing here does I/O: a service typed against these Protocols runs the same on
SQLite, DynamoDB or the in-memory store, on Slack or the outbox file, in Lambda or
the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vigil.domain.models import Item, Source, SourceState

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Write:
    """One put in an atomic `KeyValue.transact`: same meaning as `KeyValue.put`'s arguments."""

    pk: str
    sk: str
    data: Record
    expect_version: int | bool | None = False
    ttl: datetime | None = None


# DynamoDB's TransactWriteItems limit; the SQLite and memory backends share it so a
# test on one machine catches what would fail on AWS.
MAX_TRANSACT_WRITES = 100


class KeyValue(Protocol):
    """What a state backend provides. `version` gives optimistic concurrency:

    `put(..., expect_version=None)` writes only if the record is absent,
    `expect_version=n` only if its stored version is n; either raises Conflict.
    Records carry their own `_v` (version) and optional `_ttl` (epoch seconds).
    Backend failures raise StoreError.

    `batch_get` may answer from a slightly stale copy (DynamoDB: eventually consistent,
    half price), as may `query(..., consistent=False)`: callers use them only where a
    stale answer is safe. `get` and a default `query` see every write acknowledged
    before them.
    """

    def get(self, pk: str, sk: str) -> Record | None: ...

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]: ...

    def put(
        self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
        ttl: datetime | None = None,
    ) -> int: ...

    def transact(self, writes: Sequence[Write]) -> None:
        """All writes or none (at most MAX_TRANSACT_WRITES); Conflict if any condition fails."""

    def delete(self, pk: str, sk: str) -> bool: ...

    def query(
        self, pk: str, *, prefix: str = "", start: str | None = None, limit: int | None = None,
        reverse: bool = False, consistent: bool = True,
    ) -> list[tuple[str, Record]]: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class FeedOutcome:
    """What reading one source produced: items, or not-modified, or an error."""

    items: list[Item] | None  # None: not modified (304) or failed
    status: int = 0
    error: str = ""
    # A best-effort parse of a malformed feed: items came through, but say what was wrong.
    warning: str = ""
    etag: str = ""
    modified: str = ""
    retry_after: float | None = None
    elapsed: float = 0.0
    # The items are the source's whole published list (a sanctions list, a page's
    # entries): new means absent from the previous poll's list.
    whole_list: bool = False


class FeedReader(Protocol):
    def read(
        self, sources: Sequence[Source], states: dict[str, SourceState]
    ) -> Iterator[tuple[Source, FeedOutcome]]: ...


class AlertSink(Protocol):
    def send(self, keys: list[str]) -> None:
        """Hand outbox entries (already durable in the store) to delivery; raise if refused."""


class ChatClient(Protocol):
    """Posting to Slack (or the outbox file). Errors are the domain's delivery errors:

    RetryableDeliveryError (not posted; try later), DeliveryOutcomeUnknown (may have
    been posted: reconcile first), ChannelUnavailable, MessageRejected.
    """

    def post_message(self, channel: str, payload: Record) -> str:
        """Post and return the message's ts."""

    def update_message(self, channel: str, ts: str, payload: Record) -> None:
        """Replace a posted message's text and blocks (chat.update). Editing is
        idempotent, so an unknown outcome is simply retried."""

    def get_message(self, channel: str, ts: str) -> Record | None:
        """A top-level message as Slack shows it now (text, blocks, metadata); None when
        it is gone. HistoryUnavailable when the history cannot be read."""

    def find_message(self, channel: str, *, story_id: str, oldest: datetime,
                     thread_ts: str = "", outlet: str = "") -> str | None:
        """The ts of a message Vigil posted for this story (and outlet, in a thread)
        since `oldest`, from its metadata; None when there is none. HistoryUnavailable
        when the history cannot be read (no scope, Slack unreachable)."""


class Clock(Protocol):
    """The time now (UTC); tests pass a fixed or stepping one."""

    def __call__(self) -> datetime: ...
