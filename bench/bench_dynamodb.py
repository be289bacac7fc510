"""DynamoDB requests and capacity units of one steady-state poll cycle, counted under moto.

The real code path: `fanout.poll` (due sources), `run_cycle` on each fan-out batch of
`SourcesPerBatch` sources through `DynamoKV`, the outbox sweep, and the notify side
(`deliver_message` for every queued outbox key, with a chat client that accepts every
post). Feeds come from a fake reader; the store is moto's DynamoDB with the stack's
table definition. A botocore event hook records every request; capacity units are
computed from item sizes and read consistency the way DynamoDB bills on-demand tables
(moto does not report ConsumedCapacity):

- reads: each item read (found or not) rounds up to 4 KB; a Query sums the items it
  returns per page, rounded up to 4 KB; eventually consistent reads cost half;
- writes: each item written or deleted rounds up to 1 KB; in a transaction, twice.

Workload (docs/AWS.md): every source due, half the feeds answer 304, the other half
25 entries; ~40 new items per source per day (0.14 per cycle), 10 % of them on topic;
a 48 h story window of ~400 stories (200 sources) / ~2,000 (1,000 and 5,000 sources); two
channels subscribed to every topic. 5,000 sources are projected from the 1,000-source
measurement (moto holds more than 13 GB at 5,000 in one process): `projection`. The
state before the measured cycle is what the previous cycles left (seeded straight into
moto's backend, not counted).
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from costs import CYCLES_PER_MONTH, RRU, WRU

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = (200, 1000)
PROJECT_TO = 5000
STORY_WINDOW = {200: 400, 1000: 2000, 5000: 2000}
BATCH = 125  # template.yaml SourcesPerBatch default
OLD_BATCH = 50  # the default before issue 13, measured beside it
LARGER_BATCH = 250  # for comparison: more sources than fetch threads (two waves at worst)
FETCH_CONCURRENCY = 10  # template.yaml FetchConcurrency default
STATE_HEARTBEAT = timedelta(minutes=15)  # template.yaml VIGIL_STATE_HEARTBEAT_HOURS
ENTRIES = 25
NEW_PER_SOURCE = 0.14
ON_TOPIC = 0.10
TABLE = "vigil-state"
ACCOUNT, REGION = "123456789012", "us-east-1"

ON_TOPIC_TITLES = (
    "Taiwan reports {n} PLA aircraft and ships near the island after {w} drills",
    "Russian and Chinese navies start joint exercise in the {w} sea, {n} warships",
    "EU adopts sanctions on {n} Chinese firms supplying Russia's {w} industry",
    "US adds {n} entities to export control list over chips shipped to Russia via {w}",
)
OFF_TOPIC = "Local {w} council approves budget for {n} new parks"
WORDS = ("northern", "southern", "eastern", "western", "coastal", "inland", "arctic", "pacific", "baltic",
         "yellow", "central", "remote", "island", "border", "harbour", "mountain", "delta", "plateau")


# ---------------------------------------------------------------- request accounting


def _size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return (len(v.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _size(x) for k, x in v.items())
    if kind == "L":
        return 3 + sum(1 + _size(x) for x in v)
    return len(json.dumps(v))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _size(value) for name, value in item.items())


def _update_size(update: dict[str, Any]) -> int:
    """Size of the item an UpdateItem of `DynamoKV._update`'s shape leaves (key, d, v, ttl)."""
    values = update.get("ExpressionAttributeValues", {})
    size = item_size(update["Key"]) + 1 + _size(values[":d"]) + 1 + 3
    if ":ttl" in values:
        size += 3 + _size(values[":ttl"])
    return size


