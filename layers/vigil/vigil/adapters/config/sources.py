"""Configuration files: sources (TOML). Errors name the file and the problem in one line."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vigil.domain import provenance
from vigil.domain.errors import ConfigError
from vigil.domain.models import SOURCE_KINDS, Source

OFFICIAL_KINDS = frozenset({"federal_register", "ofac", "ofac_delta", "uk_sanctions", "eu_sanctions"})
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SOURCE_KEYS = ("id", "url", "name", "lang", "interval_minutes", "kind", "provenance", "match", "owner")


def default_path(name: str) -> Path:
    """A file shipped as package data in `vigil/data/`."""
    return Path(str(resources.files("vigil") / "data" / name))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_sources(path: Path | str | None = None) -> list[Source]:
    """Sources from a TOML file of `[[sources]]` tables (default: the shipped list)."""
    file = Path(path) if path else default_path("sources.toml")
    data = read_toml(file)
    tables = data.get("sources")
    if not isinstance(tables, list) or not tables:
        import difflib  # error paths only: the Slack function loads the sources in its cold start

        typo = difflib.get_close_matches("sources", list(data), n=1)
        hint = f" (found {typo[0]!r}: did you mean [[sources]]?)" if typo else ""
        raise ConfigError(f"{file}: no [[sources]] tables{hint}")
    _no_unknown_keys(data, ("sources",), str(file))
    sources: list[Source] = []
    seen: set[str] = set()
    for n, table in enumerate(tables, start=1):
        source = source_from_table(table, f"{file}: source #{n}")
        if source.id in seen:
            raise ConfigError(f"{file}: source #{n}: duplicate id {source.id!r}")
        seen.add(source.id)
        sources.append(source)
    return sources


def source_from_table(table: Any, where: str) -> Source:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    sid, url = table.get("id"), table.get("url")
    # A misspelt key would otherwise be ignored and its default used without a word.
    _no_unknown_keys(table, SOURCE_KEYS, f"{where} ({sid})" if isinstance(sid, str) else where)
    if not isinstance(sid, str) or not _ID.match(sid):
        raise ConfigError(f"{where}: 'id' must be a short lowercase slug (a-z, 0-9, . _ -), got {sid!r}")
    if not isinstance(url, str) or not valid_feed_url(url):
        raise ConfigError(f"{where} ({sid}): 'url' must be an http(s) URL, got {url!r}")
    interval = table.get("interval_minutes", 5)
    if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 10080:
        raise ConfigError(f"{where} ({sid}): 'interval_minutes' must be a whole number 1..10080")
    name, lang = table.get("name", ""), table.get("lang", "en")
    if not isinstance(name, str) or not isinstance(lang, str):
        raise ConfigError(f"{where} ({sid}): 'name' and 'lang' must be strings")
    kind = table.get("kind", "feed")
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{where} ({sid}): 'kind' must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    # The kinds that read a government's own publications are official by nature.
    default = provenance.OFFICIAL if kind in OFFICIAL_KINDS else provenance.of_url(url)
    origin = table.get("provenance", default)
    if not isinstance(origin, str) or not provenance.is_valid(origin):
        raise ConfigError(f"{where} ({sid}): 'provenance' must be official, wire, independent or "
                          f"state:<two-letter country code>, got {origin!r}")
    match = table.get("match", "")
    if not isinstance(match, str) or (kind == "page_list" and not match):
        raise ConfigError(f"{where} ({sid}): a page_list source needs 'match', a regular expression on "
                          "the paths of the page's entry links")
    try:
        re.compile(match)
    except re.error as exc:
        raise ConfigError(f"{where} ({sid}): 'match' is not a valid regular expression: {exc}") from None
    owner = table.get("owner", "")
    if not isinstance(owner, str) or len(owner) > 100:
        raise ConfigError(f"{where} ({sid}): 'owner' must be a name of at most 100 characters")
    return Source(id=sid, url=url, name=name, lang=lang or "en", interval_minutes=interval,
                  kind=kind, provenance=origin, match=match,
                  owner=provenance.owner_of(url, origin, owner.strip()))


def _no_unknown_keys(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            import difflib  # an error path, as above

            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def valid_feed_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
