"""`vigil event ...`: freshly signed Slack requests for `sam local` and curl.

Slack signs each request with the app's signing secret and the handler rejects any
request older than 5 minutes, so a signed sample event goes stale. Instead of
weakening verification for local runs, this writes a request signed *now*:

    vigil event slack-command "subscribe taiwan" > /tmp/cmd.json
    sam local invoke SlackFunction -e /tmp/cmd.json --env-vars events/env.json
    vigil event slack-command "status" --format curl --url http://127.0.0.1:3000 | sh

`--url` is the server's base URL; the path (/slack/commands or /slack/interactions)
is added. Requests are signed with SLACK_SIGNING_SECRET when it is set (what a local
`vigil serve` verifies with), else with TEST_SIGNING_SECRET (Slack's documentation
example), which the local setup in docs/AWS.md stores as the signing-secret
parameter; `--secret` overrides both. Never use the test secret for a real Slack app.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import shlex
import time
from typing import Any
from urllib.parse import urlencode

from vigil.runtime.settings import TEST_SIGNING_SECRET as TEST_SIGNING_SECRET  # re-exported for tests and docs
from vigil.runtime.settings import request_signing_secret

DEFAULT_CHANNEL = "C0TESTCHAN"
DEFAULT_USER = "U0TESTUSER"
DEFAULT_RESPONSE_URL = "https://hooks.slack.com/commands/T0TESTTEAM/1/test"


def signature(secret: str, timestamp: int, body: str) -> str:
    """Slack's v0 request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature(secret, ts, body),
    }


def command_body(text: str, *, channel: str = DEFAULT_CHANNEL, user: str = DEFAULT_USER,
                 response_url: str = DEFAULT_RESPONSE_URL) -> str:
    return urlencode({
        "token": "unused", "team_id": "T0TESTTEAM", "team_domain": "vigil-test",
        "channel_id": channel, "channel_name": "vigil-test", "user_id": user, "user_name": "tester",
        "command": "/vigil", "text": text, "api_app_id": "A0TESTAPP",
        "response_url": response_url, "trigger_id": "1.2.test",
    })


def interaction_body(action_id: str, value: dict[str, str], *, channel: str = DEFAULT_CHANNEL,
                     user: str = DEFAULT_USER, response_url: str = DEFAULT_RESPONSE_URL) -> str:
    """A block_actions payload as Slack posts it for a click on an alert button."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "tester"},
        "team": {"id": "T0TESTTEAM"},
        "channel": {"id": channel, "name": "vigil-test"},
        "container": {"type": "message", "channel_id": channel, "message_ts": "1700000000.000100"},
        "response_url": response_url,
        "message": {"ts": "1700000000.000100", "text": "alert", "blocks": []},
        "actions": [{
            "type": "button", "action_id": action_id, "block_id": "vigil_actions",
            "value": json.dumps(value, separators=(",", ":")), "action_ts": "1700000001.000200",
        }],
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def http_api_event(path: str, body: str, headers: dict[str, str], *, base64_body: bool = True) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the slack function receives it."""
    # HTTP API base64-encodes form bodies; the handler must verify the decoded bytes.
    encoded = base64.b64encode(body.encode()).decode() if base64_body else body
    ts = int(headers.get("x-slack-request-timestamp", "0"))
    return {
        "version": "2.0",
        "routeKey": f"POST {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "localhost", "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                    "content-length": str(len(body)), **headers},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "domainPrefix": "localhost", "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                                  "sourceIp": "127.0.0.1", "userAgent": "Slackbot 1.0"},
            "requestId": f"local-{ts}", "routeKey": f"POST {path}", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(ts)), "timeEpoch": ts * 1000,
        },
        "body": encoded,
        "isBase64Encoded": base64_body,
    }


def curl_command(url: str, body: str, headers: dict[str, str]) -> str:
    args = ["curl", "-sS", "-X", "POST", url]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    args += ["--data-raw", body]
    return " ".join(shlex.quote(a) for a in args)


# ---------------------------------------------------------------- CLI


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `vigil event` on the main CLI's subparsers."""
    p = sub.add_parser("event", help="write a freshly signed Slack request (for sam local / curl)")
    add_arguments(p)
    p.set_defaults(handler=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["slack-command", "slack-interaction"])
    p.add_argument("text", nargs="?", default="help",
                   help="slash command text, or the action id for slack-interaction (default: help)")
    p.add_argument("--secret", default=None,
                   help="signing secret (default: $SLACK_SIGNING_SECRET if set, else the documented test secret)")
    p.add_argument("--channel", default=DEFAULT_CHANNEL)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--response-url", default=DEFAULT_RESPONSE_URL)
    p.add_argument("--story", default="", help="story id for slack-interaction buttons")
    p.add_argument("--source", default="", help="source id for the mute button")
    p.add_argument("--format", choices=["event", "curl"], default="event",
                   help="event: HTTP API event JSON for sam local invoke; curl: a curl command")
    p.add_argument("--url", default="http://127.0.0.1:3000",
                   help="base URL for --format curl (sam local start-api / vigil serve)")


def build(args: argparse.Namespace, timestamp: int | None = None) -> str:
    if args.kind == "slack-command":
        path = "/slack/commands"
        body = command_body(args.text, channel=args.channel, user=args.user, response_url=args.response_url)
    else:
        path = "/slack/interactions"
        value = {"story": args.story, "topic": "", "source": args.source, "item": ""}
        action = args.text if args.text != "help" else "vigil_relevant"
        body = interaction_body(action, value, channel=args.channel, user=args.user,
                                response_url=args.response_url)
    headers = signed_headers(args.secret or request_signing_secret(), body, timestamp)
    if args.format == "curl":
        return curl_command(args.url.rstrip("/") + path, body, headers)
    return json.dumps(http_api_event(path, body, headers), indent=2)


def run(args: argparse.Namespace) -> int:
    print(build(args))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigil event", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
