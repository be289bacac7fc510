"""Faster feed parsers against feedparser, on every recorded real feed in ../shared/data/feeds/.

A candidate could replace feedparser only as a fast path whose items equal
feedparser's on every feed (feedparser kept for whatever it rejects). For each feed
this compares the `Item`s Vigil makes (vigil.domain.normalize.entry_to_item, the
production path) from each parser's entries with those from feedparser as Vigil
calls it (vigil.adapters.feeds.parse), and times each parser on the same bytes.

The candidates are not project dependencies: install them into a scratch venv and
run this there, e.g. `pip install feedparser fastfeedparser feedparser-rs` then
`PYTHONPATH=layers/vigil python bench/bench_parsers.py`. Missing ones are reported.
"""

from __future__ import annotations

import importlib
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FEEDS = HERE.parent.parent / "shared" / "data" / "feeds"
CANDIDATES = ("fastfeedparser", "feedparser_rs")
ROUNDS = 5


def _best(fn: Callable[[], Any], rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _items(entries: Any, source: Any, link: str) -> list[Any]:
    from vigil.domain.normalize import entry_to_item

    out = []
    for entry in entries or ():
        try:
            item = entry_to_item(entry, source, link)
        except Exception as exc:  # a candidate's entry shape normalize cannot read
            item = f"error: {type(exc).__name__}"
        if item is not None:
            out.append(item)
    return out


def _candidate(name: str) -> Callable[[bytes], Any] | None:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module.parse  # type: ignore[no-any-return]


def run() -> list[str]:
    import feedparser
    from vigil.adapters.feeds.parse import parse_feed
    from vigil.domain.models import Source

    files = sorted(FEEDS.glob("*.xml")) + sorted(FEEDS.glob("*.rss")) + sorted(FEEDS.glob("*.atom"))
    if not files:
        return [f"no recorded feeds in {FEEDS}: skipped"]
    lines = [f"{len(files)} recorded feeds; feedparser {feedparser.__version__}; best of {ROUNDS} rounds each"]
    parsers = {name: _candidate(name) for name in CANDIDATES}
    for name, parse in parsers.items():
        if parse is None:
            lines.append(f"{name}: not installed (pip install {name.replace('_', '-')} in a scratch venv)")
    totals = {name: [0.0, 0.0, 0, 0, 0] for name, p in parsers.items() if p}  # fp s, cand s, equal, feeds, items
    if not totals:
        return [*lines, "nothing to compare: feedparser stays alone (last evaluation: docs/PERFORMANCE.md)"]
    for path in files:
        body = path.read_bytes()
        source = Source(id=path.stem[:40], url=f"https://{path.stem[:30]}.example/feed")
        reference = parse_feed(body, {}, source)
        fp_seconds = _best(lambda b=body: feedparser.parse(io.BytesIO(b), sanitize_html=False,
                                                           resolve_relative_uris=False))
        verdicts = []
        for name, parse in parsers.items():
            if parse is None:
                continue
            try:
                parsed = parse(body)
                feed = parsed.get("feed") if hasattr(parsed, "get") else getattr(parsed, "feed", {})
                link = str((feed or {}).get("link") or "")
                from urllib.parse import urljoin

                items = _items(parsed.get("entries") if hasattr(parsed, "get") else parsed.entries, source,
                               urljoin(source.url, link) if link else "")
                seconds = _best(lambda b=body, p=parse: p(b))
            except Exception as exc:
                verdicts.append(f"{name}: fails ({type(exc).__name__}: {str(exc)[:60]})")
                continue
            same = items == reference.items
            t = totals[name]
            t[0] += fp_seconds
            t[1] += seconds
            t[2] += same
            t[3] += 1
            t[4] += len(reference.items)
            diff = "" if same else _first_difference(reference.items, items)
            verdicts.append(f"{name}: {'same items' if same else 'DIFFERENT: ' + diff}, "
                            f"{fp_seconds / seconds:.1f}x feedparser's speed")
        lines.append(f"{path.name[:52]:52s} {len(reference.items):3d} items; " + "; ".join(verdicts))
    for name, (fp_s, cand_s, equal, _feeds, items) in totals.items():
        lines.append(f"{name}: items equal to feedparser's on {equal} of {len(files)} feeds; on the feeds it parsed, "
                     f"{items / fp_s:,.0f} vs {items / cand_s:,.0f} items/s = {fp_s / cand_s:.1f}x feedparser "
                     f"(parse only, one core)")
    adopt = [n for n, t in totals.items() if t[2] == len(files)]
    lines.append(f"adopt as a fast path: {', '.join(adopt) if adopt else 'none (keep feedparser alone)'}")
    return lines


def _first_difference(want: list[Any], got: list[Any]) -> str:
    if len(want) != len(got):
        return f"{len(got)} items instead of {len(want)}"
    for a, b in zip(want, got, strict=True):
        if a != b:
            if isinstance(b, str):
                return b
            fields = [f for f in a.__slots__ if getattr(a, f) != getattr(b, f)]
            f = fields[0]
            return f"{f}: {str(getattr(a, f))[:40]!r} vs {str(getattr(b, f))[:40]!r}"
    return "?"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "layers" / "vigil"))
    print("\n".join(run()))
