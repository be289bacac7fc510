"""Fetch + parse cycle over 1,000 feeds of 50 items on loopback, each response delayed 200 ms.

Run alone (`python bench/bench_fetch.py`) or through `bench/run.py`. Measured in one run:

- first cycle: every feed fetched (gzip) and parsed with the real `Fetcher.fetch_many`
  and `parse_feed`, the way the pipeline reads feeds;
- 304 cycle: the same with the stored validators, every feed answering 304;
- naive baseline: a sequential `feedparser.parse(url)` loop (what a typical RSS-to-Slack
  bot does), timed on a sample of 100 feeds and scaled to 1,000;
- CPU floor: `parse_feed` over all 1,000 bodies already in memory, no network.

The server runs in a child process (asyncio, keep-alive, backlog 4096) so its work
does not share the client's interpreter. Feeds are spread over 250 host names that an
injected resolver maps to 127.0.0.1, as 1,000 real sources would span many hosts; the
per-host limit still applies to each name.
"""

from __future__ import annotations

import asyncio
import gzip
import multiprocessing
import os
import random
import resource
import ssl
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

try:
    import vigil  # noqa: F401  (installed with `pip install -e .`)
except ImportError:  # a bare checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "vigil"))

import feedparser
from vigil.adapters.feeds.parse import ParsePool, ParseTask, parse_feed
from vigil.adapters.http.fetch import Fetcher, FetchJob, FetchOptions, FetchResult
from vigil.domain.models import Source

FEEDS = 1_000
ITEMS = 50
HOSTS = 250
DELAY = 0.2
BASELINE_SAMPLE = 100
TARGET_SPEEDUP = 10.0
TARGET_FLOOR_RATIO = 1.5
TARGET_304_RATIO = 0.2
TARGET_MEMORY_MB = 256

_WORDS = [
    "china", "russia", "taiwan", "navy", "drills", "sanctions", "export", "controls", "beijing",
    "moscow", "strait", "patrol", "ministry", "defense", "joint", "exercise", "vessels",
    "aircraft", "carrier", "missile", "treasury", "list", "entities", "chips", "semiconductor",
    "tankers", "oil", "price", "cap", "shipments", "talks", "summit", "officials", "warn",
    "condemn", "announce", "expand", "targets", "border", "island", "coast", "guard", "trade",
    "tariffs", "agreement", "military", "ties",
]


# ---------------------------------------------------------------- the corpus


def feed_body(n: int, items: int = ITEMS, fresh: int = 0, gen: int = 0) -> bytes:
    """A realistic RSS 2.0 feed: `items` items with HTML descriptions, categories and dates.

    `fresh` of them (first, published minutes ago) replace the oldest: what a later poll
    of the same feed finds (`bench_costs.py`); about one in ten of those is on topic.
    """
    rng = random.Random(n)
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    entries = []
    for i in range(items):
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(7, 13))).capitalize()
        para = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 70)))
        entries.append(_entry(n, str(i), title, para, start - timedelta(minutes=17 * i + n)))
    rng = random.Random(f"{n}-{gen}")
    now = datetime.now(UTC)
    new = []
    for j in range(fresh):
        on_topic = rng.random() < 0.1
        title = (" ".join(rng.choice(_WORDS) for _ in range(rng.randint(7, 13))).capitalize() if on_topic
                 else f"Local {rng.choice(_PLACES)} council approves budget for {rng.randint(2, 90)} new parks")
        para = " ".join(rng.choice(_WORDS if on_topic else _PLACES) for _ in range(rng.randint(40, 70)))
        new.append(_entry(n, f"g{gen}-{j}", title, para, now - timedelta(minutes=3 + j)))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Outlet {n}</title><link>https://outlet{n % HOSTS}.example.com/</link>"
        f"<description>World news from outlet {n}</description><language>en</language>"
        + "".join([*new, *entries][:items])
        + "</channel></rss>"
    ).encode()


_PLACES = ("northern", "southern", "harbour", "valley", "river", "market", "school", "library", "garden")


def _entry(n: int, i: str, title: str, para: str, when: datetime) -> str:
    link = f"https://outlet{n % HOSTS}.example.com/world/{n}-{i}-{title[:30].replace(' ', '-')}"
    return (
        f"<item><title>{title}</title><link>{link}?utm_source=rss</link>"
        f'<guid isPermaLink="false">urn:outlet{n}:{i}</guid><pubDate>{format_datetime(when, usegmt=True)}</pubDate>'
        f"<category>World</category><category>Asia</category>"
        f"<description><![CDATA[<p>{para}</p><p><a href=\"{link}\">Read more</a></p>]]></description>"
        f"</item>"
    )


