"""Block Kit payloads for alerts, thread replies and digests (pure: data in, dicts out).

All feed text is untrusted: it is escaped (`&`, `<`, `>`) so it can never ping
`@channel`, forge a link or break formatting, and only http(s) URLs become links.
Slack rejects oversize payloads, so every field is truncated to Slack's limits here
rather than discovered as an API error in production.

Payloads are plain dicts (the core stays free of slack_sdk); the tests parse them with
`slack_sdk.models.blocks` to check them against the SDK's own length validation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from vigil.domain import provenance
from vigil.domain.models import Alert, Severity

# Slack limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_CONTEXT_TEXT = 2000
MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 40000
# Not Slack limits: what keeps an alert readable at a glance.
MAX_TITLE = 300
MAX_SUMMARY = 600
MAX_SENTENCES = 3
MAX_EVIDENCE = 5
MAX_URL = 1500

ACTION_RELEVANT = "vigil_relevant"
ACTION_NOT_RELEVANT = "vigil_not_relevant"
ACTION_MUTE_SOURCE = "vigil_mute_source"
ACTIONS_BLOCK_ID = "vigil_actions"
META_BLOCK_ID = "vigil_meta"
CONFIRMATIONS_BLOCK_ID = "vigil_confirmations"
EVENT_TYPE = "vigil_story"

SEVERITY_EMOJI = {
    Severity.URGENT: ":rotating_light:",
    Severity.NOTABLE: ":large_orange_diamond:",
    Severity.ROUTINE: ":small_blue_diamond:",
}
# Display names of the shipped topics; custom topics show their id (the name given in Slack).
TOPIC_NAMES = {
    "russia-china-military": "Russia–China military",
    "taiwan": "Taiwan",
    "sanctions": "Sanctions & export controls",
}

# Languages a reply names when a story is joined by a report in another one.
LANGUAGE_NAMES = {
    "en": "English", "ru": "Russian", "zh": "Chinese", "uk": "Ukrainian", "ja": "Japanese", "ko": "Korean",
    "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pl": "Polish", "be": "Belarusian",
    "kk": "Kazakh", "ar": "Arabic", "fa": "Persian", "tr": "Turkish", "vi": "Vietnamese", "lt": "Lithuanian",
}

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_SPACE = re.compile(r"\s+")

Payload = dict[str, Any]
Block = dict[str, Any]


# ---------------------------------------------------------------- text safety


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut plain text to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def escape_truncated(text: str, limit: int) -> str:
    """Escape, then fit in `limit` without leaving half an entity like `&am` behind."""
    escaped = escape(_SPACE.sub(" ", text).strip())
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: max(limit - 1, 0)])
    return cut.rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """The URL in a form safe inside `<url|label>`, or None when it must not be a link."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    # `|` ends the URL part of a Slack link and `<`/`>` end the link: percent-encode them.
    href = escape(url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E"))
    # A link cut short would point somewhere else: too long means no link at all.
    return href if len(href) <= MAX_URL else None


def link(url: str | None, label: str, limit: int = MAX_TITLE) -> str:
    """A mrkdwn link, or the escaped label alone when the URL is not safe."""
    text = escape_truncated(label, limit) or "(untitled)"
    href = safe_url(url)
    return f"<{href}|{text}>" if href else text


def summary_sentences(text: str, max_sentences: int = MAX_SENTENCES, limit: int = MAX_SUMMARY) -> str:
    """The first 1-3 sentences of a summary, within `limit` characters (plain text)."""
    text = _SPACE.sub(" ", text or "").strip()
    if not text:
        return ""
    sentences = _SENTENCE_END.split(text)
    kept = sentences[0]
    for sentence in sentences[1:max_sentences]:
        if len(kept) + 1 + len(sentence) > limit:
            break
        kept = f"{kept} {sentence}"
    return truncate(kept, limit)


def topic_name(topic_id: str, names: Mapping[str, str] | None = None) -> str:
    return (names or {}).get(topic_id) or TOPIC_NAMES.get(topic_id) or topic_id


def slack_date(when: datetime | None) -> str:
    """A Slack date token: shown in each reader's own time zone, UTC in the fallback."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")


def mrkdwn_to_text(text: str) -> str:
    """Readable plain text of our own mrkdwn, for terminal previews."""
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# ---------------------------------------------------------------- block builders


def _mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def context(*texts: str) -> Block:
    # Slack allows 10 elements per context block.
    return {"type": "context", "elements": [_mrkdwn(t, MAX_CONTEXT_TEXT) for t in texts if t][:10]}


def header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, MAX_HEADER_TEXT)}


def button(text: str, action_id: str, value: str, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": _plain(text, MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": value[:MAX_BUTTON_VALUE],
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def button_value(story_id: str, topic: str, source_id: str, item_key: str) -> str:
    """What a click needs to act without looking anything up, as compact JSON."""
    fields = {"story": story_id, "topic": topic, "source": source_id, "item": item_key}
    # Ids are short in practice; the cap keeps a hostile feed id from breaking the button.
    value = json.dumps({k: v[:400] for k, v in fields.items()}, separators=(",", ":"))
    return value[:MAX_BUTTON_VALUE]


def parse_button_value(value: str) -> dict[str, str]:
    """Inverse of `button_value`; missing fields become empty strings."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return {"story": "", "topic": "", "source": "", "item": ""}
    if not isinstance(data, dict):
        data = {}
    return {k: str(data.get(k, "")) for k in ("story", "topic", "source", "item")}


def fit_blocks(blocks: list[Block], overflow_note: str = "") -> list[Block]:
    """Keep a message within Slack's 50-block limit, saying how much was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    left = len(blocks) - len(kept)
    kept.append(context(overflow_note or f"…and {left} more not shown"))
    return kept


# ---------------------------------------------------------------- alert


def _primary_match_topic(alert: Alert) -> str:
    if alert.matches:
        return max(alert.matches, key=lambda m: (m.severity, m.score)).topic
    return alert.story.topics[0] if alert.story.topics else ""


def _severity(alert: Alert) -> Severity:
    levels = [m.severity for m in alert.matches] or [alert.story.severity]
    return max(levels)


def _outlet(alert: Alert) -> str:
    return alert.item.source_name or alert.item.source_id


def _outlet_with_provenance(alert: Alert) -> str:
    """"Reuters (wire)": the outlet and who stands behind it, escaped."""
    outlet = escape_truncated(_outlet(alert), 100)
    return f"{outlet} ({provenance.label(alert.item.provenance)})" if alert.item.provenance else outlet


def confirmation_line(confirmations: int, official: bool) -> str:
    """How well confirmed a story is: independent outlets, and the official source."""
    parts = []
    if confirmations:
        parts.append(f"{confirmations} independent {'outlet' if confirmations == 1 else 'outlets'}")
    if official:
        parts.append(":classical_building: confirmed by an official source")
    return " · ".join(parts)


def _confirmations_block(confirmations: int, official: bool) -> Block | None:
    line = confirmation_line(confirmations, official)
    return {**context(line), "block_id": CONFIRMATIONS_BLOCK_ID} if line else None


_OLD_CONFIRMATION_LINE = re.compile(
    r"^(?:\d+ independent outlets?(?: · :classical_building: confirmed by an official source)?"
    r"|:classical_building: confirmed by an official source)$")


def _is_old_confirmation_line(block: Mapping[str, Any]) -> bool:
    """A confirmation line posted before it carried its block_id (Slack gave it a random one)."""
    elements = block.get("elements") or []
    return (block.get("type") == "context" and len(elements) == 1
            and bool(_OLD_CONFIRMATION_LINE.match(str(elements[0].get("text", "")))))


def with_confirmations(message: Mapping[str, Any], confirmations: int, official: bool) -> Payload:
    """A posted alert (its text, blocks and metadata) showing new confirmation figures.

    Every other block is kept as it is, including status lines a click added; the
    line goes where `render_alert` puts it (after the outlet line) when it had none.
    """
    blocks, at = [], None
    for b in message.get("blocks") or []:
        if b.get("block_id") == CONFIRMATIONS_BLOCK_ID or _is_old_confirmation_line(b):
            at = len(blocks) if at is None else at
            continue
        blocks.append(b)
    line = _confirmations_block(confirmations, official)
    if line is not None:
        if at is None:
            ids = [b.get("block_id") for b in blocks]
            at = ids.index(META_BLOCK_ID) + 1 if META_BLOCK_ID in ids else len(blocks)
        blocks.insert(at, line)
    return {**message_content(message), "text": message.get("text", ""), "blocks": blocks}


def message_content(message: Mapping[str, Any]) -> Payload:
    """What a message is (text, blocks, metadata), without how it was sent: what an edit
    (chat.update, which takes no unfurl flags) rewrites and history gives back."""
    return {k: message[k] for k in ("text", "blocks", "metadata") if message.get(k)}


def _evidence_line(alert: Alert, names: Mapping[str, str] | None) -> str:
    parts = []
    for match in alert.matches:
        phrases = [f"“{escape_truncated(p, 80)}”" for p in match.evidence[:MAX_EVIDENCE]]
        label = f"*{escape_truncated(topic_name(match.topic, names), 80)}*"
        parts.append(f"{label}: {', '.join(phrases)}" if phrases else label)
    return "Why: " + "; ".join(parts) if parts else ""


def render_alert(alert: Alert, topic_names: Mapping[str, str] | None = None) -> Payload:
    """The chat.postMessage payload for a new story (no channel: the deliverer adds it)."""
    item, story = alert.item, alert.story
    severity = _severity(alert)
    topics = [m.topic for m in alert.matches] or list(story.topics)
    topic_label = ", ".join(escape_truncated(topic_name(t, topic_names), 80) for t in topics)
    title = item.title or story.title
    url = item.url or story.url
    when = item.published or story.first_seen
    outlet = escape_truncated(_outlet(alert), 100)
    summary = summary_sentences(item.summary)

    body = f"*{link(url, title)}*"
    if summary:
        body += "\n" + escape_truncated(summary, MAX_SUMMARY)
    meta = " · ".join(p for p in (_outlet_with_provenance(alert), slack_date(when)) if p)
    value = button_value(story.id, _primary_match_topic(alert), item.source_id, item.key)
    mute_confirm = {
        "title": _plain("Mute this source?", 100),
        "text": _plain(f"Stop alerts from {_outlet(alert)} in this channel. Undo with /vigil unmute.", 300),
        "confirm": _plain("Mute", 30),
        "deny": _plain("Cancel", 30),
    }
    blocks: list[Block] = [
        context(f"{SEVERITY_EMOJI[severity]} *{severity.label.capitalize()}* · {topic_label}"),
        section(body),
        {**context(meta), "block_id": META_BLOCK_ID},
    ]
    confirmed = _confirmations_block(story.confirmations, story.official)
    if confirmed:
        blocks.append(confirmed)
    evidence = _evidence_line(alert, topic_names)
    if evidence:
        blocks.append(context(evidence))
    blocks.append({
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            button("Relevant", ACTION_RELEVANT, value, style="primary"),
            button("Not relevant", ACTION_NOT_RELEVANT, value),
            button("Mute this source", ACTION_MUTE_SOURCE, value, style="danger", confirm=mute_confirm),
        ],
    })
    fallback = f"[{severity.label.upper()}] {topic_label}: {escape_truncated(title, MAX_TITLE)} ({outlet})"
    return {
        "text": truncate(fallback, MAX_MESSAGE_TEXT),
        "blocks": fit_blocks(blocks),
        "unfurl_links": False,
        "unfurl_media": False,
        "metadata": {"event_type": EVENT_TYPE, "event_payload": {"story_id": story.id}},
    }


def _reported(alert: Alert) -> str:
    """ "Also reported", and in which language when the story was first told in another."""
    # Imported here: the story clusterer is heavy to import, and only a thread reply needs
    # this (poll renders nothing; it imports this module through the outbox sweeper).
    from vigil.domain.stories import language_of

    languages = alert.story.languages
    language = language_of(alert.item)
    if languages and language != languages[0]:
        return f"Also reported in {escape_truncated(LANGUAGE_NAMES.get(language, language), 40)}"
    return "Also reported"


def render_reply(alert: Alert) -> Payload:
    """A thread reply for another outlet's report of a story already posted; an official
    source's item is marked as the primary source."""
    item = alert.item
    outlet = escape_truncated(_outlet(alert), 100)
    title_link = link(item.url or alert.story.url, item.title or alert.story.title)
    when = slack_date(item.published)
    if item.provenance == provenance.OFFICIAL:
        plain = f"Primary source, {outlet} (official)"
        lead = f":classical_building: Primary source, *{outlet}* (official)"
    else:
        reported = _reported(alert)
        plain = f"{reported} by {_outlet_with_provenance(alert)}"
        lead = f"{reported} by *{_outlet_with_provenance(alert)}*"
    text = f"{lead}: {title_link}"
    summary = summary_sentences(item.summary)
    if summary and item.provenance == provenance.OFFICIAL:
        text += "\n" + escape_truncated(summary, MAX_SUMMARY)
    blocks = [section(text)]
    footer = [p for p in (when, confirmation_line(alert.story.confirmations, alert.story.official)) if p]
    if footer:
        blocks.append(context(" · ".join(footer)))
    return {
        "text": truncate(f"{plain}: {escape_truncated(item.title, MAX_TITLE)}",
                         MAX_MESSAGE_TEXT),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
        # Marks the reply as this outlet's, so a reply whose post was cut off can be
        # found in the thread instead of being posted twice.
        "metadata": {"event_type": EVENT_TYPE,
                     "event_payload": {"story_id": alert.story.id, "outlet": alert.item.source_id}},
    }


# ---------------------------------------------------------------- digest


def _digest_line(entry: Mapping[str, Any]) -> str:
    try:
        severity = Severity(int(entry.get("severity", 1)))
    except ValueError:
        severity = Severity.ROUTINE
    sources = [escape_truncated(str(s), 60) for s in entry.get("sources") or ()][:3]
    more = f" +{len(entry['sources']) - 3}" if len(entry.get("sources") or ()) > 3 else ""
    suffix = f" — {', '.join(sources)}{more}" if sources else ""
    confirmed = confirmation_line(int(entry.get("confirmations") or 0), bool(entry.get("official")))
    suffix += f" ({confirmed})" if confirmed else ""
    return f"{SEVERITY_EMOJI[severity]} {link(entry.get('url'), str(entry.get('title', '')), 200)}{suffix}"


def _chunk_lines(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Pack lines into section-sized texts (each line is far below the limit)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def render_digest(channel: str, entries: list[Mapping[str, Any]],
                  topic_names: Mapping[str, str] | None = None,
                  period: str = "") -> Payload:
    """One message with the period's stories, grouped by topic, most severe first."""
    # One line per story and topic: the queue may hold the same story twice.
    unique: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entry in entries:
        unique.setdefault((str(entry.get("topic", "")), str(entry.get("story_id", ""))), entry)
    by_topic: dict[str, list[Mapping[str, Any]]] = {}
    for (topic, _), entry in unique.items():
        by_topic.setdefault(topic, []).append(entry)

    count = len({story for _, story in unique})
    title = f"Vigil digest{f' ({period})' if period else ''}: {count} {'story' if count == 1 else 'stories'}"
    blocks: list[Block] = [header(title)]
    for topic in sorted(by_topic, key=lambda t: topic_name(t, topic_names).lower()):
        rows = sorted(by_topic[topic], key=lambda e: (-int(e.get("severity", 1)), str(e.get("at", ""))))
        blocks.append(section(f"*{escape_truncated(topic_name(topic, topic_names), 100)}* ({len(rows)})"))
        blocks.extend(section(chunk) for chunk in _chunk_lines(_digest_line(e) for e in rows))
    return {
        "channel": channel,
        "text": truncate(title, MAX_MESSAGE_TEXT),
        "blocks": fit_blocks(blocks),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def is_story_message(metadata: Any, story_id: str, outlet: str = "") -> bool:
    """Whether message metadata is what `render_alert` (no outlet) or `render_reply`
    (this outlet) wrote for the story: how a post cut off by a crash is found again."""
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    event = metadata.get("event_payload") or {}
    return event.get("story_id") == story_id and (event.get("outlet") or "") == outlet
