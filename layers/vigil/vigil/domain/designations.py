"""Sanctions-list entries as items, and the new entries of one publication as one item.

A sanctions list (OFAC, UK, EU) is published whole, without per-entry dates. What is
new is what the previous poll did not have (compared by the list's own entry ids);
the cycle does that comparison (`new_entries`), this module says what an entry and a
publication's additions say in an alert: who, under which programme, which country,
and whether the entry is tied to Russia or China (the `sanctions` topic needs one of
them named).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from vigil.domain.models import Item, Source

# Programme names that are about Russia or China even when no address says so (OFAC
# codes, UK regime names, EU programme codes). Whole words: "BELARUS" contains "RUS".
_RUSSIA_PROGRAMMES = re.compile(r"\b(?:RUSSIA|RUS|UKRAINE-EO1366[0-2])\b")
_CHINA_PROGRAMMES = re.compile(r"\b(?:CHINA|CHN|PRC|CMIC|HK-EO13936)\b")
_RUSSIA_NAMES = ("russia", "russian federation")
_CHINA_NAMES = ("china", "hong kong", "macau", "people's republic of china")
# Entry titles read "<authority> sanctions <who>": a grouped title is built from them.
_VERB = " sanctions "
# Names shown in a grouped item's title; the rest are counted.
TITLE_NAMES = 4
MAX_GROUP_SUMMARY = 1500


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed party, as a list publishes it."""

    id: str  # the list's own stable id (OFAC uid, UK UniqueID, EU logicalId)
    name: str
    party_type: str = ""  # Individual, Entity, Vessel, ...
    programmes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    url: str = ""


def ties(entry: Entry) -> tuple[str, ...]:
    """"Russia", "China" (or both) when the entry is tied to them by programme or country."""
    programmes = " ".join(entry.programmes).upper()
    countries = " ".join(entry.countries).lower()
    found = []
    if _RUSSIA_PROGRAMMES.search(programmes) or any(n in countries for n in _RUSSIA_NAMES):
        found.append("Russia")
    if _CHINA_PROGRAMMES.search(programmes) or any(n in countries for n in _CHINA_NAMES):
        found.append("China")
    return tuple(found)


def entry_key(source_id: str, entry_id: str) -> str:
    return f"{source_id}:{entry_id}"


def entry_id_of(key: str) -> str:
    """The list's own id back from an entry item's key."""
    return key.split(":", 1)[1]


def entry_item(source: Source, entry: Entry, authority: str) -> Item:
    """One designation as an item: who, programme, country, and the Russia/China tie said."""
    countries = ", ".join(_unique(entry.countries))
    tied = ties(entry)
    where = f" ({countries})" if countries else ""
    # The headline names the party as the press does ("Alfa-Bank", not "Joint Stock
    # Company Alfa-Bank"), so the list's item joins the news story about it.
    title = f"{authority}{_VERB}{short_name(entry.name)}{where}"
    parts = [f"New designation on the {source.display_name}: {entry.name}"
             + (f", {entry.party_type.lower()}" if entry.party_type else "") + "."]
    if entry.programmes:
        parts.append(f"Programme: {', '.join(entry.programmes)}.")
    if countries:
        parts.append(f"Country: {countries}.")
    if tied:
        parts.append(f"{' and '.join(tied)}-related sanctions designation by {authority}.")
    return Item(key=entry_key(source.id, entry.id), source_id=source.id, title=title, summary=" ".join(parts),
                url=entry.url, published=None, lang="en", source_name=source.display_name,
                provenance=source.provenance)


def group(source: Source, items: Sequence[Item]) -> Item:
    """The new entries of one publication as one item (a single entry stays itself).

    One alert per publication: an action listing 18 parties is one event, and 18
    alerts (or 17 thread replies) would bury the channel.
    """
    if len(items) == 1:
        return items[0]
    authority, _, _ = items[0].title.partition(_VERB)
    names = [i.title.partition(_VERB)[2] for i in items]
    shown = ", ".join(names[:TITLE_NAMES])
    more = f" and {len(names) - TITLE_NAMES} more" if len(names) > TITLE_NAMES else ""
    programmes = _unique(p.strip() for i in items for m in _PROGRAMME.finditer(i.summary)
                         for p in m.group(1).split(", "))
    tied = _unique(m.group(0) for i in items for m in _TIE.finditer(i.summary))
    summary = (f"New designations on the {source.display_name}: {'; '.join(names)}. "
               + (f"Programmes: {', '.join(programmes)}. " if programmes else "") + " ".join(tied)).strip()
    if len(summary) > MAX_GROUP_SUMMARY:
        summary = summary[: MAX_GROUP_SUMMARY - 1].rsplit(" ", 1)[0] + "…"
    digest = hashlib.blake2b(" ".join(sorted(i.key for i in items)).encode(), digest_size=10).hexdigest()
    return replace(items[0], key=f"{source.id}:publication-{digest}",
                   title=f"{authority}{_VERB}{len(items)} parties: {shown}{more}", summary=summary,
                   url=f"{source.url}#{digest}")


_PROGRAMME = re.compile(r"Programme: ([^.]+)\.")
_TIE = re.compile(r"(?:Russia|China)(?: and China)?-related sanctions designation by [^.]+\.")
# Legal forms that lead or trail a registered name; headlines leave them out.
_LEGAL_FORM = re.compile(
    r"^(?:(?:PUBLIC |OPEN |CLOSED |NON-PUBLIC )?JOINT[- ]STOCK COMPANY|LIMITED LIABILITY COMPANY|"
    r"AKTSIONERNOE OBSHCHESTVO|OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU|FEDERAL STATE [A-Z ]*?INSTITUTION)\s+"
    r"|\s+(?:(?:PUBLIC |OPEN |CLOSED )?JOINT[- ]STOCK COMPANY|LIMITED LIABILITY COMPANY|CO\.?,? LTD\.?|"
    r"LLC|JSC|PJSC|OAO|PAO|OOO|AO|LTD\.?)$",
    re.IGNORECASE,
)


def short_name(name: str) -> str:
    """A registered name without its legal form; the name itself when nothing is left."""
    shorter = name
    for _ in range(2):  # a form may lead and another trail
        shorter = _LEGAL_FORM.sub("", shorter).strip(" ,")
    return shorter or name


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen
