"""`vigil run` on loopback: one article listed by two configured feeds is one alert."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_run import _outbox, _rss, _vigil
from tests.loopback import serve_bodies

# Written for this test: two feeds that overlap, like the shipped fedreg-bis-rules and
# fedreg-bis-entity-list queries.
RULE = ("Additions to the Entity List: Chinese and Russian firms supplying Russia's military",
        "https://rules.example/2026-01234", "Commerce's BIS adds entities in China and Russia to the Entity List.")
FEEDS = {
    "/rules.xml": _rss("BIS rules", [RULE]),
    "/entity-list.xml": _rss("BIS Entity List actions", [RULE]),
}


def test_the_same_article_in_two_feeds_posts_one_alert_and_no_reply(tmp_path: Path) -> None:
    with serve_bodies(FEEDS) as base:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[sources]]\nid = "rules"\nurl = "{base}/rules.xml"\n\n'
            f'[[sources]]\nid = "entity-list"\nurl = "{base}/entity-list.xml"\n', encoding="utf-8")
        outbox = tmp_path / "out.jsonl"
        run = _vigil("run", "--sources", str(sources), "--state", str(tmp_path / "s.db"),
                     "--outbox", str(outbox), "--channel", "C1")
    assert run.returncode == 0, run.stderr
    calls = _outbox(outbox)
    assert len(calls) == 1, [json.dumps(c["payload"])[:200] for c in calls]
    assert "thread_ts" not in calls[0]["payload"]
    assert "items: 1 new of 2" in run.stdout
