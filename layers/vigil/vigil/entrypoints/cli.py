"""The `vigil` command line: run a poll cycle, classify items, serve the Slack endpoints."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from vigil.domain.errors import ConfigError, StoreError
from vigil.ports import FeedOutcome
from vigil.services.cycle import CycleReport

if TYPE_CHECKING:
    from datetime import datetime

    from vigil.domain.models import Source

DEFAULT_STATE = Path(".vigil") / "state.db"
DEFAULT_OUTBOX = Path(".vigil") / "outbox.jsonl"

# Exit status of `vigil run` / `vigil digest` (README, "Exit status"):
EXIT_OK = 0
EXIT_CONFIG = 2  # bad configuration or state: nothing ran
EXIT_DEGRADED = 3  # ran, but alerts wait for a later run, or every source failed, or it was stopped early

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("VIGIL_LOG_LEVEL", "ERROR").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        status = handler(args)
        sys.stdout.flush()  # inside the try: a closed pipe is found here, not at exit
        return status
    except (ConfigError, StoreError) as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`vigil classify … | head -3`): stop quietly, as Unix tools do.
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of what is still
    buffered does not fail again on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


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


def add_topics_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topics", metavar="FILE", help="topics TOML (default: the shipped topics)")


def add_outbox_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outbox", metavar="FILE", default=str(DEFAULT_OUTBOX),
                   help=f"where Slack calls are written without SLACK_BOT_TOKEN (default: {DEFAULT_OUTBOX})")


# ---------------------------------------------------------------- run


def _add_run(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "run", help="run one poll cycle",
        description="Fetch every due source once, classify new items and send one alert per story. "
        "Without SLACK_BOT_TOKEN, alerts go to the outbox file and a preview is printed.",
    )
    p.add_argument("--sources", metavar="FILE", help="sources TOML (default: the shipped list)")
    add_topics_argument(p)
    add_state_argument(p)
    add_outbox_argument(p)
    p.add_argument("--channel", metavar="ID", action="append", default=[],
                   help="also send every topic's alerts to this Slack channel (repeatable)")
    p.add_argument("--force", action="store_true",
                   help="poll every source now, ignoring intervals and Retry-After deferrals")
    p.add_argument("--quiet", action="store_true",
                   help="no preview, and no summary line when the cycle was clean (for cron)")
    p.set_defaults(handler=cmd_run)


class StopSignal:
    """SIGTERM (cron timeouts, systemd, docker stop): finish the current source, then stop."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self) -> bool:
        return self.received

    def install(self) -> None:
        def on_term(_signum: int, _frame: object) -> None:
            self.received = True

        signal.signal(signal.SIGTERM, on_term)


def cmd_run(args: argparse.Namespace) -> int:
    from vigil.runtime.local import run_once
    from vigil.runtime.settings import cycle_options

    stop = StopSignal()
    stop.install()
    report = run_once(
        sources_file=args.sources, topics_file=args.topics, state=args.state,
        outbox=Path(args.outbox), channels=tuple(args.channel), preview=not args.quiet,
        options=dataclasses.replace(cycle_options(), force=args.force),
        should_stop=stop,
    )
    print_problems(report)
    status = run_status(report, stopped=stop.received)
    if not args.quiet or status != EXIT_OK or report.failures:
        print(report.summary_line())
    if stop.received:
        print("vigil: stopped by SIGTERM; the rest is left for the next run", file=sys.stderr)
    return status


def run_status(report: CycleReport, *, stopped: bool = False) -> int:
    """EXIT_DEGRADED when anything a user expects did not happen this run."""
    pending = report.delivery.pending if report.delivery is not None else 0
    pending += report.digests.get("retry", 0)
    all_failed = report.sources_failed > 0 and report.sources_ok == 0
    if pending or all_failed or stopped or report.sources_deferred:
        return EXIT_DEGRADED
    return EXIT_OK


def print_problems(report: CycleReport) -> None:
    for source_id, error in report.failures:
        print(f"source {source_id} failed: {error}", file=sys.stderr)
    for source_id, warning in report.warnings:
        print(f"source {source_id} warning: {warning}", file=sys.stderr)
    for source_id in report.long_failing:
        print(f"source {source_id} has been failing for hours: check it with `vigil sources check`",
              file=sys.stderr)


# ---------------------------------------------------------------- classify


def _add_classify(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "classify", help="classify JSON Lines items",
        description="Read JSON Lines (title, summary, optional url, source, lang) and write each object "
        "back with topics, scores and evidence.",
    )
    p.add_argument("file", nargs="?", default="-", help="input file, or - for standard input (default)")
    add_topics_argument(p)
    p.set_defaults(handler=cmd_classify)


def cmd_classify(args: argparse.Namespace) -> int:
    from vigil.domain.classify import classify_jsonl
    from vigil.runtime.config import load_classifier

    classifier = load_classifier(args.topics)
    # Bytes in: JSON Lines are UTF-8 whatever the locale, and a line that is not is
    # reported and skipped like any other bad line.
    if args.file == "-":
        classify_jsonl(sys.stdin.buffer, sys.stdout, classifier)
        return 0
    with _open_input(args.file) as fh:
        classify_jsonl(fh, sys.stdout, classifier)
    return 0


