"""One fetch invocation's batch, measured: what the fetch Lambda bills, from wall and CPU time.

The code the fetch function runs on one batch (`run_cycle` over `HttpFeedReader`: the real
urllib3 `Fetcher` and feedparser, parsing inline as in Lambda, which has no /dev/shm
for worker processes) against loopback HTTPS feed servers (`bench_fetch.Server`) that
answer each request after 200 ms. Only the store is in memory; each of its requests
waits a modelled DynamoDB round trip and each alert hand-over an SQS round trip, as
they would in the function (counted and reported).

Workload of one steady-state 5-minute cycle, the same as `bench_dynamodb.py`'s:

- half the sources answer 304 Not Modified, the other half 200 with 25 entries.
  Sources publish ~40 items a day, so ~87 % of feeds are unchanged after 5 minutes;
  but many servers ignore or lack validators and answer 200 anyway, and 50 % keeps the
  fetch and DynamoDB measurements on one workload (it overstates parsing, if anything);
- ~0.14 new items per source per cycle, on the answering feeds, ~10 % of them on topic;
- a 48 h story window of ~2,000 stories (read by the batch: a container's first batch of
  a cycle reads it, later ones only catch up, so this is the dearer case);
- TLS on every feed (system trust store plus the bench's CA) and fresh connections:
  feed servers close idle keep-alive connections long before the next cycle;
- each source on its own host name (5,000 sources span a few thousand hosts).

Earlier cycles are run first (unmeasured) so states, validators, seen items and the
recent-item digests are what a running stack has; a third of the 304 sources are due
for the 15-minute state heartbeat, as in the stack.
"""

from __future__ import annotations

import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import bench_fetch
from bench_dynamodb import ON_TOPIC_TITLES, WORDS

ENTRIES = 25
NEW_PER_SOURCE = 0.14
NOT_MODIFIED_SHARE = 0.5
STORIES = 2_000
STATE_HEARTBEAT = timedelta(minutes=15)  # template.yaml VIGIL_STATE_HEARTBEAT_HOURS
# Modelled round trips from Lambda to DynamoDB and SQS in the same region (single-digit
# milliseconds for an item request; a transaction and an SQS send take longer).
DYNAMODB_REQUEST_S = 0.008
DYNAMODB_TRANSACTION_S = 0.015
SQS_SEND_S = 0.015


@dataclass(frozen=True)
class BatchRun:
    sources: int
    wall_s: float  # measured, modelled DynamoDB/SQS waits included
    cpu_s: float  # process CPU (every thread) on this machine
    waits_s: float  # the modelled DynamoDB/SQS round trips, inside wall_s
    requests: int  # DynamoDB requests of the batch
    sqs_sends: int
    not_modified: int
    items_new: int
    alerts: int
    failed: int


