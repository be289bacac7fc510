"""`vigil serve` started with the documented test signing secret says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from vigil.entrypoints.events import TEST_SIGNING_SECRET

pytestmark = pytest.mark.slow

VIGIL = Path(sys.executable).with_name("vigil")


def start_and_stop(tmp_path: Path, secret: str) -> tuple[str, str]:
    """Start `vigil serve` with `secret`, wait until it listens, stop it: (stdout, stderr)."""
    env = {**os.environ, "SLACK_SIGNING_SECRET": secret, "VIGIL_LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen([str(VIGIL), "serve", "--port", "0", "--state", str(tmp_path / "state.db")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        first = proc.stdout.readline() if proc.stdout else ""
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    return first + out, err


def test_serve_with_the_test_signing_secret_warns_once_and_still_serves(tmp_path: Path) -> None:
    out, err = start_and_stop(tmp_path, TEST_SIGNING_SECRET)

    assert "listening on http://" in out
    assert err.splitlines() == [
        "vigil serve: warning: SLACK_SIGNING_SECRET is the documented test secret: anyone can sign requests "
        "with it (for local testing only; use your Slack app's own signing secret)"
    ]


def test_serve_with_its_own_signing_secret_does_not_warn(tmp_path: Path) -> None:
    out, err = start_and_stop(tmp_path, "an-apps-own-secret")

    assert "listening on http://" in out
    assert "warning" not in err
