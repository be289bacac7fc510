"""`vigil sources check` against a loopback server: one row per source, problems named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vigil.adapters.http.fetch import ALLOW_PRIVATE_ENV
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.models import Source, SourceState
from vigil.entrypoints.cli import main
from vigil.services.store import Store

from tests.adapters.feedserver import FeedServer


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _away_from_local_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `sources check` reads .vigil/state.db when it exists: keep a developer's out of it.
    monkeypatch.chdir(tmp_path)


def sources_file(tmp_path: Path, server: FeedServer, routes: dict[str, str]) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        "".join(f'[[sources]]\nid = "{sid}"\nurl = "{server.url(route)}"\n\n' for sid, route in routes.items())
    )
    return path


def rows(output: str) -> dict[str, list[str]]:
    lines = output.strip().splitlines()
    return {line.split()[0]: line.split(None, 6) for line in lines[1:-1]}


def test_check_prints_status_items_latency_and_problem(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    path = sources_file(tmp_path, server, {"good": "/feed/good", "gone": "/status/404", "page": "/html"})

    code = main(["sources", "check", "--sources", str(path)])

    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:7] == ["id", "kind", "provenance", "status", "items", "latency", "ms"]
    table = rows(out)
    assert table["good"][:5] == ["good", "feed", "independent", "200", "3"]
    assert table["good"][6].startswith("newest: "), "a healthy source shows what it found"
    assert table["gone"][:5] == ["gone", "feed", "independent", "404", "-"] and table["gone"][6] == "HTTP 404"
    assert table["page"][3] == "200" and "HTML page" in table["page"][6]
    assert out.strip().endswith("1 ok, 2 failing")
    assert code == 1


def test_check_reports_the_ssrf_guard_refusal(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    path = sources_file(tmp_path, server, {"local": "/feed/local"})

    assert main(["sources", "check", "--sources", str(path)]) == 1

    problem = rows(capsys.readouterr().out)["local"][6]
    assert "refused" in problem and "loopback" in problem and ALLOW_PRIVATE_ENV in problem
    assert server.hits("/feed/local") == 0


def test_check_with_all_sources_healthy_exits_zero(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    path = sources_file(tmp_path, server, {"one": "/feed/one", "two": "/gzip/two"})
    assert main(["sources", "check", "--sources", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("2 ok, 0 failing")


def test_check_with_state_adds_slack_sources_and_stored_health(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a state where an admin added a source from Slack and another has been failing
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    state = tmp_path / "state.db"
    store = Store(SQLiteKV(state))
    store.put_custom_source(Source("added", server.url("/feed/added")))
    store.put_source_state(SourceState("good", consecutive_failures=3, last_error="HTTP 503"))
    store.close()
    path = sources_file(tmp_path, server, {"good": "/feed/good"})
    # When the sources are checked against that state
    code = main(["sources", "check", "--sources", str(path), "--state", str(state)])
    # Then the Slack-added source is checked too, and each row shows its stored health
    out = capsys.readouterr().out
    assert "stored health" in out.splitlines()[0]
    assert "3 failures" in next(line for line in out.splitlines() if line.startswith("good"))
    assert "never polled" in next(line for line in out.splitlines() if line.startswith("added"))
    assert out.strip().endswith("2 ok, 0 failing")
    assert code == 0


def test_check_with_a_missing_state_file_is_a_clear_error(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sources_file(tmp_path, server, {"good": "/feed/good"})
    assert main(["sources", "check", "--sources", str(path), "--state", str(tmp_path / "nope.db")]) == 2
    assert "state file not found" in capsys.readouterr().err