class LatentKV:
    """A KeyValue that waits a DynamoDB round trip per request and counts them."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests = 0
        self.waited = 0.0

    def _wait(self, seconds: float, requests: int = 1) -> None:
        self.requests += requests
        self.waited += seconds * requests
        time.sleep(seconds * requests)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._wait(DYNAMODB_REQUEST_S)
        return self.inner.get(*args, **kwargs)

    def batch_get(self, keys: list[Any]) -> Any:
        if keys:
            self._wait(DYNAMODB_REQUEST_S, -(-len(keys) // 100))  # 100 keys per BatchGetItem
        return self.inner.batch_get(keys)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        self._wait(DYNAMODB_REQUEST_S)
        return self.inner.put(*args, **kwargs)

    def transact(self, writes: Any) -> Any:
        self._wait(DYNAMODB_TRANSACTION_S)
        return self.inner.transact(writes)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._wait(DYNAMODB_REQUEST_S)
        return self.inner.delete(*args, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self._wait(DYNAMODB_REQUEST_S)  # one page (the story window is ~2 MB: 2 pages; close enough)
        return self.inner.query(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class LatentSink:
    def __init__(self) -> None:
        self.sends = 0
        self.waited = 0.0

    def send(self, keys: list[str]) -> None:
        self.sends += 1
        self.waited += SQS_SEND_S
        time.sleep(SQS_SEND_S)


def _certificate(folder: Path) -> tuple[str, str, str]:
    """A self-signed certificate for *.bench.test, and a CA file: the system trust store
    plus it (so loading the trust store costs what it costs in production)."""
    cert, key, bundle = folder / "cert.pem", folder / "key.pem", folder / "bundle.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=bench.test", "-addext", "subjectAltName=DNS:*.bench.test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    import ssl

    system = Path(ssl.get_default_verify_paths().cafile or "")
    bundle.write_bytes((system.read_bytes() if system.is_file() else b"") + cert.read_bytes())
    return str(cert), str(key), str(bundle)


def _url(port: int, n: int, fresh: int = 0, gen: int = 0) -> str:
    return f"https://feeds-{n}.bench.test:{port}/v/{ENTRIES}/{fresh}/{gen}/{n}"


def _seed_window(store: Any, now: Any, rng: random.Random) -> None:
    """~2,000 stories of the last 48 h and two channels subscribed to every topic."""
    from vigil.domain.models import Item, Subscription
    from vigil.domain.stories import StoryClusterer

    clusterer = StoryClusterer([], timedelta(hours=48))
    stories: dict[str, Any] = {}
    for k in range(STORIES * 2):
        at = now - timedelta(hours=47) + timedelta(hours=47) * k / (STORIES * 2)
        title = rng.choice(ON_TOPIC_TITLES).format(n=k, w=rng.choice(WORDS))
        item = Item(key=f"w:story{k:020x}", source_id="w", title=title, summary="", url=f"https://w.example/{k}",
                    published=at, source_name="w")
        story, _ = clusterer.assign(item, ("taiwan",), 1, at)
        stories[story.id] = story
        if len(stories) >= STORIES:
            break
    for story in stories.values():
        for w in store._story_writes(story):
            store.kv.put(w.pk, w.sk, w.data, ttl=w.ttl)
    for channel in ("C0000000001", "C0000000002"):
        for topic in ("russia-china-military", "taiwan", "sanctions"):
            store.put_subscription(Subscription(channel, topic, True, now - timedelta(days=30)))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_batches(sizes: tuple[int, ...], seed: int = 13) -> Iterator[BatchRun]:
    """One measured steady-state batch of each size (sources), each on its own fresh state."""
    from vigil.adapters.config.topics import load_topics
    from vigil.adapters.feeds.reader import HttpFeedReader
    from vigil.adapters.http.fetch import Fetcher, FetchOptions
    from vigil.adapters.state.memory import MemoryKV
    from vigil.domain.clock import now_utc
    from vigil.domain.models import Source
    from vigil.services.cycle import CycleOptions, run_cycle
    from vigil.services.store import Store

    topics = load_topics()
    with tempfile.TemporaryDirectory() as folder:
        cert, key, bundle = _certificate(Path(folder))
        with bench_fetch.Server(prebuilt=False, tls=(cert, key)) as server:
            options = FetchOptions(allow_private=True, ca_certs=bundle)
            for n in sizes:
                rng = random.Random(seed + n)
                now = now_utc().replace(microsecond=0)
                memory = MemoryKV()
                store = Store(memory, sleep=lambda _: None)
                _seed_window(store, now, rng)
                ids = list(range(n))
                cycle = CycleOptions(state_heartbeat=STATE_HEARTBEAT)
                warm = Fetcher(options, resolver=bench_fetch._resolver)
                # Earlier cycles, in thirds 15, 10 and 5 minutes ago (when each state was last stored).
                for third in range(3):
                    part = [Source(f"s{i}", _url(server.port, i), name=f"Outlet {i}") for i in ids[third::3]]
                    run_cycle(part, topics, store, HttpFeedReader(warm, parse_workers=1), LatentSink(), cycle,
                              now - timedelta(minutes=15 - 5 * third))
                warm.close()
                answering = set(rng.sample(ids, round(n * (1 - NOT_MODIFIED_SHARE))))
                fresh: dict[int, int] = {}
                for _ in range(round(NEW_PER_SOURCE * n)):
                    i = rng.choice(sorted(answering))
                    fresh[i] = fresh.get(i, 0) + 1
                sources = [Source(f"s{i}", _url(server.port, i, fresh.get(i, 0), 1) if i in answering
                                  else _url(server.port, i), name=f"Outlet {i}") for i in ids]
                kv, sink = LatentKV(memory), LatentSink()
                # A warm container: imports done, the Fetcher (connection pools) built, but no
                # connection still open from five minutes ago.
                fetcher = Fetcher(options, resolver=bench_fetch._resolver)
                cpu0, started = _cpu(), time.perf_counter()
                report = run_cycle(sources, topics, Store(kv), HttpFeedReader(fetcher, parse_workers=1), sink,
                                   cycle, now)
                wall, cpu = time.perf_counter() - started, _cpu() - cpu0
                fetcher.close()
                yield BatchRun(sources=n, wall_s=wall, cpu_s=cpu, waits_s=kv.waited + sink.waited,
                               requests=kv.requests, sqs_sends=sink.sends,
                               not_modified=report.sources_not_modified, items_new=report.items_new,
                               alerts=report.alerts, failed=report.sources_failed)