def _open_input(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a JSON Lines file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


# ---------------------------------------------------------------- serve


def _add_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from vigil.entrypoints.serve import add_arguments

    p = sub.add_parser(
        "serve", help="serve the Slack endpoints locally",
        description="POST /slack/commands and POST /slack/interactions on a local HTTP server "
        "(the same code path as the Lambda). Needs SLACK_SIGNING_SECRET.",
    )
    add_arguments(p)
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from vigil.entrypoints.serve import serve

    return serve(args)


def _add_digest(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "digest", help="send the digests that are due",
        description="Send one digest message to each channel in digest mode whose period has begun "
        "since its last digest (`vigil run` does this too, after its cycle).",
    )
    add_topics_argument(p)
    add_state_argument(p)
    add_outbox_argument(p)
    p.add_argument("--quiet", action="store_true", help="no preview and no summary when all went out")
    p.set_defaults(handler=cmd_digest)


def cmd_digest(args: argparse.Namespace) -> int:
    from vigil.runtime.local import send_digests

    outcomes = send_digests(state=args.state, outbox=Path(args.outbox), topics_file=args.topics,
                            preview=not args.quiet)
    status = EXIT_DEGRADED if outcomes.get("retry") else EXIT_OK
    if not args.quiet or status != EXIT_OK:
        parts = [f"{n} {outcome}" for outcome, n in sorted(outcomes.items())]
        print("digests: " + (", ".join(parts) if parts else "none due"))
    return status


def _add_event(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from vigil.entrypoints.events import add_parser

    add_parser(sub)


# ---------------------------------------------------------------- sources


def _add_sources(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sources", help="check the configured sources",
                       description="Inspect the configured feed sources.")
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    check = actions.add_parser(
        "check", help="fetch every source once and print a table",
        description="Fetch and parse every source once, ignoring stored state, and print id, HTTP status, "
        "items, latency and problem. Exit status 1 when any source fails.",
    )
    check.add_argument("--sources", metavar="FILE", help="sources TOML (default: the shipped list)")
    check.add_argument(
        "--state", metavar="PATH", default=None,
        help="also check sources added from Slack and show each one's stored health "
        f"(SQLite file or dynamodb://TABLE; default: {DEFAULT_STATE} if it exists). Nothing is written.",
    )
    check.set_defaults(handler=cmd_sources_check)
    p.set_defaults(handler=lambda _args: (p.print_help(), 2)[1])


def cmd_sources_check(args: argparse.Namespace) -> int:
    from vigil.runtime.config import configured_sources
    from vigil.runtime.local import check_sources

    sources = configured_sources(args.sources)
    stored = _stored_health(args.state, sources)
    sources += stored.extra_sources
    by_id = {s.id: s for s in sources}
    # The same fetch and parse as a poll cycle, but without stored ETags: a full check.
    outcomes = check_sources(sources)
    rows = [_check_row(s, outcomes[s.id]) for s in by_id.values()]
    header = ["id", "kind", "provenance", "status", "items", "latency ms", "problem, or the newest item"]
    if stored.health is not None:
        header.insert(6, "stored health")
        for (row, _), source in zip(rows, by_id.values(), strict=True):
            row.insert(6, stored.health.get(source.id, "never polled"))
    print(_table(header, [row for row, _ in rows]))
    failing = sum(1 for _, ok in rows if not ok)
    print(f"{len(rows) - failing} ok, {failing} failing")
    return 1 if failing else 0


@dataclasses.dataclass
class _StoredHealth:
    extra_sources: list[Source]
    health: dict[str, str] | None  # None: no state to read


def _stored_health(spec: str | None, configured: list[Source]) -> _StoredHealth:
    """Sources added from Slack and a one-line health per source, read from the state."""
    from vigil.domain import health
    from vigil.domain.clock import now_utc
    from vigil.runtime.state import dynamodb_table, open_store

    if spec is None:
        if not DEFAULT_STATE.exists():
            return _StoredHealth([], None)
        spec = str(DEFAULT_STATE)
    elif dynamodb_table(spec) is None and not Path(spec).exists():
        raise ConfigError(f"{spec}: state file not found")
    # Read-only: a check must not change the state a running `vigil serve` or cron uses.
    store = open_store(spec, read_only=True)
    try:
        every = store.with_custom_sources(configured)
        now = now_utc()
        states = store.source_states_of(s.id for s in every)
        text = {sid: health.problem(st, now) or _last_ok(st.last_success) for sid, st in states.items()}
        return _StoredHealth(every[len(configured):], text)
    finally:
        store.close()


def _last_ok(when: datetime | None) -> str:
    return f"ok, last success {when:%Y-%m-%d %H:%M} UTC" if when else "no success yet"


def _check_row(source: Source, outcome: FeedOutcome) -> tuple[list[str], bool]:
    items = "-" if outcome.items is None else str(len(outcome.items))
    status = str(outcome.status) if outcome.status else "-"
    found = outcome.error or outcome.warning or _newest(outcome)
    row = [source.id, source.kind, source.provenance, status, items, f"{outcome.elapsed * 1000:.0f}", found]
    return row, not outcome.error


def _newest(outcome: FeedOutcome) -> str:
    """What the source found, in one line: its newest item's title."""
    items = outcome.items or []
    if not items:
        return ""
    # Sanctions lists and pages carry no dates; their first entry stands for them.
    newest = max(items, key=lambda i: i.published.timestamp() if i.published else 0.0)
    title = " ".join(newest.title.split())
    return f"newest: {title[:70]}…" if len(title) > 70 else f"newest: {title}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    # The last column (the problem) is free text and left unpadded.
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [  # type: ignore[type-arg]
    _add_run,
    _add_classify,
    _add_serve,
    _add_digest,
    _add_event,
    _add_sources,
]


if __name__ == "__main__":
    sys.exit(main())
