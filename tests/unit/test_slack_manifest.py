"""The Slack app manifest asks for only the scopes Vigil needs and points at its endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigil.services.slack_requests import COMMANDS_PATH, INTERACTIONS_PATH

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the dev extras (cfn-lint)")
MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yaml"


def test_manifest_requests_minimal_scopes_and_our_endpoints() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))

    # History only to reconcile posts whose outcome a crash left unknown (docs/SLACK.md).
    assert manifest["oauth_config"]["scopes"]["bot"] == ["commands", "chat:write", "channels:history",
                                                         "groups:history"]
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/vigil"
    assert command["url"].endswith(COMMANDS_PATH)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["interactivity"]["request_url"].endswith(INTERACTIONS_PATH)


SOCKET_MANIFEST = MANIFEST.with_name("manifest-socket-mode.yaml")


def test_socket_mode_manifest_is_the_same_app_without_urls() -> None:
    http = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    socket = yaml.safe_load(SOCKET_MANIFEST.read_text(encoding="utf-8"))

    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]
    assert "request_url" not in socket["settings"]["interactivity"]
    # Everything else is the HTTP app's.
    del http["features"]["slash_commands"][0]["url"], http["settings"]["interactivity"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http
