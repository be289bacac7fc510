"""Fetched bytes -> `Item`s with feedparser; every failure becomes a per-source error.

Bytes are parsed with the response headers (so a Content-Type charset is honoured),
always through a stream: feedparser treats a plain string or bytes argument as a URL
or a file name, which on untrusted input would be a request forgery or a file read.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Generic, TypeVar
from urllib.parse import urljoin

import feedparser

from vigil.adapters.sources import PARSERS, WHOLE_LIST_KINDS, DocumentError
from vigil.domain.models import Item, Source
from vigil.domain.normalize import entry_to_item

log = logging.getLogger("vigil.adapters.feeds.parse")
T = TypeVar("T")

MAX_ENTRIES = 500
# Seconds of work for one feed: feedparser and the normalization of every entry
# (HTML to text, URLs, dates) together.
PARSE_TIME_LIMIT = 10.0
# Internal entity declarations: nested references are the billion-laughs attack, long
# values the quadratic blowup. Real feeds declare at most a few short character entities.
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(?:%\s*)?[^\s>]+\s+([\"'])(.*?)\1", re.DOTALL)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_NAMED_REF = re.compile(rb"[&%][A-Za-z_:][\w.:-]*;")
MAX_ENTITY_VALUE = 256
MAX_ENTITIES = 64
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)


@dataclass(slots=True)
class ParsedFeed:
    source_id: str
    items: list[Item] = field(default_factory=list)
    title: str = ""
    link: str = ""
    error: str = ""  # set when nothing usable came out of the body
    warning: str = ""  # set on a best-effort parse (malformed but readable, entries dropped)
    entries: int = 0  # entries feedparser found, before the cap and normalization
    # The items are the source's whole list (a sanctions list, a page's entries): what
    # is new is decided against the previous poll's list, not by the seen-store alone.
    whole_list: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


class ParseTimeout(BaseException):
    """The parse time limit ran out.

    A BaseException, like KeyboardInterrupt: the timer can fire anywhere, and the
    `except Exception` that keeps one odd entry (or odd HTML) from failing a feed must
    not swallow it and carry on past the limit.
    """


def parse_feed(
    body: bytes, headers: Mapping[str, str], source: Source, *,
    max_entries: int = MAX_ENTRIES, time_limit: float = PARSE_TIME_LIMIT,
) -> ParsedFeed:
    """Parse one feed body; never raises."""
    result = ParsedFeed(source.id)
    if not body or not body.strip():
        result.error = "empty response body"
        return result
    hostile = _entity_problem(body)
    if hostile:
        result.error = hostile
        return result
    # No Content-Location default on purpose: feedparser would then urljoin a base URI
    # at every element (about a fifth of its time); normalize resolves relative entry
    # links against the feed's site link or the source URL instead.
    if source.kind != "feed":
        return _parse_kind(body, source, time_limit)
    response_headers = {k.lower(): v for k, v in headers.items()}
    deadline = time.monotonic() + time_limit if time_limit > 0 else math.inf
    try:
        with _time_limit(time_limit):
            try:
                parsed = _feedparser(body, response_headers)
            except Exception as exc:  # feedparser bugs on hostile input must cost one source only
                result.error = f"parser failed: {type(exc).__name__}: {exc}"
                return result
            return _collect(result, parsed, body, response_headers, source, max_entries, deadline)
    except ParseTimeout:
        return ParsedFeed(source.id, error=f"parsing took longer than {time_limit:g}s")


def _parse_kind(body: bytes, source: Source, time_limit: float) -> ParsedFeed:
    """A non-feed source kind (JSON API, sanctions list, page) under the same time limit."""
    parser = PARSERS.get(source.kind)
    if parser is None:
        return ParsedFeed(source.id, error=f"unknown source kind {source.kind!r}")
    result = ParsedFeed(source.id, whole_list=source.kind in WHOLE_LIST_KINDS)
    try:
        with _time_limit(time_limit):
            try:
                result.items = parser(body, source)
            except DocumentError as exc:
                result.error = f"{source.kind}: {exc}"
            except Exception as exc:  # a parser bug on odd input must cost one source only
                result.error = f"{source.kind} parser failed: {type(exc).__name__}: {exc}"
    except ParseTimeout:
        return ParsedFeed(source.id, error=f"parsing took longer than {time_limit:g}s")
    result.entries = len(result.items)
    return result


def _entity_problem(body: bytes) -> str:
    """A reason to refuse the document's entity declarations, or ''."""
    # Declarations live in the prolog, before the first element; however long it is.
    first_element = _FIRST_ELEMENT.search(body)
    head = body[: first_element.start()] if first_element else body
    if b"<!ENTITY" not in head:
        return ""
    values = [m.group(2) for m in _ENTITY_DECL.finditer(head)]
    if len(values) > MAX_ENTITIES:
        return f"refused: {len(values)} xml entity declarations (entity expansion attack?)"
    for value in values:
        if _NAMED_REF.search(value):
            return "refused: nested xml entity declarations (entity expansion attack?)"
        if len(value) > MAX_ENTITY_VALUE:
            return f"refused: xml entity longer than {MAX_ENTITY_VALUE} bytes (entity expansion attack?)"
    return ""


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    # Summaries become plain text in normalize, so feedparser's HTML sanitizer and
    # relative-URI rewriting inside HTML would be work thrown away.
    return feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )


