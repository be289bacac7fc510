"""`vigil run` groups one event's reports into one story: paraphrases, number formats and
Chinese scripts, each outlet a feed on loopback, the CLI a real process writing the outbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.loopback import serve_bodies

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)

# (outlet, title) pairs: each pair reports one event in other words. Our own wording,
# except the headline pairs quoted by issue 15 as the ones that used to split.
PAIRS = [
    (("wire", "US approves $2 billion arms sale to Taiwan including air defense"),
     ("post", "Washington clears $2bn Taiwan arms package with air defense systems")),
    (("ledger", "Treasury warns Chinese banks of secondary sanctions over Russia trade"),
     ("herald", "US threatens secondary sanctions on Chinese banks financing Russian war effort")),
    (("daily-tw", "解放軍在臺灣海峽演習"), ("daily-cn", "解放军在台湾海峡演习")),
]


def _rss(outlet: str, title: str, minutes_ago: int) -> bytes:
    published = format_datetime(NOW - timedelta(minutes=minutes_ago))
    link = f"https://{outlet}.example/story"
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{outlet}</title><link>https://{outlet}.example/</link><description>test</description>"
        f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{published}</pubDate></item></channel></rss>"
    ).encode()


@pytest.fixture
def feeds() -> Iterator[str]:
    bodies = {}
    for n, pair in enumerate(PAIRS):
        for k, (outlet, title) in enumerate(pair):
            bodies[f"/{outlet}.xml"] = _rss(outlet, title, minutes_ago=90 - 20 * n - 5 * k)
    with serve_bodies(bodies) as base:
        yield base


def test_paraphrased_reports_of_one_event_become_one_alert_and_a_thread_reply(tmp_path: Path, feeds: str) -> None:
    # Given one feed per outlet, each pair of outlets reporting one event in other words
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(
        f'[[sources]]\nid = "{outlet}"\nname = "{outlet}"\nurl = "{feeds}/{outlet}.xml"\n\n'
        for pair in PAIRS for outlet, _ in pair
    ), encoding="utf-8")
    outbox = tmp_path / "outbox.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIGIL_"))}
    env["VIGIL_ALLOW_PRIVATE_NETWORKS"] = "1"

    # When vigil runs once
    result = subprocess.run(
        [sys.executable, "-m", "vigil.entrypoints.cli", "run", "--sources", str(sources),
         "--state", str(tmp_path / "state.db"), "--outbox", str(outbox), "--channel", "C1"],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO,
    )

    # Then each event is one top-level alert with the other outlet's report in its thread
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    posts = [c["payload"] for c in calls if c["method"] == "chat.postMessage"]
    # The second outlet of each event raises its confirmations: one edit of each alert.
    assert sorted(c["method"] for c in calls).count("chat.update") == len(PAIRS)
    top = [p for p in posts if not p.get("thread_ts")]
    assert len(top) == len(PAIRS), [p["text"] for p in top]
    outlets_by_story: dict[str, set[str]] = {}
    for payload in posts:
        story = payload["metadata"]["event_payload"]["story_id"]
        text = json.dumps(payload, ensure_ascii=False)
        outlets_by_story.setdefault(story, set()).update(
            outlet for pair in PAIRS for outlet, _ in pair if f"https://{outlet}.example/" in text)
    assert sorted(map(sorted, outlets_by_story.values())) == sorted(sorted(o for o, _ in pair) for pair in PAIRS)
    assert f"{len(PAIRS)} follow-ups in threads" in result.stdout, result.stdout
