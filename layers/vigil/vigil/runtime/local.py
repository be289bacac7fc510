"""Composition root for one machine: what `vigil run`, `vigil digest`, `vigil serve`,
`vigil sources check` and `make demo` call.

Builds the real adapters (SQLite or DynamoDB state, the HTTP feed reader, Slack or the
outbox file), runs a cycle whose alerts are committed to the store's outbox, then
drains the outbox to Slack and sends the digests that are due. For `vigil serve` it
wires the Slack request service to slack_sdk and a local HTTP server.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.adapters.http.fetch import Fetcher, FetchOptions
from vigil.adapters.slack.client import DEFAULT_API_URL, SlackChatClient, web_client
from vigil.adapters.slack.inbound import post_to_response_url, request_verifier
from vigil.adapters.slack.local_server import REQUEST_TIMEOUT, make_server
from vigil.adapters.slack.outbox import DEFAULT_OUTBOX, OutboxClient
from vigil.adapters.slack.socket_mode import SocketModeConnection
from vigil.adapters.static_files import serve_directory
from vigil.domain.clock import now_utc
from vigil.domain.errors import ConfigError
from vigil.domain.models import Source, Topic
from vigil.ports import ChatClient, FeedOutcome
from vigil.render.preview import preview_text
from vigil.runtime.config import configured_sources, configured_term_lists, configured_topics
from vigil.runtime.settings import local_admins, private_networks_allowed
from vigil.runtime.state import open_store
from vigil.services.commands import Commands
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.delivery import Deliverer
from vigil.services.digests import run_digests
from vigil.services.outbox import DrainLater, drain
from vigil.services.slack_requests import (
    MAX_BODY,
    DeferredJob,
    SlackDeps,
    handle_slack_request,
    handle_socket_request,
    run_deferred,
)
from vigil.services.store import Store

_HOST = socket.gethostname()
# The state's record of the sources file `vigil run` polls ("" for the shipped list).
SOURCES_SETTING = "sources"


def fetch_options(env: Mapping[str, str] | None = None, **overrides: Any) -> FetchOptions:
    """Fetch options with the SSRF guard's switch from VIGIL_ALLOW_PRIVATE_NETWORKS."""
    overrides.setdefault("allow_private", private_networks_allowed(env))
    return FetchOptions(**overrides)


def feed_reader(env: Mapping[str, str] | None = None) -> HttpFeedReader:
    return HttpFeedReader(Fetcher(fetch_options(env)))


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
    configured = configured_sources(sources_file)
    topics = configured_topics(topics_file)
    store = open_store(state)
    reader = feed_reader()
    stop = should_stop or (lambda: False)
    try:
        # So a `vigil serve` on this state lists and mutes the sources polled here.
        store.record_setting(SOURCES_SETTING, str(Path(sources_file).resolve()) if sources_file else "")
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
    topics = configured_topics(topics_file)
    store = open_store(state)
    try:
        client = make_client(outbox, preview=preview)
        deliverer = make_deliverer(store, client, topics)
        return run_digests(store, client, now_utc(), interval=None, deliverer=deliverer,
                           topic_names={t.id: t.name for t in topics})
    finally:
        store.close()


def check_sources(sources: Sequence[Source]) -> dict[str, FeedOutcome]:
    """Fetch and parse every source once, without stored ETags (a full check); by source id."""
    reader = feed_reader()
    try:
        return {source.id: outcome for source, outcome in reader.read(sources, {})}
    finally:
        reader.close()


# ---------------------------------------------------------------- vigil serve


def slack_deps(store: Store, *, signing_secret: str | None = None, sources_file: str | Path | None = None,
               topics_file: str | Path | None = None, env: Mapping[str, str] | None = None,
               socket_mode: bool = False) -> SlackDeps:
    """The Slack request service's dependencies for a long-running local server:
    slack_sdk's verifier and response_url poster, deferred work on threads. Socket Mode
    verifies no request signatures (the app token authenticates the connection)."""
    env = os.environ if env is None else env
    secret = signing_secret if signing_secret is not None else env.get("SLACK_SIGNING_SECRET", "")
    if not socket_mode and not secret.strip():
        raise ConfigError("SLACK_SIGNING_SECRET is not set (Slack app > Basic Information > Signing Secret)")
    private = private_networks_allowed(env)
    sources_file = polled_sources_file(store, sources_file)
    commands = Commands(
        store=store, topics=configured_topics(topics_file), sources=configured_sources(sources_file),
        admins=local_admins(env), allow_private_networks=private, terms=configured_term_lists(topics_file),
        sources_origin=Path(sources_file).name if sources_file else "",  # not the operator's folders
    )
    # Loopback tests and private setups answer through a fake Slack; otherwise only hooks.slack.com.
    deps = SlackDeps(commands, respond=post_to_response_url,
                     verify=None if socket_mode else request_verifier(secret), any_response_url=private)
    deps.defer = lambda job: _run_in_thread(job, deps)
    return deps


