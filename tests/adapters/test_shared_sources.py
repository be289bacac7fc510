"""`vigil run --sources X` and a `vigil serve` on the same state use the same sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vigil.domain.errors import ConfigError
from vigil.runtime import local
from vigil.runtime.config import configured_sources
from vigil.runtime.local import run_once, slack_deps
from vigil.runtime.state import open_store
from vigil.services.commands import SlashCommand

SOURCES = """
[[sources]]
id = "harbor-ledger"
name = "Harbor Ledger"
url = "http://127.0.0.1:9/harbor.xml"

[[sources]]
id = "strait-watch"
url = "http://127.0.0.1:9/strait.xml"
"""


def _run(tmp_path: Path, sources: Path | None) -> None:
    run_once(sources_file=sources, topics_file=None, state=str(tmp_path / "s.db"), outbox=tmp_path / "o.jsonl",
             preview=False)


def _slash(tmp_path: Path, text: str, sources: str | None = None) -> str:
    store = open_store(str(tmp_path / "s.db"))
    try:
        deps = slack_deps(store, signing_secret="x", sources_file=sources, env={})
        return deps.commands.handle(SlashCommand(channel="C1", user="U1", text=text)).text
    finally:
        store.close()


class NoFeeds:
    """Reads nothing: these tests are about which sources, not what they say."""

    def read(self, sources: object, states: object) -> Iterator[object]:
        return iter(())

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "feed_reader", NoFeeds)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "my-sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    return path


def test_serve_without_sources_uses_the_file_vigil_run_polled(tmp_path: Path, sources: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given `vigil run --sources my-sources.toml` from another directory
    monkeypatch.chdir(tmp_path)
    _run(tmp_path, Path(sources.name))
    # When Slack asks the server on that state, started without --sources
    listing = _slash(tmp_path, "sources")
    muted = _slash(tmp_path, "mute harbor-ledger")
    # Then it lists and mutes what the run polls
    assert listing.startswith("*Sources (2, from `my-sources.toml`)*")
    assert "`strait-watch`" in listing and "reuters" not in listing.lower()
    assert "muted *Harbor Ledger*" in muted


def test_a_later_run_with_the_shipped_list_is_followed(tmp_path: Path, sources: Path) -> None:
    _run(tmp_path, sources)
    _run(tmp_path, None)

    shipped = len(configured_sources(None))
    assert _slash(tmp_path, "sources").startswith(f"*Sources ({shipped})*")


def test_sources_given_to_serve_win(tmp_path: Path, sources: Path) -> None:
    _run(tmp_path, None)

    assert "harbor-ledger" in _slash(tmp_path, "sources", sources=str(sources))


def test_a_recorded_file_that_is_gone_is_a_one_line_error(tmp_path: Path, sources: Path) -> None:
    _run(tmp_path, sources)
    sources.unlink()

    with pytest.raises(ConfigError, match="pass --sources FILE"):
        _slash(tmp_path, "sources")
