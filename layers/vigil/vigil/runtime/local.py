"""One local poll cycle with the real adapters: what `vigil run` and `make demo` call."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.runtime.state import open_store
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.delivery import Deliverer, OutboxClient, make_client
from vigil.services.local_delivery import InProcessSink


def run_once(
    *,
    sources_file: str | Path | None,
    topics_file: str | Path | None,
    state: str,
    outbox: Path,
    channels: tuple[str, ...] = (),
    preview: bool = True,
    options: CycleOptions | None = None,
) -> CycleReport:
    """Load configuration, open the state, run a cycle; configuration errors raise ConfigError."""
    configured = load_sources(sources_file)
    topics = load_topics(Path(topics_file) if topics_file else None)
    store = open_store(state)
    reader = HttpFeedReader()
    try:
        sources = store.with_custom_sources(configured)
        client = make_client(outbox, preview=preview)
        # Slack's ~1 message/s per channel limit does not apply to the outbox file.
        interval = 0.0 if isinstance(client, OutboxClient) else 1.0
        deliverer = Deliverer(store, client, interval=interval, topic_names={t.id: t.name for t in topics})
        sink = InProcessSink(store, deliverer)
        sink.retry_pending()
        opts = options or CycleOptions()
        if channels:
            opts = dataclasses.replace(opts, extra_channels=channels)
        return run_cycle(sources, topics, store, reader, sink, opts)
    finally:
        reader.close()
        store.close()