class Meter:
    """Counts requests, items and capacity units through botocore's event hooks."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.rru = 0.0
        self.wru = 0.0
        # Units by record kind (the partition key before '#': SEEN, SOURCE, STORY, OUTBOX ...).
        self.by_kind: Counter[str] = Counter()
        self.items_read = 0
        self.on = False

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.dynamodb.*", self._params)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = dict(params)

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.on:
            return
        op, params = model.name, context.get("bench_params", {})
        self.requests[op] += 1
        if op == "GetItem":
            self._read([parsed.get("Item")], params.get("ConsistentRead", False), _kind(params["Key"]))
        elif op == "BatchGetItem":
            for table, req in params["RequestItems"].items():
                found = parsed.get("Responses", {}).get(table, [])
                unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                missing = len(req["Keys"]) - len(found) - unprocessed
                self._read([*found, *([None] * missing)], req.get("ConsistentRead", False), _kind(req["Keys"][0]))
        elif op == "Query":
            items = parsed.get("Items", [])
            self.items_read += len(items)
            units = max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
            self._add("r", units * (1.0 if params.get("ConsistentRead") else 0.5),
                      _kind({"pk": params["ExpressionAttributeValues"][":pk"]}))
        elif op == "UpdateItem":
            self._add("w", math.ceil(_update_size(params) / 1024), _kind(params["Key"]))
        elif op == "DeleteItem":
            old = parsed.get("Attributes")
            self._add("w", max(1, math.ceil(item_size(old) / 1024)) if old else 1, _kind(params["Key"]))
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                self.requests["(transactional item writes)"] += 1
                self._add("w", 2 * math.ceil(_update_size(entry["Update"]) / 1024), _kind(entry["Update"]["Key"]))
        else:
            raise AssertionError(f"unexpected DynamoDB call {op}: count its capacity")

    def _add(self, kind: str, units: float, record: str) -> None:
        if kind == "r":
            self.rru += units
        else:
            self.wru += units
        self.by_kind[f"{record} {'RRU' if kind == 'r' else 'WRU'}"] += units

    def _read(self, items: list[dict[str, Any] | None], consistent: bool, record: str) -> None:
        for item in items:
            self.items_read += item is not None
            units = max(1, math.ceil(item_size(item) / 4096)) if item else 1
            self._add("r", units * (1.0 if consistent else 0.5), record)


def _kind(key: dict[str, Any]) -> str:
    return key["pk"]["S"].split("#")[0]


# ---------------------------------------------------------------- workload


def _title(rng: random.Random, on_topic: bool, n: int) -> str:
    template = rng.choice(ON_TOPIC_TITLES) if on_topic else OFF_TOPIC
    return template.format(n=n, w=rng.choice(WORDS))


class FakeReader:
    """Half the sources answer 304; the others 25 entries, the first `new[sid]` of them new."""

    def __init__(self, feeds: dict[str, Any]) -> None:
        self.feeds = feeds

    def read(self, sources: Sequence[Any], states: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
        from vigil.ports import FeedOutcome

        for source in sources:
            items = self.feeds.get(source.id)
            if items is None:
                yield source, FeedOutcome(items=None, status=304, etag='"e1"')
            else:
                yield source, FeedOutcome(items=list(items), status=200, etag='"e2"')


class AcceptingChat:
    """A chat client that accepts every post (the notify side's store traffic is what is counted)."""

    def __init__(self) -> None:
        self.posts = 0

    def post_message(self, channel: str, payload: dict[str, Any]) -> str:
        self.posts += 1
        return f"1700000000.{self.posts:06d}"

    def find_message(self, channel: str, **_: Any) -> str | None:
        return None

    def update_message(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self.posts += 1

    def get_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return None


def _workload(n: int, rng: random.Random, now: Any) -> tuple[list[Any], dict[str, list[Any]], dict[str, list[Any]]]:
    """Sources; what each answering source's feed held last cycle and holds now."""
    from vigil.domain.models import Item, Source

    sources = [Source(id=f"s{i:05d}", url=f"https://feeds{i % 250}.example/{i}.xml", name=f"Outlet {i}")
               for i in range(n)]
    answering = rng.sample([s.id for s in sources], n // 2)
    new_counts = Counter(rng.choice(answering) for _ in range(round(NEW_PER_SOURCE * n)))
    before: dict[str, list[Any]] = {}
    after: dict[str, list[Any]] = {}
    serial = 0

    def item(sid: str, on_topic: bool, age: timedelta) -> Item:
        nonlocal serial
        serial += 1
        title = _title(rng, on_topic, serial)
        return Item(key=f"{sid}:{serial:024x}", source_id=sid, title=title,
                    summary=f"{title}. Officials said more details would follow later in the day. " * 2,
                    url=f"https://outlet.example/{sid}/{serial}", published=now - age,
                    source_name=f"Outlet {sid}")

    for sid in answering:
        old = [item(sid, rng.random() < ON_TOPIC, timedelta(hours=1 + k)) for k in range(ENTRIES)]
        new = [item(sid, rng.random() < ON_TOPIC, timedelta(minutes=3)) for _ in range(new_counts[sid])]
        before[sid] = old
        after[sid] = (new + old)[:ENTRIES]
    return sources, before, after


def _seed(backend: Any, n: int, sources: list[Any], before: dict[str, list[Any]], rng: random.Random,
          now: Any) -> None:
    """What earlier cycles left: source states, seen items, the story window, subscriptions."""
    from vigil.domain import health
    from vigil.domain.codec import to_record
    from vigil.domain.models import Subscription
    from vigil.domain.stories import StoryClusterer
    from vigil.ports import FeedOutcome, Write
    from vigil.services.store import SEEN_TTL, Store

    def put(w: Write, version: int = 1) -> None:
        item = {"pk": {"S": w.pk}, "sk": {"S": w.sk}, "v": {"N": str(version)},
                "d": {"S": json.dumps({k: v for k, v in w.data.items() if not k.startswith("_")})}}
        if w.ttl is not None:
            item["ttl"] = {"N": str(int(w.ttl.timestamp()))}
        backend.put_item(TABLE, item)

    for k, source in enumerate(sources):
        items = before.get(source.id)
        # States were stored 5, 10 or 15 minutes ago (a 15-minute heartbeat: unchanged feeds,
        # 304 or a 200 of the same items, are stored every third cycle).
        last = now - timedelta(minutes=5 * (1 + k % 3))
        outcome = FeedOutcome(items=items, status=200 if items is not None else 304, etag='"e1"')
        state = health.record_outcome(health.record_outcome(
            _blank_state(source.id), FeedOutcome(items=items or [], status=200, etag='"e1"'), last - timedelta(days=3)),
            outcome, last)
        put(Write("SOURCE", source.id, to_record(state)), version=100)
        for it in items or ():
            put(Write(f"SEEN#{it.key}", "-", {"source": source.id, "at": last.isoformat()}, ttl=now + SEEN_TTL))
    clusterer = StoryClusterer([], timedelta(hours=48))
    stories: dict[str, Any] = {}
    for k in range(STORY_WINDOW[n] * 2):
        at = now - timedelta(hours=47) + timedelta(hours=47) * k / (STORY_WINDOW[n] * 2)
        sid = rng.choice(sources).id
        from vigil.domain.models import Item

        it = Item(key=f"{sid}:story{k:020x}", source_id=sid, title=_title(rng, True, k),
                  summary="", url=f"https://outlet.example/{sid}/story{k}", published=at, source_name=sid)
        story, _ = clusterer.assign(it, ("taiwan",), 1, at)
        stories[story.id] = story
        if len(stories) >= STORY_WINDOW[n]:
            break
    for story in stories.values():
        for w in Store._story_writes(story):
            put(w)
    for channel in ("C0000000001", "C0000000002"):
        for topic in ("russia-china-military", "taiwan", "sanctions"):
            put(Write("SUB", f"{channel}#{topic}",
                      to_record(Subscription(channel, topic, True, now - timedelta(days=30)))))


def _blank_state(source_id: str) -> Any:
    from vigil.domain.models import SourceState

    return SourceState(source_id=source_id)


# ---------------------------------------------------------------- one measured cycle


class _CheapTableCopy:
    """moto deep-copies the whole table before each transaction (for rollback), which
    makes a 60,000-item table take seconds per TransactWriteItems. Copy its two index
    levels instead: enough to roll back the inserts of a cancelled transaction, which
    is all this single-writer bench can meet."""

    def __getattr__(self, name: str) -> Any:
        import copy

        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: Any = None) -> Any:
        import copy
        from collections import defaultdict

        from moto.dynamodb.models.table import Table

        if not isinstance(obj, Table):
            return copy.deepcopy(obj, memo)
        clone = copy.copy(obj)
        clone.items = defaultdict(dict, {h: dict(r) if isinstance(r, dict) else r for h, r in obj.items.items()})
        return clone


def measure(n: int) -> dict[str, Any]:
    import boto3
    import moto.dynamodb.models as moto_models
    from moto import mock_aws
    from moto.dynamodb.models import dynamodb_backends
    from vigil.adapters.config.topics import load_topics
    from vigil.adapters.state.dynamodb import DynamoKV
    from vigil.domain.clock import now_utc
    from vigil.domain.codec import outbox_ref_to_dict
    from vigil.services import fanout, outbox
    from vigil.services.cycle import CycleOptions, run_cycle
    from vigil.services.delivery import Deliverer
    from vigil.services.store import Store

    try:
        from vigil.services.cycle import StoryCache
    except ImportError:  # before the story window was shared between batches
        StoryCache = None
    from tests.aws_stack import create_table

    moto_models.copy = _CheapTableCopy()  # type: ignore[assignment]
    rng = random.Random(n)
    now = now_utc().replace(microsecond=0)
    sources, before, after = _workload(n, rng, now)
    topics = load_topics()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client, "StateTable", TABLE)
        _seed(dynamodb_backends[ACCOUNT][REGION], n, sources, before, rng, now)
        meter = Meter()
        meter.attach(client)
        kv = DynamoKV(TABLE, client)
        store = Store(kv, sleep=lambda _: None)
        reader = FakeReader(after)
        queued: list[str] = []

        class Sink:
            def send(self, keys: list[str]) -> None:
                queued.extend(keys)

        # As the stack runs it (template.yaml VIGIL_STATE_HEARTBEAT_HOURS), where the code has it.
        fields = CycleOptions.__dataclass_fields__
        options = CycleOptions(**({"state_heartbeat": STATE_HEARTBEAT} if "state_heartbeat" in fields else {}))
        invocations = Counter()
        meter.on = True
        started = time.perf_counter()
        fetch_bodies: list[str] = []
        # poll: the due sources; fan out (or run inline when they fit one invocation)
        invocations["poll"] += 1
        fanout.poll(sources, store, now, batch_size=BATCH,
                             run_inline=lambda due: run_cycle(due, topics, store, reader, Sink(), options, now),
                             send_batches=lambda bodies: fetch_bodies.extend(bodies) or len(bodies))
        outbox.sweep(store, Sink().send, now)
        # FetchConcurrency (10) warm containers take the batches in turn, each keeping its story window.
        caches = [StoryCache() for _ in range(FETCH_CONCURRENCY)] if StoryCache is not None else []
        for k, body in enumerate(fetch_bodies):
            invocations["fetch"] += 1
            extra = {"stories": caches[k % len(caches)]} if caches else {}
            run_cycle(fanout.decode_batch(body), topics, store, reader, Sink(), options, now, **extra)
        cycle_requests = Counter(meter.requests)
        cycle_rru, cycle_wru = meter.rru, meter.wru
        # notify: every queued outbox key (one invocation per 10 messages, the SQS batch)
        deliverer = Deliverer(store, AcceptingChat(), interval=0, sleep=lambda _: None, now=lambda: now)
        outcomes = Counter()
        for key in queued:
            outcomes[outbox.deliver_message(store, deliverer, outbox_ref_to_dict(key), now).outcome] += 1
        invocations["notify"] += math.ceil(len(queued) / 10)
        seconds = time.perf_counter() - started
        meter.on = False
    notify_requests = meter.requests - cycle_requests
    return {
        "n": n, "seconds": seconds, "invocations": invocations, "alerts": len(queued), "outcomes": outcomes,
        "cycle_requests": cycle_requests, "cycle_rru": cycle_rru, "cycle_wru": cycle_wru,
        "notify_requests": notify_requests, "notify_rru": meter.rru - cycle_rru, "by_kind": meter.by_kind,
        "notify_wru": meter.wru - cycle_wru,
    }


def monthly(m: dict[str, Any]) -> tuple[float, float, float]:
    """DynamoDB $/month: writes, reads, and the idempotency table (2 WRU per idempotent invocation)."""
    idem = 2 * (m["invocations"]["poll"] + m["invocations"]["fetch"])
    writes = (m["cycle_wru"] + m["notify_wru"] + idem) * CYCLES_PER_MONTH * WRU
    reads = (m["cycle_rru"] + m["notify_rru"]) * CYCLES_PER_MONTH * RRU
    return writes, reads, idem


def _fmt_requests(c: Counter[str]) -> str:
    return ", ".join(f"{op} {k:,}" for op, k in sorted(c.items()))


def run() -> list[str]:
    lines = ["requests and capacity units of one steady-state cycle (poll + fetch batches + sweep), then notify"]
    measured: dict[int, dict[str, Any]] = {}
    for n in SIZES:
        m = measure(n)
        print(f"  ({n:,} sources measured)", file=sys.stderr, flush=True)
        writes, reads, idem = monthly(m)
        lines += [
            f"{n:,} sources ({m['invocations']['fetch']} fetch batches of {BATCH}; {m['alerts']} alerts; "
            f"measured in {m['seconds']:.1f} s under moto)",
            f"  cycle:  {_fmt_requests(m['cycle_requests'])}",
            f"          {m['cycle_rru']:,.1f} RRU, {m['cycle_wru']:,.0f} WRU (+{idem} WRU idempotency records)",
            f"  notify: {_fmt_requests(m['notify_requests'])}",
            f"          {m['notify_rru']:,.1f} RRU, {m['notify_wru']:,.0f} WRU; outcomes {dict(m['outcomes'])}",
            "  by record: " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(m["by_kind"].items())),
            f"  DynamoDB per month (x {CYCLES_PER_MONTH:,} cycles): writes ${writes:,.2f} + reads ${reads:,.2f}"
            f" = ${writes + reads:,.2f}",
        ]
        measured[n] = m
    lines += projection(measured[max(measured)], smallest=measured[min(measured)])
    return lines


