"""`vigil serve`: Slack's endpoints on a local HTTP server, same code path as the Lambda.

Point a Slack app's slash command and interactivity URLs at it through a tunnel
(e.g. `cloudflared tunnel --url http://127.0.0.1:3000`), or run it with `--socket-mode`
(SLACK_APP_TOKEN): then Vigil opens a WebSocket to Slack and needs no public URL. See
docs/SLACK.md. Both are built in `vigil.runtime.local`; this module parses arguments and runs them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from vigil.domain.errors import ConfigError, StoreError

DEFAULT_STATE = Path(".vigil") / "state.db"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=3000, help="port (default: 3000; 0: any free port)")
    p.add_argument("--state", default=str(DEFAULT_STATE), metavar="PATH",
                   help=f"SQLite state file, or dynamodb://TABLE (default: {DEFAULT_STATE})")
    p.add_argument("--sources", metavar="FILE", help="sources TOML (default: the shipped list)")
    p.add_argument("--topics", metavar="FILE", help="topics TOML (default: the shipped topics)")
    p.add_argument("--socket-mode", action="store_true",
                   help="take commands and clicks over Slack's Socket Mode instead of HTTP: no public URL "
                   "needed; needs SLACK_APP_TOKEN (xapp-…), not SLACK_SIGNING_SECRET")


def port_number(text: str) -> int:
    """A TCP port for argparse: 0..65535 (0 lets the system pick a free one)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0..65535)")
    return port


def serve(args: argparse.Namespace) -> int:
    """Run until interrupted; what `vigil serve` calls."""
    if getattr(args, "socket_mode", False):
        return serve_socket_mode(args)
    # Imported here: the CLI imports this module to build its parser, and serving loads Slack and the store.
    from vigil.runtime.local import slack_server
    from vigil.runtime.settings import signing_secret_warning

    warning = signing_secret_warning(os.environ.get("SLACK_SIGNING_SECRET", ""))
    if warning:
        print(f"vigil serve: warning: {warning}", file=sys.stderr, flush=True)
    with slack_server(args.host, args.port, state=args.state, sources_file=getattr(args, "sources", None),
                      topics_file=getattr(args, "topics", None)) as server:
        host, port = server.server_address[:2]
        print(f"vigil serve: listening on http://{host}:{port} "
              f"(POST /slack/commands, POST /slack/interactions)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops it
            server.serve_forever()
    return 0


def serve_socket_mode(args: argparse.Namespace) -> int:
    """`vigil serve --socket-mode`: until interrupted, answer what Slack sends over the connection."""
    from vigil.runtime.local import socket_mode_connection

    with socket_mode_connection(state=args.state, sources_file=getattr(args, "sources", None),
                                topics_file=getattr(args, "topics", None)):
        print("vigil serve: connected to Slack in Socket Mode (/vigil commands and alert buttons; "
              "no public URL needed)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops it
            threading.Event().wait()
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