# ---------------------------------------------------------------- the server (child process)


def _serve(port_pipe: multiprocessing.connection.Connection, prebuilt: bool = True,
           tls: tuple[str, str] | None = None) -> None:
    bodies: dict[object, bytes] = {n: feed_body(n) for n in range(FEEDS)} if prebuilt else {}
    zipped = {n: gzip.compress(b, 6) for n, b in bodies.items()}
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
    asyncio.run(_serve_async(bodies, zipped, port_pipe, context))


async def _serve_async(
    bodies: dict[object, bytes], zipped: dict[object, bytes], port_pipe: multiprocessing.connection.Connection,
    tls: ssl.SSLContext | None = None,
) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(await _respond(head, bodies, zipped))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096, ssl=tls)
    port_pipe.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


async def _respond(head: bytes, bodies: dict[object, bytes], zipped: dict[object, bytes]) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await asyncio.sleep(DELAY)  # a typical real feed server's response time
    n: object
    if path.startswith("/v/"):
        # /v/<items>/<fresh>/<gen>/<n>: feed n with `items` entries, `fresh` of them new in
        # generation `gen`; its ETag changes with the generation (bench_costs.py).
        items, fresh, gen, feed = (int(p) for p in path.split("/")[2:6])
        n, etag = (feed, items, fresh, gen), f'"feed-{feed}-{items}-{fresh}-{gen}"'
        if n not in bodies:
            bodies[n] = feed_body(feed, items, fresh, gen)
            zipped[n] = gzip.compress(bodies[n], 6)
    else:
        n = int(path.rsplit("/", 1)[-1])
        etag = f'"feed-{n}-v1"'
    if headers.get("if-none-match") == etag:
        return f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode()
    use_gzip = "gzip" in headers.get("accept-encoding", "")
    body = zipped[n] if use_gzip else bodies[n]
    encoding = "Content-Encoding: gzip\r\n" if use_gzip else ""
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n{encoding}"
        f"ETag: {etag}\r\nLast-Modified: Sat, 01 Mar 2025 12:00:00 GMT\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class Server:
    """The feed server in a child process; `prebuilt`: the FEEDS first-generation bodies
    built up front (else each body on its first request); `tls`: (certificate, key) PEM
    files to serve HTTPS with."""

    def __init__(self, prebuilt: bool = True, tls: tuple[str, str] | None = None) -> None:
        self.prebuilt = prebuilt
        self.tls = tls

    def __enter__(self) -> Server:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, self.prebuilt, self.tls), daemon=True)
        self.process.start()
        self.port = int(parent.recv())
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)


# ---------------------------------------------------------------- measurements


