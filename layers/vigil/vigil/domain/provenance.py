"""Who stands behind a source: official, wire, state-affiliated (with the state) or independent.

A reader weighs "confirmed by the designating authority" and "reported by a state
outlet of one of the parties" very differently; these labels say which is which.
The defaults come from a small table of well-known outlets; anything else is
"independent" until the sources file says otherwise.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

OFFICIAL = "official"
WIRE = "wire"
INDEPENDENT = "independent"
STATE_PREFIX = "state:"

# "state:" + an ISO 3166-1 alpha-2 code, lower case ("state:cn", "state:ru").
_STATE = re.compile(r"^state:[a-z]{2}$")

# Host suffix -> provenance. Government hosts are official; the wires are the agencies
# whose copy other outlets reprint; state-affiliated means editorially controlled or
# funded by that state (as labelled by the outlets' own charters or public registers).
KNOWN_HOSTS: dict[str, str] = {
    "federalregister.gov": OFFICIAL,
    "treasury.gov": OFFICIAL,
    "treas.gov": OFFICIAL,
    "state.gov": OFFICIAL,
    "bis.doc.gov": OFFICIAL,
    "gov.uk": OFFICIAL,
    "consilium.europa.eu": OFFICIAL,
    "ec.europa.eu": OFFICIAL,
    "mnd.gov.tw": OFFICIAL,
    "cga.gov.tw": OFFICIAL,
    "mod.go.jp": OFFICIAL,
    "mofcom.gov.cn": OFFICIAL,
    "mfa.gov.cn": OFFICIAL,
    "mid.ru": OFFICIAL,
    "reuters.com": WIRE,
    "apnews.com": WIRE,
    "afp.com": WIRE,
    "xinhuanet.com": "state:cn",
    "news.cn": "state:cn",
    "globaltimes.cn": "state:cn",
    "chinadaily.com.cn": "state:cn",
    "cgtn.com": "state:cn",
    "tass.com": "state:ru",
    "tass.ru": "state:ru",
    "ria.ru": "state:ru",
    "rt.com": "state:ru",
    "focustaiwan.tw": "state:tw",
    "cna.com.tw": "state:tw",
}

# Outlet names as aggregators (Google News, GDELT) give them, folded to lower case.
KNOWN_OUTLETS: dict[str, str] = {
    "reuters": WIRE,
    "associated press": WIRE,
    "ap news": WIRE,
    "afp": WIRE,
    "xinhua": "state:cn",
    "global times": "state:cn",
    "china daily": "state:cn",
    "cgtn": "state:cn",
    "tass": "state:ru",
    "ria novosti": "state:ru",
    "rt": "state:ru",
    "focus taiwan": "state:tw",
}


# Outlets that share an owner: their reports of one story are one confirmation, not
# several (host suffix or aggregator outlet name, folded to lower case -> owner). An
# outlet not listed is its own owner; a state-affiliated one is owned by its state.
OWNER_HOSTS: dict[str, str] = {
    "bbc.co.uk": "BBC", "bbc.com": "BBC", "bbci.co.uk": "BBC",
    "voanews.com": "USAGM", "rfa.org": "USAGM", "rferl.org": "USAGM", "svoboda.org": "USAGM",
    "nikkei.com": "Nikkei", "ft.com": "Nikkei",
    "wsj.com": "News Corp", "dowjones.com": "News Corp", "thetimes.co.uk": "News Corp",
    "nypost.com": "News Corp", "marketwatch.com": "News Corp", "barrons.com": "News Corp",
    "defensenews.com": "Sightline Media", "militarytimes.com": "Sightline Media",
    "c4isrnet.com": "Sightline Media", "navytimes.com": "Sightline Media",
    "taipeitimes.com": "Liberty Times", "ltn.com.tw": "Liberty Times",
    "theguardian.com": "Guardian Media Group", "guardian.co.uk": "Guardian Media Group",
    "reuters.com": "Thomson Reuters", "apnews.com": "Associated Press", "afp.com": "AFP",
}
OWNER_OUTLETS: dict[str, str] = {
    "bbc": "BBC", "bbc news": "BBC", "bbc russian": "BBC",
    "voice of america": "USAGM", "voa": "USAGM", "radio free asia": "USAGM",
    "radio free europe/radio liberty": "USAGM", "rfe/rl": "USAGM",
    "nikkei asia": "Nikkei", "financial times": "Nikkei",
    "the wall street journal": "News Corp", "wall street journal": "News Corp", "the times": "News Corp",
    "defense news": "Sightline Media", "military times": "Sightline Media",
    "taipei times": "Liberty Times", "liberty times net": "Liberty Times",
    "the guardian": "Guardian Media Group",
    "reuters": "Thomson Reuters", "associated press": "Associated Press", "ap news": "Associated Press",
    "afp": "AFP",
}


def owner_of(url: str, provenance: str, configured: str = "") -> str:
    """Who owns a source: as configured, else the table's, else its state (state media),
    else "" (the outlet is its own owner)."""
    if configured:
        return configured
    return _by_host(url, OWNER_HOSTS) or (provenance if provenance.startswith(STATE_PREFIX) else "")


def owner_of_item(source_owner: str, source_name: str, outlet: str, item_provenance: str) -> str:
    """An item's owner: its source's, unless an aggregator named another outlet (then that
    outlet's owner by name, its state for state media, or "" for its own)."""
    if not outlet or outlet == source_name:
        return source_owner
    named = OWNER_OUTLETS.get(outlet.strip().lower(), "")
    return named or (item_provenance if item_provenance.startswith(STATE_PREFIX) else "")


def is_valid(provenance: str) -> bool:
    return provenance in (OFFICIAL, WIRE, INDEPENDENT) or bool(_STATE.match(provenance))


def of_url(url: str) -> str:
    """The default provenance of a source at `url`: the table's, else independent."""
    return _by_host(url, KNOWN_HOSTS) or INDEPENDENT


def _by_host(url: str, table: dict[str, str]) -> str:
    """The value `table` gives the URL's host or a domain it is under ("" for none)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    for suffix, value in table.items():
        if host == suffix or host.endswith("." + suffix):
            return value
    return ""


def says_more(figures: tuple[int, bool], shown: tuple[int, bool]) -> bool:
    """Whether (independent confirmations, official) says more than `shown` does."""
    return figures[0] > shown[0] or (figures[1] and not shown[1])


def of_item(source_provenance: str, source_name: str, outlet: str) -> str:
    """An item's provenance: its source's, unless an aggregator named an outlet the table knows."""
    if not outlet or outlet == source_name:
        return source_provenance
    return KNOWN_OUTLETS.get(outlet.strip().lower(), source_provenance)


def label(provenance: str) -> str:
    """Short text for Slack and the terminal: "official", "wire", "state media (CN)"."""
    if provenance.startswith(STATE_PREFIX):
        return f"state media ({provenance[len(STATE_PREFIX):].upper()})"
    return provenance or INDEPENDENT
