"""`vigil serve`: Slack's endpoints on a local HTTP server, same code path as the Lambda.

Point a Slack app's slash command and interactivity URLs at it through a tunnel
(e.g. `cloudflared tunnel --url http://127.0.0.1:3000`), see docs/SLACK.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from vigil.domain.errors import ConfigError, StoreError

# The CLI imports this module to build its parser: Slack and the store load only when serving.
if TYPE_CHECKING:
    from vigil.services.slack_requests import DeferredJob, SlackDeps
    from vigil.services.store import Store

log = logging.getLogger("vigil.entrypoints.serve")

DEFAULT_STATE = Path(".vigil") / "state.db"


def admin_ids(raw: str | None = None) -> frozenset[str]:
    """Slack user ids allowed to add/remove sources: VIGIL_ADMINS, comma or space separated."""
    raw = os.environ.get("VIGIL_ADMINS", "") if raw is None else raw
    return frozenset(p for p in re.split(r"[\s,]+", raw) if p)


def allow_any_response_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def build_deps(store: Store, *, signing_secret: str | None = None, sources_file: str | None = None,
               topics_file: str | None = None) -> SlackDeps:
    """The real dependencies for a long-running local server (deferred work on threads)."""
    from vigil.adapters.config.sources import load_sources
    from vigil.adapters.config.topics import load_topics
    from vigil.entrypoints.events import signing_secret_warning
    from vigil.runtime.settings import private_networks_allowed
    from vigil.services.commands import Commands
    from vigil.services.slack_requests import SlackDeps, response_url_allowed

    secret = signing_secret if signing_secret is not None else os.environ.get("SLACK_SIGNING_SECRET", "")
    if not secret.strip():
        raise ConfigError("SLACK_SIGNING_SECRET is not set (Slack app > Basic Information > Signing Secret)")
    warning = signing_secret_warning(secret)
    if warning:
        print(f"vigil serve: warning: {warning}", file=sys.stderr, flush=True)
    private = private_networks_allowed()
    commands = Commands(
        store=store,
        topics=load_topics(Path(topics_file) if topics_file else None),
        sources=load_sources(sources_file),
        admins=admin_ids(),
        allow_private_networks=private,
    )
    # Loopback tests and private setups answer through a fake Slack; otherwise only hooks.slack.com.
    deps = SlackDeps(signing_secret=secret, commands=commands,
                     is_allowed_response_url=allow_any_response_url if private else response_url_allowed)
    deps.defer = lambda job: _run_in_thread(job, deps)
    return deps


def _run_in_thread(job: DeferredJob, deps: SlackDeps) -> None:
    from vigil.services.slack_requests import run_deferred

    threading.Thread(target=run_deferred, args=(job, deps), daemon=True, name="vigil-deferred").start()


def make_server(host: str, port: int, deps: SlackDeps) -> ThreadingHTTPServer:
    from vigil.services.slack_requests import MAX_BODY, handle_slack_request

    class Handler(BaseHTTPRequestHandler):
        server_version = "vigil"

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(413, {"Content-Type": "text/plain"}, b"request too large")
                return
            body = self.rfile.read(length)
            status, headers, payload = handle_slack_request(self.path, dict(self.headers.items()), body, deps)
            self._send(status, headers, payload)

        def do_GET(self) -> None:
            # A health check for tunnels and uptime probes; Slack itself only POSTs.
            if urlsplit(self.path).path == "/health":
                self._send(200, {"Content-Type": "text/plain"}, b"ok")
            else:
                self._send(404, {"Content-Type": "text/plain"}, b"not found")

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    server = _Server((host, port), Handler)
    server.daemon_threads = True
    return server


class _Server(ThreadingHTTPServer):
    # A burst of Slack requests (a team changing settings at once) overflows the default
    # listen backlog of 5, and the connections beyond it are reset unanswered.
    request_queue_size = 128


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="port (default: 3000)")
    p.add_argument("--state", default=str(DEFAULT_STATE), metavar="PATH",
                   help=f"SQLite state file, or dynamodb://TABLE (default: {DEFAULT_STATE})")
    p.add_argument("--sources", metavar="FILE", help="sources TOML (default: the shipped list)")
    p.add_argument("--topics", metavar="FILE", help="topics TOML (default: the shipped topics)")


def serve(args: argparse.Namespace) -> int:
    """Run until interrupted; what `vigil serve` calls."""
    from vigil.runtime.state import open_store

    store = open_store(args.state)
    try:
        deps = build_deps(store, sources_file=getattr(args, "sources", None),
                          topics_file=getattr(args, "topics", None))
        server = make_server(args.host, args.port, deps)
        host, port = server.server_address[:2]
        print(f"vigil serve: listening on http://{host}:{port} "
              f"(POST /slack/commands, POST /slack/interactions)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil serve", description="Serve the Slack endpoints locally.")
    add_arguments(parser)
    try:
        return serve(parser.parse_args(argv))
    except (ConfigError, StoreError) as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