def projected_units(m: dict[str, Any], n: int = PROJECT_TO, batch: int = BATCH) -> tuple[float, float, float]:
    """RRU, WRU (idempotency records not included) and alerts of one cycle at `n` sources,
    scaled from the measured size (moto needs > 13 GB at 5,000 in one process).

    Everything grows with the number of sources (per-source reads and writes, alerts)
    except the story window, read per warm container (FetchConcurrency) with as many
    stories as at the measured size (docs/AWS.md: ~2,000), and the cycle records, one
    per fetch batch.
    """
    scale = n / m["n"]
    kinds = m["by_kind"]
    # The story window: one full read per warm container of the cycle (at most FetchConcurrency).
    measured_containers = max(1, min(FETCH_CONCURRENCY, m["invocations"]["fetch"]))
    containers = min(FETCH_CONCURRENCY, math.ceil(n / batch)) / measured_containers
    rru = sum(v * (containers if k.startswith("STORY ") else scale) for k, v in kinds.items() if k.endswith("RRU"))
    cycle_wru = kinds.get("CYCLE WRU", 0) / max(1, m["invocations"]["fetch"])  # per batch
    wru = sum(v * scale for k, v in kinds.items() if k.endswith("WRU") and k != "CYCLE WRU")
    return rru, wru + cycle_wru * math.ceil(n / batch), m["alerts"] * scale


