"""Composition root for one machine: what `vigil run`, `vigil digest` and `make demo` call.

Builds the real adapters (SQLite or DynamoDB state, the HTTP feed reader, Slack or the
outbox file), runs a cycle whose alerts are committed to the store's outbox, then
drains the outbox to Slack and sends the digests that are due.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.adapters.slack.client import DEFAULT_API_URL, SlackChatClient, web_client
from vigil.adapters.slack.outbox import DEFAULT_OUTBOX, OutboxClient
from vigil.domain.clock import now_utc
from vigil.domain.errors import ConfigError
from vigil.domain.models import Topic
from vigil.ports import ChatClient
from vigil.render.preview import preview_text
from vigil.runtime.state import open_store
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.delivery import Deliverer
from vigil.services.digests import run_digests
from vigil.services.outbox import DrainLater, drain
from vigil.services.store import Store

_HOST = socket.gethostname()


def make_client(outbox_path: str | Path | None = None, *, preview: bool = True,
                preview_stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> ChatClient:
    """Slack when SLACK_BOT_TOKEN is set (at SLACK_API_URL), else the outbox file with a preview."""
    env = os.environ if env is None else env
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    if token:
        return SlackChatClient(web_client(token, base_url=env.get("SLACK_API_URL") or DEFAULT_API_URL))
    stream = (preview_stream or sys.stdout) if preview else None
    return OutboxClient(outbox_path or DEFAULT_OUTBOX, preview=stream, formatter=preview_text)


def this_process() -> str:
    """Who holds a delivery claim made here: host and pid."""
    return f"{_HOST}:{os.getpid()}"


def is_process_alive(holder: str) -> bool | None:
    """Whether a claim's holder still runs: known only for processes on this host."""
    host, _, pid = holder.rpartition(":")
    if host != _HOST or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def post_interval(client: ChatClient, env: Mapping[str, str] | None = None) -> float:
    """Seconds between posts to one channel: Slack allows about one message per second
    per channel; the outbox file has no limit. VIGIL_POST_INTERVAL_SECONDS overrides it
    (a fake Slack in tests, an Enterprise Grid with other limits)."""
    env = os.environ if env is None else env
    raw = env.get("VIGIL_POST_INTERVAL_SECONDS", "").strip()
    if raw:
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 60:
            raise ConfigError(f"environment: VIGIL_POST_INTERVAL_SECONDS must be 0..60, got {raw!r}")
        return seconds
    return 0.0 if isinstance(client, OutboxClient) else 1.0


def make_deliverer(store: Store, client: ChatClient, topics: list[Topic]) -> Deliverer:
    interval = post_interval(client)
    return Deliverer(store, client, interval=interval, topic_names={t.id: t.name for t in topics},
                     holder=this_process(), is_holder_alive=is_process_alive)


def run_once(
    *,
    sources_file: str | Path | None,
    topics_file: str | Path | None,
    state: str,
    outbox: Path,
    channels: tuple[str, ...] = (),
    preview: bool = True,
    options: CycleOptions | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CycleReport:
    """Load configuration, open the state, run a cycle, deliver, send due digests.

    Configuration errors raise ConfigError; state errors StoreError.
    """
    configured = load_sources(sources_file)
    topics = load_topics(Path(topics_file) if topics_file else None)
    store = open_store(state)
    reader = HttpFeedReader()
    stop = should_stop or (lambda: False)
    try:
        sources = store.with_custom_sources(configured)
        client = make_client(outbox, preview=preview)
        deliverer = make_deliverer(store, client, topics)
        opts = dataclasses.replace(options or CycleOptions(), should_stop=stop)
        if channels:
            opts = dataclasses.replace(opts, extra_channels=channels)
        report = run_cycle(sources, topics, store, reader, DrainLater(), opts)
        report.delivery = drain(store, deliverer, now_utc(), should_stop=stop)
        if not stop():
            report.digests = run_digests(store, client, now_utc(), interval=None, deliverer=deliverer,
                                         topic_names={t.id: t.name for t in topics})
        return report
    finally:
        reader.close()
        store.close()


def send_digests(*, state: str, outbox: Path, topics_file: str | Path | None = None,
                 preview: bool = True) -> dict[str, int]:
    """Send the digests that are due, alone (`vigil digest`)."""
    topics = load_topics(Path(topics_file) if topics_file else None)
    store = open_store(state)
    try:
        client = make_client(outbox, preview=preview)
        deliverer = make_deliverer(store, client, topics)
        return run_digests(store, client, now_utc(), interval=None, deliverer=deliverer,
                           topic_names={t.id: t.name for t in topics})
    finally:
        store.close()
