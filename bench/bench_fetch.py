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
from vigil.fetch import Fetcher, FetchJob, FetchOptions
from vigil.models import Source
from vigil.parse import parse_feed

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


def feed_body(n: int) -> bytes:
    """A realistic RSS 2.0 feed: 50 items with HTML descriptions, categories and dates."""
    rng = random.Random(n)
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    items = []
    for i in range(ITEMS):
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(7, 13))).capitalize()
        para = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 70)))
        link = f"https://outlet{n % HOSTS}.example.com/world/{n}-{i}-{title[:30].replace(' ', '-')}"
        when = format_datetime(start - timedelta(minutes=17 * i + n), usegmt=True)
        items.append(
            f"<item><title>{title}</title><link>{link}?utm_source=rss</link>"
            f'<guid isPermaLink="false">urn:outlet{n}:{i}</guid><pubDate>{when}</pubDate>'
            f"<category>World</category><category>Asia</category>"
            f"<description><![CDATA[<p>{para}</p><p><a href=\"{link}\">Read more</a></p>]]></description>"
            f"</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Outlet {n}</title><link>https://outlet{n % HOSTS}.example.com/</link>"
        f"<description>World news from outlet {n}</description><language>en</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


# ---------------------------------------------------------------- the server (child process)


def _serve(port_pipe: multiprocessing.connection.Connection) -> None:
    bodies = {n: feed_body(n) for n in range(FEEDS)}
    zipped = {n: gzip.compress(b, 6) for n, b in bodies.items()}
    asyncio.run(_serve_async(bodies, zipped, port_pipe))


async def _serve_async(
    bodies: dict[int, bytes], zipped: dict[int, bytes], port_pipe: multiprocessing.connection.Connection
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

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port_pipe.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


async def _respond(head: bytes, bodies: dict[int, bytes], zipped: dict[int, bytes]) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await asyncio.sleep(DELAY)  # a typical real feed server's response time
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
    def __enter__(self) -> Server:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True)
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


def _cycle(fetcher: Fetcher, sources: list[Source], validators: dict[str, tuple[str, str]]) -> tuple[float, int, int]:
    """One pipeline-shaped read: fetch concurrently, parse each body as it arrives."""
    by_id = {s.id: s for s in sources}
    jobs = [FetchJob(s.id, s.url, *validators.get(s.id, ("", ""))) for s in sources]
    items = failures = 0
    started = time.perf_counter()
    for result in fetcher.fetch_many(jobs):
        if not result.ok:
            failures += 1
            continue
        validators[result.source_id] = (result.etag, result.modified)
        if result.body is not None:
            parsed = parse_feed(result.body, result.headers, by_id[result.source_id])
            items += len(parsed.items)
            failures += bool(parsed.error)
    return time.perf_counter() - started, items, failures


def _reset_peak_rss() -> bool:
    # Linux: writing 5 to clear_refs resets VmHWM, so the peak covers only what follows
    # (bench/run.py runs other benchmarks in the same process first).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
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


def run() -> list[str]:
    lines: list[str] = []
    with Server() as server:
        sources = _sources(server.port)
        fetcher = Fetcher(FetchOptions(allow_private=True), resolver=_resolver)
        validators: dict[str, tuple[str, str]] = {}
        precise_peak = _reset_peak_rss()
        cpu0 = _cpu_seconds()
        first, items, failed = _cycle(fetcher, sources, validators)
        cores = (_cpu_seconds() - cpu0) / first
        second, _, failed_304 = _cycle(fetcher, sources, validators)
        peak = _peak_rss_mb()
        fetcher.close()
        baseline = _baseline(server.port)
    floor, floor_items = _cpu_floor()
    # Parsing runs on one interpreter thread (the GIL), so the floor is divided by 1
    # core; fetch threads and the server add CPU in parallel, shown as "busy cores".
    used_cores = 1
    opts = FetchOptions()
    lines += [
        f"{FEEDS} feeds x {ITEMS} items on {HOSTS} host names, {DELAY * 1000:.0f} ms per response, "
        f"{opts.max_workers} workers, {opts.per_host} per host, {os.cpu_count()} cpus",
        f"first cycle: {first:.2f} s, {items} items ({items / first:,.0f} items/s), {failed} failed, "
        f"{cores:.2f} busy cores",
        f"304 cycle:   {second:.2f} s, {failed_304} failed  ratio {second / first:.3f} "
        f"(target <= {TARGET_304_RATIO}) {'ok' if second <= TARGET_304_RATIO * first else 'MISSED'}",
        f"baseline (sequential feedparser.parse(url), {BASELINE_SAMPLE} feeds scaled): {baseline:.1f} s  "
        f"speedup {baseline / first:.1f}x (target >= {TARGET_SPEEDUP:g}x) "
        f"{'ok' if baseline / first >= TARGET_SPEEDUP else 'MISSED'}",
        f"cpu floor (parse_feed on {FEEDS} bodies in memory): {floor:.2f} s, {floor_items} items "
        f"({floor_items / floor:,.0f} items/s); first cycle / (floor / {used_cores} core) = "
        f"{first / (floor / used_cores):.2f} (target <= {TARGET_FLOOR_RATIO}) "
        f"{'ok' if first <= TARGET_FLOOR_RATIO * floor / used_cores else 'MISSED'}",
        f"peak memory during the cycles: {peak:.0f} MB{'' if precise_peak else ' (process lifetime peak)'} "
        f"(target < {TARGET_MEMORY_MB} MB) {'ok' if peak < TARGET_MEMORY_MB else 'MISSED'}",
    ]
    return lines


def _main() -> Iterator[str]:
    yield from run()


if __name__ == "__main__":
    for line in _main():
        print(line, flush=True)
