"""`vigil run` and `make demo` as a user runs them: a real process, real HTTP on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.loopback import serve_bodies

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


def _rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=30))}</pubDate><guid>{link}</guid></item>"
        for t, link, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://example.org/</link><description>test</description>{entries}</channel></rss>"
    ).encode()


# Written for these tests; the wording is ours.
FEEDS = {
    "/harbor.xml": _rss("Harbor Ledger", [
        ("Chinese and Russian warships begin joint naval patrol in the Sea of Japan",
         "https://harbor.example/a1?utm_source=rss",
         "&lt;p&gt;The two navies sailed together for the fifth such patrol, defence officials said.&lt;/p&gt;"),
        ("Local bakery wins regional bread award", "https://harbor.example/a2", "Sourdough, again."),
    ]),
    "/strait.xml": _rss("Strait Watch", [
        ("PLA aircraft cross Taiwan Strait median line as Taipei reports ADIZ incursions",
         "https://strait.example/b1", "Taiwan's defence ministry tracked 30 military aircraft."),
    ]),
    # Cut off mid-item, as when a server drops the connection: the first item is intact.
    "/malformed.xml": (
        b"<rss><channel><title>Cut off</title><item><title>Harbor crane contract signed</title>"
        b"<link>https://cutoff.example/1</link></item><item><title>Half an item"
    ),
    "/page.html": b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Not a feed</body></html>",
}


@pytest.fixture
def feed_server() -> Iterator[str]:
    with serve_bodies(FEEDS) as base:
        yield base


def _sources(tmp_path: Path, base: str, extra: str = "") -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[[sources]]\nid = "harbor"\nname = "Harbor Ledger"\nurl = "{base}/harbor.xml"\n\n'
        f'[[sources]]\nid = "strait"\nname = "Strait Watch"\nurl = "{base}/strait.xml"\n' + extra,
        encoding="utf-8",
    )
    return path


def _vigil(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    full_env.update({"VIGIL_ALLOW_PRIVATE_NETWORKS": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "vigil.entrypoints.cli", *args], capture_output=True, text=True, timeout=120,
        env=full_env, cwd=cwd or REPO,
    )


def _outbox(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_run_alerts_once_per_story_and_never_repeats(tmp_path: Path, feed_server: str) -> None:
    sources, state, outbox = _sources(tmp_path, feed_server), tmp_path / "s.db", tmp_path / "out.jsonl"
    args = ["run", "--sources", str(sources), "--state", str(state), "--outbox", str(outbox), "--channel", "C1"]

    first = _vigil(*args)
    assert first.returncode == 0, first.stderr
    calls = _outbox(outbox)
    assert {c["method"] for c in calls} == {"chat.postMessage"}
    assert {c["payload"]["channel"] for c in calls} == {"C1"}
    texts = " ".join(json.dumps(c["payload"]) for c in calls)
    assert "joint naval patrol" in texts and "median line" in texts
    assert "bakery" not in texts
    assert "utm_source" not in texts, "tracking parameters are stripped from links"
    assert "sources: 2 ok, 0 failed" in first.stdout
    assert "alerts: 2" in first.stdout

    # --force polls again at once; this server ignores conditional GET, so every item
    # comes back and only the seen-item store stops the repeats
    second = _vigil(*args, "--force")
    assert second.returncode == 0, second.stderr
    assert len(_outbox(outbox)) == len(calls), "a second run posts nothing again"
    assert "items: 0 new of 3" in second.stdout
    assert "alerts: 0" in second.stdout

    third = _vigil(*args)
    assert "2 not due" in third.stdout, "without --force, each source waits for its interval"


def test_failing_sources_are_reported_and_the_others_still_alert(tmp_path: Path, feed_server: str) -> None:
    extra = (
        f'\n[[sources]]\nid = "malformed"\nurl = "{feed_server}/malformed.xml"\n'
        f'\n[[sources]]\nid = "page"\nurl = "{feed_server}/page.html"\n'
        f'\n[[sources]]\nid = "missing"\nurl = "{feed_server}/nope.xml"\n'
    )
    sources, outbox = _sources(tmp_path, feed_server, extra), tmp_path / "out.jsonl"
    result = _vigil("run", "--sources", str(sources), "--state", str(tmp_path / "s.db"),
                    "--outbox", str(outbox), "--channel", "C1")
    assert result.returncode == 0, result.stderr
    assert "source missing failed: HTTP 404" in result.stderr
    assert "source page failed" in result.stderr
    assert "source malformed warning" in result.stderr, "a best-effort parse says what was wrong"
    assert "sources: 3 ok, 2 failed" in result.stdout
    assert "items: 4 new of 4" in result.stdout, "the intact item of the malformed feed is kept"
    assert len(_outbox(outbox)) == 2


def test_loopback_source_is_refused_without_the_private_network_switch(tmp_path: Path, feed_server: str) -> None:
    sources = _sources(tmp_path, feed_server)
    result = _vigil("run", "--sources", str(sources), "--state", str(tmp_path / "s.db"),
                    "--outbox", str(tmp_path / "o.jsonl"), env={"VIGIL_ALLOW_PRIVATE_NETWORKS": "0"})
    assert result.returncode == 3, "every source failed: cron and monitoring must notice"
    assert "source harbor failed" in result.stderr
    assert "sources: 0 ok, 2 failed" in result.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "file not found"),
        ("[[sources]]\nid = 'x'\nurl = \n", "invalid TOML"),
        ("[[sources]]\nid = 'x'\nurl = 'ftp://example.org/feed'\n", "http(s) URL"),
        ("[[sources]]\nid = 'Bad Id!'\nurl = 'https://example.org/feed'\n", "slug"),
        ("title = 'no sources here'\n", "no [[sources]]"),
        ("[[sources]]\nid = 'x'\nurl = 'https://example.org/feed'\nintervall_minutes = 5\n",
         "source #1 (x): unknown key 'intervall_minutes' (did you mean 'interval_minutes'?)"),
        ("[[source]]\nid = 'x'\nurl = 'https://example.org/feed'\n",
         "no [[sources]] tables (found 'source': did you mean [[sources]]?)"),
    ],
)
def test_bad_sources_file_is_a_one_line_error(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "sources.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = _vigil("run", "--sources", str(path), "--state", str(tmp_path / "s.db"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and problem in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_topics_file_is_a_one_line_error(tmp_path: Path, feed_server: str) -> None:
    topics = tmp_path / "topics.toml"
    topics.write_text('[[topics]]\nid = "x"\nname = "X"\nquery = \'("unclosed" AND\'\n', encoding="utf-8")
    result = _vigil("run", "--sources", str(_sources(tmp_path, feed_server)), "--topics", str(topics),
                    "--state", str(tmp_path / "s.db"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and str(topics) in result.stderr


def test_help_lists_the_commands() -> None:
    result = _vigil("--help")
    assert result.returncode == 0
    for command in ("run", "classify"):
        assert command in result.stdout


def test_demo_shows_alerts_then_repeats_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    cmd = [sys.executable, "-m", "vigil.entrypoints.demo", "--state", str(tmp_path / "d.db"),
           "--outbox", str(tmp_path / "d.jsonl")]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    posted = _outbox(tmp_path / "d.jsonl")
    assert len(posted) >= 3
    topics_seen = json.dumps(posted)
    for topic in ("Taiwan", "sanction"):
        assert topic.lower() in topics_seen.lower()
    assert "<!channel>" not in topics_seen, "hostile demo text is escaped"

    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(_outbox(tmp_path / "d.jsonl")) == len(posted)
    assert "alerts: 0" in second.stdout
