"""Alert, reply and digest payloads: layout, escaping of hostile feed text, Slack's limits.

Every payload is also parsed with slack_sdk's block models, whose validators know
Slack's length limits: a payload they accept is one Slack accepts.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from vigil.domain.models import Alert, Item, Severity, Story, TopicMatch
from vigil.render.preview import preview_text
from vigil.render.slack import (
    ACTION_MUTE_SOURCE,
    ACTION_NOT_RELEVANT,
    ACTION_RELEVANT,
    MAX_BLOCKS,
    escape,
    mrkdwn_to_text,
    parse_button_value,
    render_alert,
    render_digest,
    render_reply,
    safe_url,
    summary_sentences,
    with_confirmations,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_alert(title: str = "PLA drills near Taiwan", summary: str = "Ships moved.", url: str = "https://x.example/a",
               source_name: str = "Reuters", evidence: tuple[str, ...] = ("PLA",),
               severity: Severity = Severity.URGENT) -> Alert:
    story = Story(id="story-1", title=title, first_seen=NOW, last_seen=NOW, topics=("taiwan",), url=url)
    item = Item(key="item-1", source_id="reuters", title=title, summary=summary, url=url, published=NOW,
                source_name=source_name)
    return Alert("C1", story, item, (TopicMatch("taiwan", 3.0, severity, evidence),))


def all_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for v in node.values() for t in mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in mrkdwn_texts(v)]
    return []


def assert_valid_blocks(payload: dict[str, Any]) -> None:
    assert len(payload["blocks"]) <= MAX_BLOCKS
    for block in payload["blocks"]:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError past a limit
    assert len(payload["text"]) <= 40000


def test_alert_shows_topic_severity_link_outlet_time_summary_evidence_and_buttons() -> None:
    payload = render_alert(make_alert(summary="One. Two! Three? Four."))

    head, body, meta, why, actions = payload["blocks"]
    assert head["elements"][0]["text"] == ":rotating_light: *Urgent* · Taiwan"
    assert body["text"]["text"] == "*<https://x.example/a|PLA drills near Taiwan>*\nOne. Two! Three?"
    assert meta["elements"][0]["text"].startswith("Reuters · <!date^1740830400^")
    assert why["elements"][0]["text"] == "Why: *Taiwan*: “PLA”"
    assert [e["action_id"] for e in actions["elements"]] == [ACTION_RELEVANT, ACTION_NOT_RELEVANT,
                                                            ACTION_MUTE_SOURCE]
    assert parse_button_value(actions["elements"][0]["value"]) == {
        "story": "story-1", "topic": "taiwan", "source": "reuters", "item": "item-1"}
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False
    assert payload["metadata"] == {"event_type": "vigil_story", "event_payload": {"story_id": "story-1"}}
    assert payload["text"] == "[URGENT] Taiwan: PLA drills near Taiwan (Reuters)"
    assert "channel" not in payload
    assert_valid_blocks(payload)


@pytest.mark.parametrize(("hostile", "expected"), [
    ("<!channel> alert", "&lt;!channel&gt; alert"),
    ("<!here|here>", "&lt;!here|here&gt;"),
    ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
    ("<@U123> and <#C123>", "&lt;@U123&gt; and &lt;#C123&gt;"),
    ("Tom & Jerry", "Tom &amp; Jerry"),
    ("&lt;already&gt;", "&amp;lt;already&amp;gt;"),
])
def test_hostile_feed_text_is_escaped_everywhere(hostile: str, expected: str) -> None:
    payload = render_alert(make_alert(title=hostile, summary=hostile, source_name=hostile, evidence=(hostile,)))

    assert escape(hostile) == expected
    # Slack parses mentions and links only in mrkdwn and the `text` fallback.
    parsed = [payload["text"], *mrkdwn_texts(payload["blocks"])]
    assert all(hostile not in t for t in parsed)
    assert expected in payload["text"]
    assert all(expected in t for t in parsed[2:5])  # title+summary, outlet, evidence


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x.example/a", "//x.example/a",
    "http://", "https://x.example/a b", "", "vbscript:msgbox",
])
def test_unsafe_urls_are_not_linked(url: str) -> None:
    payload = render_alert(make_alert(url=url))

    assert safe_url(url) is None
    assert payload["blocks"][1]["text"]["text"].startswith("*PLA drills near Taiwan*")


def test_url_characters_that_would_end_a_link_are_encoded() -> None:
    assert safe_url("https://x.example/a|b<c>&d") == "https://x.example/a%7Cb%3Cc%3E&amp;d"


def test_long_text_is_truncated_to_slack_limits() -> None:
    payload = render_alert(make_alert(
        title="&" * 5000, summary="word " * 5000, source_name="S" * 500,
        evidence=tuple("e" * 300 for _ in range(50)), url="https://x.example/" + "a" * 1400,
    ))

    assert_valid_blocks(payload)
    body = payload["blocks"][1]["text"]["text"]
    assert len(body) <= 3000
    assert not re.search(r"&(?!amp;|lt;|gt;)", body)  # no half entity left at the cut
    for button in payload["blocks"][-1]["elements"]:
        assert len(button["text"]["text"]) <= 75 and len(button["value"]) <= 2000


def test_url_too_long_for_a_link_is_dropped_not_cut() -> None:
    payload = render_alert(make_alert(url="https://x.example/" + "a" * 3000))

    assert "https://x.example/" not in payload["blocks"][1]["text"]["text"]


def test_summary_keeps_one_to_three_sentences() -> None:
    assert summary_sentences("One. Two. Three. Four.") == "One. Two. Three."
    assert summary_sentences("No full stop here") == "No full stop here"
    assert summary_sentences("") == ""
    assert len(summary_sentences("x" * 5000)) <= 600


def test_reply_names_the_outlet_and_links_the_title() -> None:
    payload = render_reply(make_alert(source_name="AP <!channel>"))

    assert payload["blocks"][0]["text"]["text"] == (
        "Also reported by *AP &lt;!channel&gt;*: <https://x.example/a|PLA drills near Taiwan>")
    assert payload["text"].startswith("Also reported by AP &lt;!channel&gt;: ")
    assert payload["unfurl_links"] is False
    assert_valid_blocks(payload)


def test_reply_in_another_language_than_the_story_says_which() -> None:
    # Given a story first reported in English, joined by a Russian outlet's report
    alert = make_alert(title="Учения НОАК у Тайваня", source_name="Vesti")
    alert.story.languages = ("en", "ru")
    alert.item.lang = "ru"

    payload = render_reply(alert)

    assert payload["blocks"][0]["text"]["text"].startswith("Also reported in Russian by *Vesti*: <https://")
    assert payload["text"].startswith("Also reported in Russian by Vesti: ")
    assert_valid_blocks(payload)


def test_reply_in_the_storys_own_language_names_none() -> None:
    alert = make_alert()
    alert.story.languages = ("en", "zh")
    assert render_reply(alert)["text"].startswith("Also reported by Reuters: ")


def test_reply_names_the_language_by_the_script_when_the_feed_says_nothing_useful() -> None:
    alert = make_alert(title="解放軍在臺灣海峽演習", source_name="CNA")
    alert.story.languages = ("en",)  # the item's feed declared no language: "en" by default
    assert render_reply(alert)["text"].startswith("Also reported in Chinese by CNA: ")


def digest_entry(n: int, topic: str = "taiwan", severity: int = 1) -> dict[str, Any]:
    return {"story_id": f"s{n}", "title": f"Story {n} <!channel>", "url": f"https://x.example/{n}",
            "topic": topic, "severity": severity, "sources": ["reuters", "ap"], "at": NOW.isoformat()}


def test_digest_groups_by_topic_and_puts_urgent_first() -> None:
    entries = [digest_entry(1, "taiwan", 1), digest_entry(2, "sanctions", 2), digest_entry(3, "taiwan", 3)]

    payload = render_digest("C1", entries)

    texts = [b.get("text", {}).get("text", "") for b in payload["blocks"]]
    assert payload["channel"] == "C1"
    assert texts[0] == "Vigil digest: 3 stories"
    assert texts[1] == "*Sanctions & export controls* (1)".replace("&", "&amp;")
    assert texts[3] == "*Taiwan* (2)"
    assert texts[4].index("Story 3") < texts[4].index("Story 1")
    assert "<!channel>" not in all_text(payload)
    assert_valid_blocks(payload)


def test_huge_digest_stays_within_block_and_text_limits() -> None:
    entries = [digest_entry(n, f"topic-{n % 80}") for n in range(2000)]

    payload = render_digest("C1", entries)

    assert_valid_blocks(payload)
    assert "more not shown" in payload["blocks"][-1]["elements"][0]["text"]


def test_preview_text_reads_our_mrkdwn() -> None:
    assert mrkdwn_to_text("*<https://x.example|A &amp; B>* &lt;x&gt;") == "*A & B (https://x.example)* <x>"


@given(st.text())
def test_escaped_text_never_contains_slack_control_sequences(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0
    assert mrkdwn_to_text(escaped) == text


def _confirmation_blocks(payload: dict[str, Any]) -> list[str]:
    return [b["elements"][0]["text"] for b in payload["blocks"] if b.get("block_id") == "vigil_confirmations"]


def test_an_edit_changes_only_the_confirmation_line() -> None:
    alert = make_alert()
    posted = render_alert(alert)
    assert _confirmation_blocks(posted) == []  # a story with nothing counted yet shows no line

    edited = with_confirmations(posted, 2, True)

    official = ":classical_building: confirmed by an official source"
    assert _confirmation_blocks(edited) == [f"2 independent outlets · {official}"]
    # Right after the outlet line, where render_alert puts it; nothing else moves.
    ids = [b.get("block_id") for b in edited["blocks"]]
    assert ids.index("vigil_confirmations") == ids.index("vigil_meta") + 1
    assert [b for b in edited["blocks"] if b.get("block_id") != "vigil_confirmations"] == posted["blocks"]
    assert edited["metadata"] == posted["metadata"] and edited["text"] == posted["text"]
    assert_valid_blocks(edited)
    again = with_confirmations(edited, 3, True)
    assert _confirmation_blocks(again) == [f"3 independent outlets · {official}"]
    assert len(again["blocks"]) == len(edited["blocks"])


def test_the_preview_of_an_edit_shows_the_new_line_only() -> None:
    edited = with_confirmations({**render_alert(make_alert()), "channel": "C1"}, 2, False)
    shown = preview_text("chat.update", edited)
    assert shown.startswith("── alert edited →")
    assert "2 independent outlets" in shown
    assert "PLA drills near Taiwan" in shown.splitlines()[1], "which alert: its one-line text"
    assert "Ships moved" not in shown, "not the whole alert again"


def _as_posted_before_block_ids(payload: dict[str, Any]) -> dict[str, Any]:
    # render_alert used to set no block_id on the outlet and confirmation context blocks;
    # Slack gives such blocks random ids, which history returns.
    blocks = [{**b, "block_id": f"rand{n}"} if b.get("block_id") in ("vigil_meta", "vigil_confirmations") else b
              for n, b in enumerate(payload["blocks"])]
    return {**payload, "blocks": blocks}


def test_an_alert_posted_before_block_ids_keeps_one_confirmation_line_in_place() -> None:
    alert = make_alert()
    old = _as_posted_before_block_ids(render_alert(replace(alert, story=replace(alert.story, confirmations=2))))
    edited = with_confirmations(old, 3, False)
    lines = [b for b in edited["blocks"] if b["type"] == "context"
             and any("independent outlet" in e.get("text", "") for e in b["elements"])]
    assert [b["elements"][0]["text"] for b in lines] == ["3 independent outlets"]
    ids = [b.get("block_id") for b in edited["blocks"]]
    assert ids.index("vigil_confirmations") < ids.index("vigil_actions"), "the line stays above the buttons"
