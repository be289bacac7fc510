"""Shared fixtures. Data from ../shared is read in place, never copied into the repo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vigil.adapters.state.memory import MemoryKV
from vigil.services.store import Store

from tests.fakeslack import FakeSlack

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: CI always has it, a bare clone does not."""
    if not (SHARED_DATA / "dev-items.jsonl").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA} (tests using real feeds and labels need ../shared)")
    return SHARED_DATA


@pytest.fixture
def fake_slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A fake Slack Web API on loopback, with SLACK_API_URL pointing at it."""
    with FakeSlack() as fake:
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        yield fake


@pytest.fixture
def store() -> Iterator[Store]:
    """An empty in-memory store (files that need another backend define their own)."""
    s = Store(MemoryKV())
    yield s
    s.close()