def polled_sources_file(store: Store, sources_file: str | Path | None) -> str | Path | None:
    """The sources file Slack commands use: `--sources` if given, else the one the last
    `vigil run` on this state polled (None: the shipped list)."""
    if sources_file:
        return sources_file
    recorded = store.setting(SOURCES_SETTING)
    if recorded and not Path(recorded).is_file():
        raise ConfigError(f"{recorded}: the sources file the last `vigil run` on this state polled is gone; "
                          "pass --sources FILE")
    return recorded or None


def _run_in_thread(job: DeferredJob, deps: SlackDeps) -> None:
    threading.Thread(target=run_deferred, args=(job, deps), daemon=True, name="vigil-deferred").start()


def slack_http_server(host: str, port: int, deps: SlackDeps, *, timeout: float = REQUEST_TIMEOUT
                      ) -> ThreadingHTTPServer:
    """The Slack endpoints on a local HTTP server (not started); `timeout` bounds each request."""
    return make_server(host, port, functools.partial(handle_slack_request, deps=deps), max_body=MAX_BODY,
                       timeout=timeout)


def listening(bind: Callable[[], ThreadingHTTPServer], host: str, port: int) -> ThreadingHTTPServer:
    """`bind()`, with an address that cannot be listened on as a one-line ConfigError."""
    try:
        return bind()
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {host!r} does not resolve ({exc.strerror})") from None
    except OverflowError:  # socket.bind's way of saying the port is out of range
        raise ConfigError(f"cannot listen on {host}:{port}: ports are 0..65535") from None
    except UnicodeError:  # the IDNA codec refusing a malformed name ("bad..host")
        raise ConfigError(f"cannot listen on {host}:{port}: {host!r} is not a host name") from None
    except OSError as exc:
        hint = " (another `vigil serve` or `sam local start-api`? try --port 3001)" if (
            exc.errno == errno.EADDRINUSE) else ""
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None


@contextmanager
def slack_server(host: str, port: int, *, state: str, sources_file: str | Path | None = None,
                 topics_file: str | Path | None = None) -> Iterator[ThreadingHTTPServer]:
    """`vigil serve`'s server over the state `state`; closed (and the state) on exit."""
    store = open_store(state)
    try:
        deps = slack_deps(store, sources_file=sources_file, topics_file=topics_file)
        server = listening(lambda: slack_http_server(host, port, deps), host, port)
        try:
            yield server
        finally:
            server.server_close()
    finally:
        store.close()


@contextmanager
def socket_mode_connection(*, state: str, sources_file: str | Path | None = None,
                           topics_file: str | Path | None = None, env: Mapping[str, str] | None = None,
                           ping_interval: float = 5.0) -> Iterator[SocketModeConnection]:
    """`vigil serve --socket-mode`: the Slack request service over a Socket Mode connection
    opened with SLACK_APP_TOKEN (at SLACK_API_URL); closed (and the state) on exit."""
    env = os.environ if env is None else env
    token = env.get("SLACK_APP_TOKEN", "").strip()
    if not token:
        raise ConfigError("SLACK_APP_TOKEN is not set (Slack app > Basic Information > App-Level Tokens, "
                          "scope connections:write); Socket Mode needs it")
    store = open_store(state)
    try:
        deps = slack_deps(store, sources_file=sources_file, topics_file=topics_file, env=env, socket_mode=True)
        connection = SocketModeConnection(
            token, functools.partial(handle_socket_request, deps=deps),
            api_url=env.get("SLACK_API_URL") or DEFAULT_API_URL, ping_interval=ping_interval)
        connection.connect()
        try:
            yield connection
        finally:
            connection.close()
    finally:
        store.close()


def serve_files(folder: Path) -> AbstractContextManager[str]:
    """A loopback server for a folder of files (the demo feeds); yields its base URL."""
    return serve_directory(folder)
