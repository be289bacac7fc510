"""Review: editing an alert posted before confirmation lines carried a block_id."""

from __future__ import annotations

from dataclasses import replace

from vigil.render.slack import CONFIRMATIONS_BLOCK_ID, META_BLOCK_ID, render_alert, with_confirmations

from tests.unit.test_slack_render import make_alert


def _as_posted_before_the_change(payload: dict) -> dict:
    # The previous render_alert set no block_id on the meta and confirmation context
    # blocks; Slack gives such blocks random ids, which history returns.
    blocks = []
    for n, b in enumerate(payload["blocks"]):
        if b.get("block_id") in (META_BLOCK_ID, CONFIRMATIONS_BLOCK_ID):
            b = {**b, "block_id": f"rand{n}"}
        blocks.append(b)
    return {**payload, "blocks": blocks}


def test_a_pre_deploy_alert_keeps_one_confirmation_line() -> None:
    alert = make_alert()
    alert = replace(alert, story=replace(alert.story, confirmations=2))
    old = _as_posted_before_the_change(render_alert(alert))
    edited = with_confirmations(old, 3, False)
    lines = [b for b in edited["blocks"] if b["type"] == "context"
             and any("independent outlet" in e.get("text", "") for e in b["elements"])]
    assert len(lines) == 1, [b["elements"][0]["text"] for b in lines]
    ids = [b.get("block_id") for b in edited["blocks"]]
    assert ids.index(CONFIRMATIONS_BLOCK_ID) < ids.index("vigil_actions"), "the line stays above the buttons"
