"""The `vigil` command line: run a poll cycle, classify items, serve the Slack endpoints."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from vigil.config import ConfigError
from vigil.store import StoreError

DEFAULT_STATE = Path(".vigil") / "state.db"
DEFAULT_OUTBOX = Path(".vigil") / "outbox.jsonl"

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("VIGIL_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except (ConfigError, StoreError) as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Watch news feeds for Russia-China military ties, Taiwan and sanctions; alert Slack.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def add_state_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state", default=str(DEFAULT_STATE), metavar="PATH",
        help=f"SQLite state file, or dynamodb://TABLE for the deployed stack (default: {DEFAULT_STATE})",
    )


# ---------------------------------------------------------------- run


def _add_run(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run", help="run one poll cycle",
        description="Fetch every due source once, classify new items and send one alert per story. "
        "Without SLACK_BOT_TOKEN, alerts go to the outbox file and a preview is printed.",
    )
    p.add_argument("--sources", metavar="FILE", help="sources TOML (default: the shipped list)")
    p.add_argument("--topics", metavar="FILE", help="topics TOML (default: the shipped topics)")
    add_state_argument(p)
    p.add_argument("--outbox", metavar="FILE", default=str(DEFAULT_OUTBOX),
                   help=f"where Slack calls are written without SLACK_BOT_TOKEN (default: {DEFAULT_OUTBOX})")
    p.add_argument("--channel", metavar="ID", action="append", default=[],
                   help="also send every topic's alerts to this Slack channel (repeatable)")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from vigil.runner import run_once

    report = run_once(
        sources_file=args.sources, topics_file=args.topics, state=args.state,
        outbox=Path(args.outbox), channels=tuple(args.channel), preview=not args.quiet,
    )
    for source_id, error in report.failures:
        print(f"source {source_id} failed: {error}", file=sys.stderr)
    print(report.summary_line())
    return 0


# ---------------------------------------------------------------- classify


def _add_classify(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "classify", help="classify JSON Lines items",
        description="Read JSON Lines (title, summary, optional url, source, lang) and write each object "
        "back with topics, scores and evidence.",
    )
    p.add_argument("file", nargs="?", default="-", help="input file, or - for standard input (default)")
    p.add_argument("--topics", metavar="FILE", help="topics TOML (default: the shipped topics)")
    p.set_defaults(handler=cmd_classify)


def cmd_classify(args: argparse.Namespace) -> int:
    from vigil.classify import Classifier, classify_jsonl
    from vigil.topics import load_topics

    classifier = Classifier(load_topics(Path(args.topics) if args.topics else None))
    if args.file == "-":
        classify_jsonl(sys.stdin, sys.stdout, classifier)
        return 0
    try:
        with open(args.file, encoding="utf-8") as fh:
            classify_jsonl(fh, sys.stdout, classifier)
    except FileNotFoundError:
        raise ConfigError(f"{args.file}: file not found") from None
    return 0


# ---------------------------------------------------------------- serve


def _add_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from vigil.serve import add_arguments

    p = sub.add_parser(
        "serve", help="serve the Slack endpoints locally",
        description="POST /slack/commands and POST /slack/interactions on a local HTTP server "
        "(the same code path as the Lambda). Needs SLACK_SIGNING_SECRET.",
    )
    add_arguments(p)
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from vigil.serve import serve

    return serve(args)


def _add_event(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from vigil.events_cli import add_parser

    add_parser(sub)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [  # type: ignore[type-arg]
    _add_run,
    _add_classify,
    _add_serve,
    _add_event,
]


if __name__ == "__main__":
    sys.exit(main())
