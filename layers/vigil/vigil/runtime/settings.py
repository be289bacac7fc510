"""Typed settings of the Lambda functions, read from the environment once at cold start.

A function names the settings it needs; a missing or malformed one fails the cold
start with one message naming every problem, never a silent default. Secrets are not
settings: only the names of their SSM SecureString parameters are, and `secret()`
reads them through Powertools Parameters with caching.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import TYPE_CHECKING

from vigil.domain.errors import ConfigError

if TYPE_CHECKING:
    # Not at run time: the cycle module loads the classifier and the story clusterer,
    # which a function that never runs a cycle (notify, digest, slack) must not pay for.
    from vigil.services.cycle import CycleOptions

# Slack's documentation example: `vigil event` signs with it by default and the local
# setup in docs/AWS.md stores it. Public, so never for a real Slack app.
TEST_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - documented test value

# Secrets are re-read at most this often, so a rotated token is picked up without a deploy.
SECRET_MAX_AGE_SECONDS = 300
ALLOW_PRIVATE_ENV = "VIGIL_ALLOW_PRIVATE_NETWORKS"


class SettingsError(Exception):
    """The function's environment is incomplete or malformed (a deployment error)."""


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str = ""
    idempotency_table_name: str = ""
    alert_queue_url: str = ""
    fetch_queue_url: str = ""
    slack_job_queue_url: str = ""
    slack_token_param: str = ""
    slack_signing_secret_param: str = ""
    sources_per_batch: int = 125
    digest_interval_minutes: int = 60
    vigil_admins: str = ""
    slack_api_url: str = ""
    vigil_allow_private_networks: str = ""

    @property
    def admins(self) -> frozenset[str]:
        return admin_ids(self.vigil_admins)

    @property
    def allow_private_networks(self) -> bool:
        return is_on(self.vigil_allow_private_networks)


def admin_ids(raw: str) -> frozenset[str]:
    """Slack user ids allowed to add/remove sources (VIGIL_ADMINS), comma or space separated."""
    return frozenset(p for p in re.split(r"[\s,]+", raw) if p)


def is_on(raw: str | None) -> bool:
    """The one reading of a switch such as VIGIL_ALLOW_PRIVATE_NETWORKS: 1, true or yes."""
    return (raw or "").strip().lower() in ("1", "true", "yes")


def local_admins(env: Mapping[str, str] | None = None) -> frozenset[str]:
    env = os.environ if env is None else env
    return admin_ids(env.get("VIGIL_ADMINS", ""))


def env_name(field_name: str) -> str:
    return field_name.upper()


def load_settings(required: Iterable[str], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; `required` are env names (e.g. "TABLE_NAME") that must be set."""
    env = os.environ if environ is None else environ
    known = {env_name(f.name): f for f in fields(Settings)}
    problems = [f"unknown setting {name}" for name in required if name not in known]
    problems += [f"{name} is not set" for name in required if name in known and not env.get(name, "").strip()]
    values: dict[str, object] = {}
    for name, f in known.items():
        raw = env.get(name, "").strip()
        if not raw:
            continue
        if f.type in ("int", int):
            try:
                values[f.name] = int(raw)
            except ValueError:
                problems.append(f"{name} must be an integer, got {raw!r}")
        else:
            values[f.name] = raw
    settings = Settings(**values)  # type: ignore[arg-type]
    problems += _validate(settings, set(required))
    if problems:
        raise SettingsError("bad configuration: " + "; ".join(problems))
    return settings


def _validate(s: Settings, required: set[str]) -> list[str]:
    problems: list[str] = []
    if not 1 <= s.sources_per_batch <= 500:
        problems.append(f"SOURCES_PER_BATCH must be 1..500, got {s.sources_per_batch}")
    if not 1 <= s.digest_interval_minutes <= 1440:
        problems.append(f"DIGEST_INTERVAL_MINUTES must be 1..1440, got {s.digest_interval_minutes}")
    for name in ("SLACK_TOKEN_PARAM", "SLACK_SIGNING_SECRET_PARAM"):
        value = getattr(s, name.lower())
        if name in required and value and not value.startswith("/"):
            problems.append(f"{name} must be an SSM parameter name starting with '/', got {value!r}")
    return problems


def private_networks_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """VIGIL_ALLOW_PRIVATE_NETWORKS, read as the fetcher reads it (1, true or yes)."""
    env = os.environ if environ is None else environ
    return is_on(env.get(ALLOW_PRIVATE_ENV))


def secret(parameter_name: str) -> str:
    """A SecureString parameter's value, decrypted and cached for SECRET_MAX_AGE_SECONDS."""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(parameter_name, decrypt=True, max_age=SECRET_MAX_AGE_SECONDS)
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"SSM parameter {parameter_name} is empty")
    return value.strip()


# The cycle options read from the environment: CycleOptions field, variable (hours).
CYCLE_OPTION_VARIABLES = {
    "story_window": "VIGIL_STORY_WINDOW_HOURS",
    "backlog_grace": "VIGIL_BACKLOG_HOURS",
    "failing_after": "VIGIL_FAILING_AFTER_HOURS",
    "state_heartbeat": "VIGIL_STATE_HEARTBEAT_HOURS",
}


def cycle_option_values(env: Mapping[str, str] | None = None) -> dict[str, timedelta]:
    """The cycle options set by VIGIL_* variables (hours), as CycleOptions keyword arguments;
    a bad value is a ConfigError naming it. Checked at cold start without loading the cycle."""
    env = os.environ if env is None else env
    return {field: hours for field, name in CYCLE_OPTION_VARIABLES.items()
            if (hours := _hours(env, name)) is not None}


def cycle_options(env: Mapping[str, str] | None = None) -> CycleOptions:
    """Cycle options from VIGIL_* variables, the defaults for those not set."""
    from vigil.services.cycle import CycleOptions

    return CycleOptions(**cycle_option_values(env))


def _hours(env: Mapping[str, str], name: str) -> timedelta | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 24 * 365:
        raise ConfigError(f"environment: {name} must be a number of hours (0..8760), got {raw!r}")
    return timedelta(hours=hours)


def request_signing_secret(env: Mapping[str, str] | None = None) -> str:
    """What `vigil event` signs with: SLACK_SIGNING_SECRET when set (what a local
    `vigil serve` verifies with), else the documented test secret."""
    env = os.environ if env is None else env
    return env.get("SLACK_SIGNING_SECRET", "").strip() or TEST_SIGNING_SECRET


def signing_secret_warning(secret: str) -> str | None:
    """Why a server must not run with `secret`, or None: the test secret is public."""
    if secret != TEST_SIGNING_SECRET:
        return None
    return ("SLACK_SIGNING_SECRET is the documented test secret: anyone can sign requests with it "
            "(for local testing only; use your Slack app's own signing secret)")