def _resolver(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _sources(port: int) -> list[Source]:
    return [
        Source(f"feed-{n}", f"http://feeds-{n % HOSTS}.bench.test:{port}/feed/{n}") for n in range(FEEDS)
    ]


def _cycle(
    fetcher: Fetcher, parser: ParsePool[FetchResult], sources: list[Source],
    validators: dict[str, tuple[str, str]],
) -> tuple[float, int, int]:
    """One pipeline-shaped read: fetch concurrently, parse each body as it arrives."""
    by_id = {s.id: s for s in sources}
    jobs = [FetchJob(s.id, s.url, *validators.get(s.id, ("", ""))) for s in sources]
    items = failures = 0
    started = time.perf_counter()

    def tasks() -> Iterator[tuple[FetchResult, ParseTask | None]]:
        for result in fetcher.fetch_many(jobs):
            has_body = result.ok and result.body is not None
            yield result, ParseTask(result.body, result.headers, by_id[result.source_id]) if has_body else None

    for result, parsed in parser.parse_stream(tasks()):
        if not result.ok or (parsed is not None and not parsed.ok):
            failures += 1
            continue
        validators[result.source_id] = (result.etag, result.modified)
        items += len(parsed.items) if parsed else 0
    return time.perf_counter() - started, items, failures


def _reset_peak_rss() -> bool:
    # Linux: writing 5 to clear_refs resets VmHWM, so the peak covers only what follows
    # (bench/run.py runs other benchmarks in the same process first).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _baseline(port: int) -> float:
    """Seconds for the naive sequential loop over BASELINE_SAMPLE feeds, scaled to FEEDS."""
    step = FEEDS // BASELINE_SAMPLE
    started = time.perf_counter()
    for n in range(0, FEEDS, step):
        feedparser.parse(f"http://127.0.0.1:{port}/feed/{n}")
    return (time.perf_counter() - started) * FEEDS / BASELINE_SAMPLE


def _cpu_floor() -> tuple[float, int]:
    bodies = [(Source(f"feed-{n}", f"http://feeds.bench.test/feed/{n}"), feed_body(n)) for n in range(FEEDS)]
    headers = {"content-type": "application/rss+xml; charset=utf-8"}
    started = time.perf_counter()
    items = sum(len(parse_feed(body, headers, source).items) for source, body in bodies)
    return time.perf_counter() - started, items


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_peak_mb(parser: ParsePool[FetchResult]) -> float:
    # The bench peeks at the executor's worker pids to add their memory to the total.
    executor = parser._executor
    pids = list(getattr(executor, "_processes", {}) or {}) if executor else []
    return sum(_peak_rss_mb(pid) for pid in pids)


def run() -> list[str]:
    with Server() as server:
        sources = _sources(server.port)
        fetcher = Fetcher(FetchOptions(allow_private=True), resolver=_resolver)
        validators: dict[str, tuple[str, str]] = {}
        precise_peak = _reset_peak_rss()
        with ParsePool[FetchResult]() as parser:
            cpu0 = _cpu_seconds()
            first, items, failed = _cycle(fetcher, parser, sources, validators)
            cpu_first = _cpu_seconds() - cpu0
            second, _, failed_304 = _cycle(fetcher, parser, sources, validators)
            peak_main, peak_workers = _peak_rss_mb(), _worker_peak_mb(parser)
            cores = parser.workers if parser.parallel else 1
        fetcher.close()
        baseline = _baseline(server.port)
    floor, floor_items = _cpu_floor()
    return _report(
        first=first, items=items, failed=failed, cpu_first=cpu_first, second=second,
        failed_304=failed_304, baseline=baseline, floor=floor, floor_items=floor_items,
        cores=cores, peak=peak_main + peak_workers, peak_workers=peak_workers, precise_peak=precise_peak,
    )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _report(
    *, first: float, items: int, failed: int, cpu_first: float, second: float, failed_304: int,
    baseline: float, floor: float, floor_items: int, cores: int, peak: float, peak_workers: float,
    precise_peak: bool,
) -> list[str]:
    opts = FetchOptions()
    budget = floor / cores
    return [
        f"{FEEDS} feeds x {ITEMS} items on {HOSTS} host names, {DELAY * 1000:.0f} ms per response; "
        f"{opts.max_workers} fetch threads, {opts.per_host} per host; {cores} parse process(es); "
        f"{os.cpu_count()} cpus",
        f"first cycle: {first:.2f} s, {items} items ({items / first:,.0f} items/s), {failed} failed "
        f"(main process cpu {cpu_first:.1f} s)",
        f"304 cycle:   {second:.2f} s, {failed_304} failed; 304/first = {second / first:.3f} "
        f"(target <= {TARGET_304_RATIO}) {_verdict(second <= TARGET_304_RATIO * first)}",
        f"baseline (sequential feedparser.parse(url), {BASELINE_SAMPLE} feeds scaled to {FEEDS}): "
        f"{baseline:.1f} s; speedup {baseline / first:.1f}x (target >= {TARGET_SPEEDUP:g}x) "
        f"{_verdict(baseline / first >= TARGET_SPEEDUP)}",
        f"cpu floor (parse_feed over {FEEDS} bodies in memory, one core): {floor:.2f} s, "
        f"{floor_items / floor:,.0f} items/s; first / (floor / {cores} cores) = {first / budget:.2f} "
        f"(target <= {TARGET_FLOOR_RATIO}) {_verdict(first <= TARGET_FLOOR_RATIO * budget)}",
        f"peak memory during the cycles: {peak:.0f} MB, parse workers {peak_workers:.0f} MB of it"
        f"{'' if precise_peak else ' (main process lifetime peak)'} "
        f"(target < {TARGET_MEMORY_MB} MB) {_verdict(peak < TARGET_MEMORY_MB)}",
    ]


def _main() -> Iterator[str]:
    yield from run()


if __name__ == "__main__":
    for line in _main():
        print(line, flush=True)