def projection(m: dict[str, Any], n: int = PROJECT_TO, smallest: dict[str, Any] | None = None) -> list[str]:
    """The whole stack at `n` sources (docs/AWS.md's table, `costs.py`'s arithmetic): DynamoDB
    scaled from the measurement, fetch batches of the old default, the new one and a larger
    one measured now (`fetch_batch.py`); and `smallest` (200 sources) from its own measurement."""
    import costs
    import fetch_batch
    from vigil.runtime.observability import METRICS

    runs = {run.sources: run for run in fetch_batch.measure_batches((OLD_BATCH, BATCH, LARGER_BATCH))}
    lines = [f"{n:,} sources, projected from {m['n']:,}; fetch batches measured over loopback HTTPS "
             f"({fetch_batch.NOT_MODIFIED_SHARE:.0%} 304, {int(fetch_batch.bench_fetch.DELAY * 1000)} ms per response, "
             f"DynamoDB {fetch_batch.DYNAMODB_REQUEST_S * 1000:.0f} ms per request modelled):"]
    columns: dict[str, costs.Cycle] = {}
    for batch in (OLD_BATCH, BATCH, LARGER_BATCH):
        run = runs[batch]
        billed = costs.billed_seconds(run.wall_s, run.cpu_s)
        lines.append(
            f"  fetch batch of {batch}: wall {run.wall_s:.2f} s (of it {run.waits_s:.2f} s modelled DynamoDB/SQS "
            f"round trips, {run.requests} requests), cpu {run.cpu_s:.2f} s -> billed at 512 MB {billed:.1f} s "
            f"(wall + cpu x {costs.CPU_SLOWDOWN - 1:.2f}; lower bound "
            f"{max(run.wall_s, run.cpu_s * costs.CPU_SLOWDOWN):.1f} s); {run.not_modified} answered 304, "
            f"{run.items_new} new items, {run.failed} failed")
        rru, wru, alerts = projected_units(m, n, batch)
        columns[f"SourcesPerBatch {batch}"] = costs.Cycle(
            sources=n, batch=batch, fetch_seconds=billed, wru=wru, rru=rru, alerts=alerts,
            custom_metrics=len(METRICS))
    lines += ["  " + row for row in costs.table(columns)]
    totals = {name: sum(costs.monthly(c).values()) for name, c in columns.items()}
    default = f"SourcesPerBatch {BATCH}"
    if smallest is not None and smallest["n"] < n:
        # Its own measurement, no projection; its fetch batches are smaller than the default
        # batch measured, so their time is scaled from it by sources.
        few = smallest["n"]
        rru, wru, alerts = projected_units(smallest, few, BATCH)
        per_batch = few / math.ceil(few / BATCH)
        small = costs.Cycle(sources=few, batch=BATCH, fetch_seconds=columns[default].fetch_seconds * per_batch / BATCH,
                            wru=wru, rru=rru, alerts=alerts, custom_metrics=len(METRICS))
        items = costs.monthly(small)
        lines.append(f"{few:,} sources, {default}: ${sum(items.values()):,.2f} per month (DynamoDB "
                     f"${items['DynamoDB writes'] + items['DynamoDB reads']:,.2f}, Lambda compute "
                     f"${items['Lambda compute']:,.2f}, CloudWatch ${items['CloudWatch metrics + alarms']:,.2f})")
    lines.append(f"whole stack per month at {n:,} sources, {default} (the default): ${totals[default]:,.2f}, "
                 f"{costs.verdict(totals[default])} (SourcesPerBatch {OLD_BATCH}: "
                 f"${totals[f'SourcesPerBatch {OLD_BATCH}']:,.2f}, {LARGER_BATCH}: "
                 f"${totals[f'SourcesPerBatch {LARGER_BATCH}']:,.2f})")
    return lines


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "layers" / "vigil"), str(ROOT), str(HERE)]
    want = [int(a) for a in sys.argv[1:]] or list(SIZES)
    SIZES = tuple(want)
    print("\n".join(run()))
