"""Two `vigil run --state dynamodb://TABLE` processes at once, on the same new items, against
moto's DynamoDB server on loopback: Slack gets exactly one top-level alert per (story, channel)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.aws_stack import moto_dynamodb_server
from tests.fakeslack import FakeSlack
from tests.loopback import serve_bodies

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TABLE = "vigil-e2e"
CHANNEL = "C0E2E"
PUBLISHED = format_datetime(datetime.now(UTC) - timedelta(minutes=20))

# Written for this test; fresh dates so a first poll alerts on them.
FEEDS: dict[str, list[tuple[str, str]]] = {
    "/harbor.xml": [
        ("Chinese and Russian warships begin joint naval patrol in the Sea of Japan", "https://harbor.example/1"),
        ("PLA aircraft cross Taiwan Strait median line as Taipei reports ADIZ incursions",
         "https://harbor.example/2"),
    ],
    "/ledger.xml": [
        ("US Treasury sanctions Chinese firms supplying Russia drone program", "https://ledger.example/1"),
        ("Taiwan coast guard shadows Chinese vessels near Kinmen", "https://ledger.example/2"),
    ],
    "/wire.xml": [
        # Another outlet on the harbor story: a thread reply, never a second top-level post.
        ("Chinese, Russian warships start joint naval patrol in Sea of Japan", "https://wire.example/1"),
        ("Commerce adds Chinese suppliers to Entity List over Russia export controls", "https://wire.example/2"),
    ],
}


def _rss(items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{t}.</description><pubDate>{PUBLISHED}</pubDate></item>" for t, link in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>https://example.org/</link><description>d</description>{entries}</channel></rss>").encode()


@pytest.fixture
def feeds() -> Iterator[str]:
    with serve_bodies({path: _rss(items) for path, items in FEEDS.items()}) as base:
        yield base


@pytest.fixture
def dynamodb_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on loopback with the stack's state table; yields its endpoint URL."""
    with moto_dynamodb_server(monkeypatch, TABLE) as endpoint:
        yield endpoint


def _env(endpoint: str, slack: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_API_URL": slack.api_url,
        "VIGIL_ALLOW_PRIVATE_NETWORKS": "1",
    })
    return env


def _story_id(call: Any) -> str:
    return call.body["metadata"]["event_payload"]["story_id"]


def test_two_pollers_post_one_top_level_alert_per_story(
    tmp_path: Path, feeds: str, dynamodb_server: str, fake_slack: FakeSlack
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(f'[[sources]]\nid = "{p.strip("/").removesuffix(".xml")}"\nurl = "{feeds}{p}"\n\n'
                               for p in FEEDS), encoding="utf-8")
    cmd = [str(Path(sys.executable).parent / "vigil"), "run", "--sources", str(sources),
           "--state", f"dynamodb://{TABLE}", "--channel", CHANNEL]
    env = _env(dynamodb_server, fake_slack)

    procs = [subprocess.Popen([*cmd, "--outbox", str(tmp_path / f"out{i}.jsonl")], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [p.communicate(timeout=120) for p in procs]

    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    top = fake_slack.top_level(CHANNEL)
    per_story = Counter(_story_id(c) for c in top)
    assert per_story and max(per_story.values()) == 1, per_story
    assert len(top) >= 4  # four distinct events on topic (the two patrol reports may be one story)
    replies = Counter((c.body["thread_ts"], json.dumps(c.body.get("text"))) for c in fake_slack.replies(CHANNEL))
    assert all(n == 1 for n in replies.values()), replies
    # Every item was taken by exactly one of the two pollers.
    new_counts = [int(m.group(1)) for out, _ in results if (m := re.search(r"items: (\d+) new", out))]
    assert sum(new_counts) == sum(len(items) for items in FEEDS.values()), results
