"""Many people changing one channel's settings at once: every change Vigil confirms is stored.

SQLite through the real `vigil serve` (one process, one state file, a thread per request)
and DynamoDB through moto's server (the Lambda's code path, commands on threads).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.models import ChannelSettings, Severity, Source, Topic
from vigil.entrypoints.events import command_body, interaction_body, signed_headers
from vigil.render.slack import ACTION_MUTE_SOURCE
from vigil.services.commands import Commands, SlashCommand
from vigil.services.store import Store

from tests.aws_stack import moto_client, moto_dynamodb_server
from tests.fakeslack import FakeSlack

pytestmark = pytest.mark.slow

T = TypeVar("T")
SECRET = "e2e-concurrency-secret"
VIGIL = Path(sys.executable).with_name("vigil")
TABLE = "vigil-settings-e2e"
SOURCES = [Source(f"outlet-{i:02d}", f"https://outlet{i:02d}.example/feed") for i in range(20)]
TOPICS = [Topic("taiwan", "Taiwan", '"taiwan"')]
# One of each kind of change, all aimed at one channel at the same instant.
MIXED = ["threshold urgent", "pause", "digest hourly", "mute outlet-00", "mute outlet-01"]


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(released, calls))


def confirmed(reply: dict[str, Any]) -> bool:
    """Vigil tells the channel about a change it made (in_channel); never about one it did not."""
    return reply.get("response_type") == "in_channel"


def assert_mixed_changes_stored(settings: ChannelSettings) -> None:
    assert settings.threshold is Severity.URGENT
    assert settings.paused
    assert settings.digest == "hourly"
    assert {"outlet-00", "outlet-01"} <= settings.muted_sources


# ---------------------------------------------------------------- SQLite through `vigil serve`


@pytest.fixture
def serve(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[tuple[str, Path]]:
    """`vigil serve` on a free port over a fresh SQLite state; yields (base URL, state path)."""
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(f'[[sources]]\nid = "{s.id}"\nurl = "{s.url}"\n\n' for s in SOURCES),
                       encoding="utf-8")
    state = tmp_path / "state.db"
    env = {**os.environ, "SLACK_SIGNING_SECRET": SECRET, "VIGIL_ALLOW_PRIVATE_NETWORKS": "1"}
    proc = subprocess.Popen([str(VIGIL), "serve", "--port", "0", "--state", str(state), "--sources", str(sources)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://" in line, (line, proc.stderr.read() if proc.stderr else "")
        yield line.split("listening on ", 1)[1].split()[0], state
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def post(url: str, body: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body.encode(), headers=signed_headers(SECRET, body), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def slash(base: str, text: str, channel: str) -> Callable[[], dict[str, Any]]:
    def call() -> dict[str, Any]:
        status, body = post(f"{base}/slack/commands", command_body(text, channel=channel))
        assert status == 200, body
        return json.loads(body)

    return call


def click_mute(base: str, source: str, channel: str, response_url: str) -> Callable[[], int]:
    body = interaction_body(ACTION_MUTE_SOURCE, {"story": "s1", "topic": "taiwan", "source": source, "item": "k"},
                            channel=channel, response_url=response_url)
    return lambda: post(f"{base}/slack/interactions", body)[0]


def stored_settings(state: Path, channel: str) -> ChannelSettings:
    store = Store(SQLiteKV(state))
    try:
        return store.get_channel(channel)
    finally:
        store.close()


def test_twenty_concurrent_mutes_through_serve_are_all_stored(serve: tuple[str, Path]) -> None:
    base, state = serve

    replies = at_once([slash(base, f"mute {s.id}", "C-MUTES") for s in SOURCES])

    assert all(confirmed(r) for r in replies), [r["text"] for r in replies if not confirmed(r)]
    assert stored_settings(state, "C-MUTES").muted_sources == {s.id for s in SOURCES}


def test_racing_threshold_pause_digest_and_mutes_through_serve_keep_every_change(
    serve: tuple[str, Path], fake_slack: FakeSlack
) -> None:
    base, state = serve
    channels = [f"C-MIX{n}" for n in range(4)]
    commands = [slash(base, text, channel) for channel in channels for text in MIXED]
    clicks = [click_mute(base, "outlet-02", channel, f"{fake_slack.base_url}/actions/{channel}")
              for channel in channels]

    results = at_once([*commands, *clicks])

    assert all(confirmed(r) for r in results[:len(commands)])
    assert results[len(commands):] == [200] * len(clicks)
    for channel in channels:
        settings = stored_settings(state, channel)
        assert_mixed_changes_stored(settings)
        assert "outlet-02" in settings.muted_sources


# ---------------------------------------------------------------- DynamoDB through moto's server


@pytest.fixture
def dynamo_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[Commands]:
    """`/vigil` over a DynamoKV on moto's server, shared by every thread (as one Lambda container)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with moto_dynamodb_server(monkeypatch, TABLE) as endpoint:
        client = moto_client(endpoint, max_pool_connections=64, retries={"mode": "standard", "max_attempts": 5})
        yield Commands(Store(DynamoKV(TABLE, client)), TOPICS, SOURCES)


def run_command(commands: Commands, text: str, channel: str) -> Callable[[], dict[str, Any]]:
    return lambda: commands.handle(SlashCommand(channel=channel, user="U1", text=text)).as_slack()


def test_twenty_concurrent_mutes_on_dynamodb_are_all_stored(dynamo_commands: Commands) -> None:
    replies = at_once([run_command(dynamo_commands, f"mute {s.id}", "C-MUTES") for s in SOURCES])

    assert all(confirmed(r) for r in replies), [r["text"] for r in replies if not confirmed(r)]
    assert dynamo_commands.store.get_channel("C-MUTES").muted_sources == {s.id for s in SOURCES}


def test_racing_threshold_pause_digest_and_mutes_on_dynamodb_keep_every_change(
    dynamo_commands: Commands,
) -> None:
    channels = [f"C-MIX{n}" for n in range(4)]

    replies = at_once([run_command(dynamo_commands, text, channel) for channel in channels for text in MIXED])

    assert all(confirmed(r) for r in replies)
    for channel in channels:
        assert_mixed_changes_stored(dynamo_commands.store.get_channel(channel))
