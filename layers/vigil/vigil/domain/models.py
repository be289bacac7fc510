"""Domain records shared by the core and the adapters (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    ROUTINE = 1
    NOTABLE = 2
    URGENT = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (routine, notable, urgent)") from None


# How a source is read; "feed" is RSS/Atom (docs/SOURCES.md describes each kind).
SOURCE_KINDS = ("feed", "federal_register", "ofac", "ofac_delta", "uk_sanctions", "eu_sanctions", "page_list")


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    url: str
    name: str = ""
    lang: str = "en"
    interval_minutes: int = 5
    kind: str = "feed"  # one of SOURCE_KINDS
    # official, wire, independent or "state:<country code>" (vigil.domain.provenance).
    provenance: str = "independent"
    # page_list: a regular expression on link paths that picks the page's list entries.
    match: str = ""
    # Who owns the outlet, when it shares an owner with others ("" = its own; see
    # vigil.domain.provenance.owner_of): outlets of one owner confirm a story once.
    owner: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    query: str
    description: str = ""
    # Optional query whose match raises an item to URGENT / NOTABLE.
    urgent: str = ""
    notable: str = ""
    # Terms that only say who or where (countries, capitals): listed last in evidence,
    # so "why it matched" leads with the subject ("joint patrol", "entity list").
    actors: str = ""
    # Set for custom topics defined from Slack; None for the shipped ones.
    channel: str | None = None
    # The lowest severity of a match: a custom topic's stories are posted in a channel
    # whose threshold is above routine only if the topic is at least that severe.
    severity: Severity = Severity.ROUTINE


@dataclass(slots=True)
class Item:
    """One normalized feed entry."""

    key: str
    source_id: str
    title: str
    summary: str
    url: str
    published: datetime | None
    lang: str = "en"
    source_name: str = ""
    # Filled by the cycle from the source (or, for aggregators, the outlet named per entry).
    provenance: str = ""
    owner: str = ""
    # The entry's guid when it is globally unique (normalize.global_guid): an entry
    # without a link is still recognised in a second feed by it.
    guid: str = ""


@dataclass(frozen=True, slots=True)
class TopicMatch:
    topic: str
    score: float
    severity: Severity
    evidence: tuple[str, ...]


@dataclass(slots=True)
class Story:
    """Items from several outlets about one event."""

    id: str
    title: str
    first_seen: datetime
    last_seen: datetime
    topics: tuple[str, ...] = ()
    severity: Severity = Severity.ROUTINE
    sources: tuple[str, ...] = ()
    item_keys: tuple[str, ...] = ()
    # Key terms / signature used by the clusterer; opaque to everyone else.
    signature: tuple[int, ...] = ()
    terms: tuple[str, ...] = ()
    url: str = ""
    # When the event was first reported (its first item's publication time), as opposed
    # to first_seen, when Vigil first saw it; a backfill after an outage differs a lot.
    published: datetime | None = None
    # Languages of its reports ("en", "ru", "zh"), in order of first appearance: the
    # first is the language the story was first reported in.
    languages: tuple[str, ...] = ()
    # Independent outlets reporting it: official sources and copies of one wire story
    # (a wire item and the outlets reprinting its headline) do not add to the count.
    confirmations: int = 0
    # An official source (the designating authority, a ministry) published it.
    official: bool = False
    # Headline fingerprints (`stories.headline_print`) of the story's wire items and of
    # all its items, to recognise a reprint of a wire story whichever arrives first.
    wire_prints: tuple[int, ...] = ()
    headline_prints: tuple[int, ...] = ()
    # Owners of the outlets counted in `confirmations` (an outlet with no known owner
    # stands for itself): a second outlet of one owner does not count again.
    owners: tuple[str, ...] = ()


@dataclass(slots=True)
class Subscription:
    channel: str
    topic: str
    active: bool = True
    # When the subscription was created: older backlog never floods it.
    created_at: datetime | None = None


@dataclass(slots=True)
class ChannelSettings:
    channel: str
    muted_sources: frozenset[str] = frozenset()
    threshold: Severity = Severity.ROUTINE
    digest: str = "off"  # "off", "hourly" or "daily HH:MM TZ"
    paused: bool = False
    disabled_reason: str = ""


@dataclass(slots=True)
class Alert:
    """A request to tell one channel about one item of a story."""

    channel: str
    story: Story
    item: Item
    matches: tuple[TopicMatch, ...]
    # "new" = top-level message; "update" = thread reply ("also reported by").
    kind: str = "new"


@dataclass(slots=True)
class SourceState:
    source_id: str
    etag: str = ""
    modified: str = ""
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str = ""
    last_status: int = 0
    consecutive_failures: int = 0
    items_seen: int = 0
    failing_since: datetime | None = None
    retry_after: datetime | None = None
    first_polled: datetime | None = None
    # Digests of the item keys the latest successful parse produced, all of them seen by
    # the time the state is stored (health.recent_digest): the next poll skips the
    # seen-check of items still in the feed. Empty for states stored before it existed.
    recent: str = ""


@dataclass(slots=True)
class Delivery:
    story_id: str
    channel: str
    status: str  # "pending" (claimed) or "sent"
    ts: str = ""
    claimed_at: datetime | None = None
    outlets: tuple[str, ...] = field(default_factory=tuple)
    # Thread replies posted or being posted: outlet -> ISO time of a claim not yet
    # confirmed (a reply whose outcome is unknown until Slack's history says).
    reply_claims: dict[str, str] = field(default_factory=dict)
    # Who holds a pending claim ("host:pid" locally), so a dead holder is seen at once.
    claimed_by: str = ""
    # The top-level message as posted ({"text", "blocks"}), recorded with the claim so
    # any worker can later edit it; and the confirmations it shows (independent outlets,
    # official source), raised only when an edit of the message went out.
    message: dict[str, Any] = field(default_factory=dict)
    shown_confirmations: int = 0
    shown_official: bool = False
    version: int = 0
