"""`make demo`: one poll cycle over the shipped demo feeds, served on loopback.

The real fetch path runs (HTTP, conditional GET, feedparser); only the server is local.
Alerts go to the outbox (or to Slack when SLACK_BOT_TOKEN is set) and are previewed in
the terminal. State persists in .vigil/demo-state.db, so a second run repeats nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from importlib import resources
from pathlib import Path

DEMO_CHANNEL = "C0VIGILDEMO"


@contextmanager
def serve_demo_feeds() -> Iterator[str]:
    """Serve the demo feed files on an ephemeral loopback port; yields the base URL."""
    from vigil.runtime.local import serve_files

    with serve_files(Path(str(resources.files("vigil") / "data" / "demo" / "feeds"))) as base:
        yield base


def demo_sources_toml(base: str) -> str:
    template = (resources.files("vigil") / "data" / "demo" / "sources.toml").read_text(encoding="utf-8")
    return template.replace("{base}", base)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--state", default=".vigil/demo-state.db")
    parser.add_argument("--outbox", default=".vigil/demo-outbox.jsonl")
    parser.add_argument("--channel", default=os.environ.get("VIGIL_DEMO_CHANNEL", DEMO_CHANNEL))
    args = parser.parse_args(argv)

    from vigil.domain.errors import ConfigError
    from vigil.entrypoints.cli import print_problems
    from vigil.runtime.local import run_once
    from vigil.services.cycle import CycleOptions

    # The demo server is on loopback, which the SSRF guard rightly refuses by default.
    os.environ["VIGIL_ALLOW_PRIVATE_NETWORKS"] = "1"
    # The demo feeds are a frozen snapshot: treat their items as fresh on the first poll.
    # Forced so a second run polls again and shows that nothing is repeated.
    options = CycleOptions(backlog_grace=timedelta(days=3650), force=True)
    with serve_demo_feeds() as base, tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "demo-sources.toml"
        sources.write_text(demo_sources_toml(base), encoding="utf-8")
        print(f"Vigil demo: polling {base} (demo feeds) into {args.state}\n")
        try:
            report = run_once(
                sources_file=sources, topics_file=None, state=args.state, outbox=Path(args.outbox),
                channels=(args.channel,), options=options,
            )
        except ConfigError as exc:
            print(f"vigil: error: {exc}", file=sys.stderr)
            return 2
    print_problems(report)
    print(report.summary_line())
    if report.alerts == 0:
        print("No new alerts: everything in the demo feeds was already seen. "
              "Delete .vigil/demo-state.db to start over.")
    else:
        print(f"Slack calls written to {args.outbox} (set SLACK_BOT_TOKEN to post for real).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
