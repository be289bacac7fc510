"""Slack's Socket Mode for `vigil serve --socket-mode`: commands and button clicks over a
WebSocket that Vigil opens to Slack, so no public URL (tunnel) is needed.

slack_sdk's built-in client (`slack_sdk.socket_mode.builtin`) speaks WebSocket over the
standard library, so this needs no package beyond slack_sdk. Each envelope is handed to
one transport-neutral function, `handle(kind, payload) -> ack payload | None`, and then
acknowledged with that payload (Slack shows a slash command's acknowledgement payload
as the reply, as it does an HTTP response body).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient

from vigil.domain.errors import ConfigError, StoreError

log = logging.getLogger("vigil.adapters.slack.socket_mode")
# slack_sdk's client logs here: reconnects and dropped connections while running.
sdk_log = logging.getLogger("vigil.adapters.slack.socket_mode.client")

Handle = Callable[[str, Any], "dict[str, Any] | None"]
# What a slash command hears when the state store is down (the HTTP server's 503).
STORE_DOWN = {"response_type": "ephemeral", "text": "Vigil's state store is unavailable; try again in a moment."}


class SocketModeConnection:
    """A Socket Mode connection that hands every envelope to `handle` and acknowledges it."""

    def __init__(self, app_token: str, handle: Handle, *, api_url: str, ping_interval: float = 5.0) -> None:
        if not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-…): Slack app > Basic "
                              "Information > App-Level Tokens, with the connections:write scope")
        self._handle = handle
        self._client = SocketModeClient(app_token=app_token, web_client=WebClient(base_url=api_url),
                                        ping_interval=ping_interval, logger=sdk_log)
        self._client.socket_mode_request_listeners.append(self._on_request)

    def connect(self) -> None:
        """Open the connection (Slack's apps.connections.open, then the WebSocket); the
        client reconnects by itself later. ConfigError when Slack refuses or is unreachable."""
        level = sdk_log.level
        sdk_log.setLevel(logging.CRITICAL)  # a failure here is one ConfigError line, not a log dump too
        try:
            self._client.connect()
            problem = "" if self._client.is_connected() else (
                "the Socket Mode WebSocket did not open (is the URL Slack gave reachable?)")
        except SlackApiError as exc:
            problem = (f"Slack refused the Socket Mode connection: {exc.response.get('error')} "
                       "(check SLACK_APP_TOKEN and that Socket Mode is on for the app)")
        except (SlackClientError, OSError) as exc:
            problem = f"cannot reach Slack for Socket Mode: {exc}"
        finally:
            sdk_log.setLevel(level)
        if problem:
            self._client.close()  # its worker threads started with it
            raise ConfigError(problem)

    def is_connected(self) -> bool:
        return self._client.is_connected()

    def close(self) -> None:
        self._client.close()

    def _on_request(self, client: Any, request: SocketModeRequest) -> None:
        try:
            payload = self._handle(request.type, request.payload)
        except StoreError as exc:
            log.error("state store unavailable: %s", exc)
            payload = STORE_DOWN if request.type == "slash_commands" else None
        except Exception:
            # Acknowledge anyway: unacknowledged, Slack resends the envelope and warns the user.
            log.exception("socket mode envelope failed type=%s", request.type)
            payload = None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))
