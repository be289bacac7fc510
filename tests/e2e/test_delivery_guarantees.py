"""What `vigil run` promises a cron job: a Slack outage is "pending" with a non-zero exit
and is delivered once when Slack returns; SIGTERM stops cleanly; digests go out locally;
--quiet is silent on a clean cycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.models import ChannelSettings, Severity, Story, Subscription
from vigil.services.store import Store

from tests.e2e.test_cli_run import FEEDS, REPO, _sources
from tests.fakeslack import FakeSlack, server_error
from tests.loopback import serve_bodies

CHANNEL = "C0GUARANTEE"


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    with serve_bodies(FEEDS) as base:
        yield _sources(tmp_path, base)


def _env(slack: FakeSlack | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIGIL_"))}
    env.update({"VIGIL_ALLOW_PRIVATE_NETWORKS": "1", "VIGIL_POST_INTERVAL_SECONDS": "0"})
    if slack is not None:
        env.update({"SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_API_URL": slack.api_url})
    return env


def _run(*args: str, slack: FakeSlack | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=120, env=_env(slack), cwd=REPO)


def test_a_slack_outage_is_pending_with_exit_3_and_delivered_once_after(tmp_path: Path, sources: Path) -> None:
    state = str(tmp_path / "s.db")
    with FakeSlack() as slack:
        # Given Slack answering 503 to every post
        slack.script("chat.postMessage", *[server_error(503)] * 50)
        down = _run("run", "--sources", str(sources), "--state", state, "--channel", CHANNEL, slack=slack)

        # Then the run says the alerts are pending, and cron sees a failure
        assert down.returncode == 3, down.stderr
        assert "alerts: 0 delivered, 2 pending, 0 failed" in down.stdout
        assert slack.posted(CHANNEL) == []

        # When Slack is back, the next run (sources not even due) delivers each once
        slack.reset()
        back = _run("run", "--sources", str(sources), "--state", state, "--channel", CHANNEL, slack=slack)
        assert back.returncode == 0, back.stderr
        assert "2 not due" in back.stdout
        assert "alerts: 2 delivered, 0 pending, 0 failed" in back.stdout
        again = _run("run", "--sources", str(sources), "--state", state, "--channel", CHANNEL, slack=slack)
        assert again.returncode == 0 and "alerts: 0 delivered" in again.stdout
        assert len(slack.top_level(CHANNEL)) == 2


def test_sigterm_stops_the_run_cleanly_and_the_next_run_finishes_the_work(tmp_path: Path, sources: Path) -> None:
    state = str(tmp_path / "s.db")
    with FakeSlack() as slack:
        slack.post_delay = 1.5
        cmd = [sys.executable, "-m", "vigil.entrypoints.cli", "run", "--sources", str(sources), "--state", state,
               "--channel", CHANNEL]
        proc = subprocess.Popen(cmd, env=_env(slack), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        # Given a run that is posting its first alert to a slow Slack
        deadline = time.monotonic() + 30
        while not slack.calls_to("chat.postMessage") and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)

        # Then it finishes the post under way, stops, and says so with the degraded status
        assert proc.returncode == 3, err
        assert "stopped by SIGTERM" in err
        slack.post_delay = 0
        rest = _run("run", "--sources", str(sources), "--state", state, "--channel", CHANNEL, slack=slack)
        assert rest.returncode == 0, rest.stderr
        assert len(slack.top_level(CHANNEL)) == 2, "every story once: none lost, none doubled"


def test_quiet_prints_nothing_on_a_clean_cycle_and_the_summary_when_degraded(tmp_path: Path,
                                                                             sources: Path) -> None:
    state, outbox = str(tmp_path / "s.db"), str(tmp_path / "o.jsonl")
    clean = _run("run", "--sources", str(sources), "--state", state, "--outbox", outbox, "--channel", CHANNEL,
                 "--quiet")
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    with FakeSlack() as slack:
        slack.script("chat.postMessage", *[server_error(503)] * 50)
        degraded = _run("run", "--sources", str(sources), "--state", str(tmp_path / "down.db"),
                        "--channel", CHANNEL, "--quiet", slack=slack)
    assert degraded.returncode == 3
    assert degraded.stdout.startswith("sources: 2 ok") and "2 pending" in degraded.stdout


def _seed_digest(state: Path, at: datetime) -> None:
    """A channel in hourly digest mode with one story queued `at` (before the current hour)."""
    store = Store(SQLiteKV(state))
    try:
        store.put_channel(ChannelSettings("C0DIGEST", digest="hourly"))
        store.put_subscription(Subscription("C0DIGEST", "taiwan", created_at=at))
        story = Story(id="s-digest", title="Coast guard reports PLA ships near Kinmen", first_seen=at, last_seen=at,
                      topics=("taiwan",), severity=Severity.NOTABLE, sources=("strait",),
                      url="https://strait.example/kinmen")
        store.queue_digest("C0DIGEST", story, "taiwan", now=at)
    finally:
        store.close()


def test_vigil_run_sends_the_digest_that_is_due(tmp_path: Path, sources: Path) -> None:
    state = tmp_path / "s.db"
    _run("run", "--sources", str(sources), "--state", str(state), "--outbox", str(tmp_path / "o.jsonl"))
    _seed_digest(state, at=datetime.now(UTC) - timedelta(hours=2))
    with FakeSlack() as slack:
        # When cron runs the next cycle, the digest whose hour has begun goes out, once
        first = _run("run", "--sources", str(sources), "--state", str(state), slack=slack)
        second = _run("run", "--sources", str(sources), "--state", str(state), slack=slack)
        alone = _run("digest", "--state", str(state), slack=slack)
        digests = slack.posted("C0DIGEST")
    assert first.returncode == 0, first.stderr
    assert "digests: 1 sent" in first.stdout
    assert len(digests) == 1
    assert "Kinmen" in str(digests[0].body)
    assert "digests: 1 sent" not in second.stdout
    assert alone.returncode == 0 and "none due" in alone.stdout


def test_vigil_digest_alone_sends_what_is_due(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    _seed_digest(state, at=datetime.now(UTC) - timedelta(hours=2))
    with FakeSlack() as slack:
        result = _run("digest", "--state", str(state), slack=slack)
        assert result.returncode == 0, result.stderr
        assert "digests: 1 sent" in result.stdout
        assert len(slack.posted("C0DIGEST")) == 1
