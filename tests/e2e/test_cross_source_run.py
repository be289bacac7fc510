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


# Written for this test: a wire report, an independent outlet's own report of the same
# event, and a paper reprinting the wire's copy under the wire's headline.
WIRE = ("China sends 45 warplanes toward Taiwan in large-scale drills", "https://wire.example/pla-drills",
        "Taiwan's defence ministry said 45 PLA aircraft and 9 warships were tracked around the island.")
OWN = ("Taiwan tracks 45 Chinese warplanes as PLA stages large drills around the island",
       "https://paper.example/taiwan-drills",
       "The PLA Eastern Theater Command began drills; Taiwan's defence ministry counted 45 aircraft.")
REPRINT = (WIRE[0], "https://reprints.example/pla-drills", WIRE[2])


def _confirmation_line(payload: dict[str, object]) -> str:
    for block in payload.get("blocks") or ():  # type: ignore[attr-defined]
        if block.get("block_id") == "vigil_confirmations":
            return " ".join(e["text"] for e in block["elements"])
    return ""


def test_a_second_independent_outlet_edits_the_alert_once_a_reprint_does_not(tmp_path: Path) -> None:
    feeds = {"/wire.xml": _rss("Wire", [WIRE]), "/paper.xml": _rss("Paper", [OWN]),
             "/reprints.xml": _rss("Reprints", [REPRINT])}
    with serve_bodies(feeds) as base:
        sources = tmp_path / "sources.toml"
        sources.write_text("".join(
            f'[[sources]]\nid = "{name}"\nurl = "{base}/{name}.xml"\nprovenance = "{kind}"\n\n'
            for name, kind in (("wire", "wire"), ("paper", "independent"), ("reprints", "independent"))),
            encoding="utf-8")
        outbox = tmp_path / "out.jsonl"
        args = ("run", "--sources", str(sources), "--state", str(tmp_path / "s.db"),
                "--outbox", str(outbox), "--channel", "C1")
        first = _vigil(*args)
        again = _vigil(*args)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    calls = _outbox(outbox)
    posts = [c for c in calls if c["method"] == "chat.postMessage"]
    top = [c for c in posts if "thread_ts" not in c["payload"]]
    edits = [c for c in calls if c["method"] == "chat.update"]
    assert len(top) == 1 and len(posts) == 3, [c["payload"]["text"][:80] for c in posts]
    assert _confirmation_line(top[0]["payload"]) == "1 independent outlet"
    [edit] = edits
    assert edit["payload"]["ts"] == top[0]["ts"]
    assert _confirmation_line(edit["payload"]) == "2 independent outlets"
    assert edit["payload"]["metadata"] == top[0]["payload"]["metadata"]