def _collect(
    result: ParsedFeed, parsed: Any, body: bytes, headers: Mapping[str, str], source: Source,
    max_entries: int, deadline: float,
) -> ParsedFeed:
    feed = parsed.get("feed") or {}
    result.title = str(feed.get("title") or "")
    result.link = _absolute(str(feed.get("link") or ""), source.url)
    entries = parsed.get("entries") or []
    result.entries = len(entries)
    problem = _bozo_text(parsed)
    if not entries:
        result.error = _no_entries_error(parsed, body, headers, problem)
        return result
    wanted = entries[:max_entries]
    skipped, read = _normalize_entries(result, wanted, source, deadline)
    result.warning = _warning(problem, len(entries), max_entries, skipped)
    if read < len(wanted):
        late = f"parsing stopped at the time limit: {read} of {len(wanted)} entries read"
        if not result.items:
            result.error = late
            return result
        result.warning = "; ".join(w for w in (late, result.warning) if w)
    if not result.items:
        result.error = f"no usable entries (all {len(wanted)} lacked a title and link)"
    return result


def _normalize_entries(
    result: ParsedFeed, entries: list[Any], source: Source, deadline: float
) -> tuple[int, int]:
    """Append the entries' items to `result` until the deadline: (entries skipped, entries read).

    The timer signal stops a slow entry midway where it can be used; the clock check
    between entries is what bounds the loop where it cannot (a thread other than the
    main one), since one entry's work is itself bounded by normalize's markup cap.
    """
    skipped = read = 0
    try:
        for entry in entries:
            if time.monotonic() >= deadline:
                break
            item = _to_item(entry, source, result.link)
            if item is None:
                skipped += 1
            else:
                result.items.append(item)
            read += 1
    except ParseTimeout:
        pass  # the entries read so far are kept; the caller reports the rest as not read
    return skipped, read


def _absolute(link: str, base: str) -> str:
    # A relative channel link is relative to the feed's own URL.
    return urljoin(base, link) if link else ""


def _to_item(entry: Mapping[str, Any], source: Source, feed_link: str) -> Item | None:
    try:
        return entry_to_item(entry, source, feed_link)
    except Exception:  # one odd entry is skipped (and counted), the rest of the feed is kept
        return None


def _no_entries_error(parsed: Any, body: bytes, headers: Mapping[str, str], problem: str) -> str:
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("text/html", "application/xhtml+xml") or _HTML_START.match(body[:4096]):
        return f"not a feed: the server sent an HTML page ({ctype or 'no content-type'})"
    if problem and not parsed.get("version"):
        return f"not a valid feed: {problem}"
    # A well-formed feed with no entries (yet) is not an error.
    return ""


