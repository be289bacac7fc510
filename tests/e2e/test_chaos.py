"""Killed at any moment, `vigil run` loses nothing and doubles nothing.

The demo feeds (our own wording) are polled into a fake Slack that answers slowly, and
`vigil run` is killed with SIGKILL at random moments — while fetching, committing,
posting, waiting for Slack's answer — several times; then it runs to completion.
Every story must be in the channel exactly once as a top-level message, and each
later outlet exactly once as a thread reply: the same as one clean run.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakeslack import FakeSlack
from tests.loopback import serve_bodies

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "layers" / "vigil" / "vigil" / "data" / "demo"
CHANNEL = "C0CHAOS"
KILLS = 10

pytestmark = pytest.mark.slow


def _recent(body: bytes) -> bytes:
    """The demo feeds (some not UTF-8) with every date moved to the last hours."""
    when = format_datetime(datetime.now(UTC) - timedelta(hours=2)).encode()
    iso = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    body = re.sub(rb"<pubDate>[^<]*</pubDate>", b"<pubDate>" + when + b"</pubDate>", body)
    return re.sub(rb"<(updated|published|dc:date)>[^<]*</\1>", lambda m: b"<%s>%s</%s>" % (m[1], iso, m[1]), body)


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[Path]:
    bodies = {f"/{f.name}": _recent(f.read_bytes())
              for f in sorted((DEMO / "feeds").glob("*.xml"))}
    with serve_bodies(bodies) as base:
        sources = tmp_path / "sources.toml"
        sources.write_text((DEMO / "sources.toml").read_text(encoding="utf-8").replace("{base}", base),
                           encoding="utf-8")
        yield sources


def _start(sources: Path, state: Path, slack: FakeSlack) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIGIL_"))}
    env.update({
        "VIGIL_ALLOW_PRIVATE_NETWORKS": "1", "VIGIL_BACKLOG_HOURS": "48",
        "SLACK_BOT_TOKEN": "xoxb-chaos", "SLACK_API_URL": slack.api_url, "VIGIL_POST_INTERVAL_SECONDS": "0",
    })
    cmd = [sys.executable, "-m", "vigil.entrypoints.cli", "run", "--sources", str(sources),
           "--state", str(state), "--channel", CHANNEL, "--quiet"]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _payload(call: Any) -> dict[str, Any]:
    return call.body["metadata"]["event_payload"]


def _delivered(slack: FakeSlack) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    top = Counter(_payload(c)["story_id"] for c in slack.top_level(CHANNEL))
    replies = Counter((_payload(c)["story_id"], _payload(c)["outlet"]) for c in slack.replies(CHANNEL))
    return top, replies


def test_killed_runs_deliver_every_story_exactly_once(tmp_path: Path, feeds: Path) -> None:
    # Given what one clean run delivers
    with FakeSlack() as clean:
        proc = _start(feeds, tmp_path / "clean.db", clean)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        clean_top, clean_replies = _delivered(clean)
    assert len(clean_top) >= 10 and clean_replies, "the demo feeds make many stories and some follow-ups"

    # When runs against a slow Slack are killed at random moments, then one runs to the end
    rng = random.Random(20261130)
    with FakeSlack() as slack:
        slack.post_delay = 0.25
        state = tmp_path / "chaos.db"
        for _ in range(KILLS):
            proc = _start(feeds, state, slack)
            time.sleep(rng.uniform(0.8, 4.0))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        finals = []
        for _ in range(2):  # the second proves there is nothing left to do
            proc = _start(feeds, state, slack)
            out, err = proc.communicate(timeout=180)
            finals.append((proc.returncode, out, err))
        top, replies = _delivered(slack)

    # Then every story is in the channel exactly once, every follow-up once
    assert finals[0][0] == 0, finals[0]
    assert finals[1][0] == 0, finals[1]
    assert all(n == 1 for n in top.values()), f"stories posted twice: {top}"
    assert all(n == 1 for n in replies.values()), f"replies posted twice: {replies}"
    assert len(top) == len(clean_top), (sorted(top), sorted(clean_top))
    assert len(replies) == len(clean_replies)