def _bozo_text(parsed: Any) -> str:
    if not parsed.get("bozo"):
        return ""
    exc = parsed.get("bozo_exception")
    text = str(exc) if exc is not None else "malformed feed"
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _warning(problem: str, total: int, max_entries: int, skipped: int) -> str:
    notes = []
    if problem:
        notes.append(f"malformed feed, parsed best-effort: {problem}")
    if total > max_entries:
        notes.append(f"{total} entries, only the first {max_entries} read")
    if skipped:
        notes.append(f"{skipped} entries skipped (no title and no link, or unreadable)")
    return "; ".join(notes)


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a runaway parse after `seconds`, where a timer signal can be used.

    feedparser is pure Python and cannot be cancelled from another thread; SIGALRM can
    interrupt it, but only in the main thread and only if nobody else owns the timer.
    Elsewhere the body size cap bounds feedparser's time, and a clock check between
    entries the normalization's.
    """
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise ParseTimeout

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


# ---------------------------------------------------------------- parsing on every core


@dataclass(frozen=True, slots=True)
class ParseTask:
    body: bytes
    headers: Mapping[str, str]
    source: Source


class ParsePool(Generic[T]):
    """Parses feed bodies on worker processes, so a cycle uses every core.

    feedparser is pure Python: threads share one core (the GIL), so parsing is what
    bounds a large cycle. Where worker processes cannot be created (AWS Lambda has no
    /dev/shm) or `workers` is 1, parsing runs inline with the same results.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self._executor = _start_executor(self.workers)

    @property
    def parallel(self) -> bool:
        return self._executor is not None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ParsePool[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parse_stream(self, tasks: Iterable[tuple[T, ParseTask | None]]) -> Iterator[tuple[T, ParsedFeed | None]]:
        """Yield (tag, parsed) as parses finish; a None task (nothing to parse) passes straight through.

        Tasks are consumed as they arrive (e.g. from `Fetcher.fetch_many`), so fetching
        and parsing overlap.
        """
        pending: dict[Future[ParsedFeed], tuple[T, ParseTask]] = {}
        for tag, task in tasks:
            if task is None:
                yield tag, None
            elif self._executor is None:
                yield tag, parse_feed(task.body, task.headers, task.source)
            else:
                pending[self._submit(task)] = (tag, task)
            yield from self._collect(pending, block=False)
        while pending:
            yield from self._collect(pending, block=True)

    def _submit(self, task: ParseTask) -> Future[ParsedFeed]:
        assert self._executor is not None
        try:
            return self._executor.submit(parse_feed, task.body, dict(task.headers), task.source)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            log.warning("parse workers unavailable (%s); parsing inline", exc)
            self._executor = None
            return _inline(task)

    def _collect(
        self, pending: dict[Future[ParsedFeed], tuple[T, ParseTask]], *, block: bool
    ) -> Iterator[tuple[T, ParsedFeed]]:
        done, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            tag, task = pending.pop(future)
            yield tag, self._result(future, task)

    def _result(self, future: Future[ParsedFeed], task: ParseTask) -> ParsedFeed:
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (killed for memory, crashed in C code): parse the rest here.
            log.warning("parse worker died; parsing inline from now on")
            self._executor = None
            return ParsedFeed(task.source.id, error="parser process died on this feed")
        except Exception as exc:  # parse_feed never raises; this guards pickling problems
            return ParsedFeed(task.source.id, error=f"parser failed: {type(exc).__name__}: {exc}")


def _start_executor(workers: int) -> ProcessPoolExecutor | None:
    # forkserver: workers are forked from a clean single-threaded process, never from
    # this one, which is running fetch threads (forking those can deadlock on a lock).
    try:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    except (OSError, ValueError, ImportError, NotImplementedError) as exc:
        log.info("parsing inline: no worker processes (%s)", exc)
        return None


def _inline(task: ParseTask) -> Future[ParsedFeed]:
    future: Future[ParsedFeed] = Future()
    future.set_result(parse_feed(task.body, task.headers, task.source))
    return future
