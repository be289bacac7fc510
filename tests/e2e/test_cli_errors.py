"""The CLI's mistakes a newcomer makes get one line, never a traceback (issue 14)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

VIGIL = [sys.executable, "-m", "vigil.entrypoints.cli"]


def _vigil(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SLACK_SIGNING_SECRET": "e2e-secret"}
    return subprocess.run([*VIGIL, *args], capture_output=True, timeout=60, env=env, cwd=cwd, input=stdin)


def _one_line_error(result: subprocess.CompletedProcess[bytes], *expected: str) -> None:
    err = result.stderr.decode()
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for part in expected:
        assert part in err, err


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path, busy_port: int) -> None:
    result = _vigil("serve", "--port", str(busy_port), "--state", str(tmp_path / "s.db"), cwd=tmp_path)

    assert result.returncode == 2
    _one_line_error(result, f"cannot listen on 127.0.0.1:{busy_port}", "in use", "--port")


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_on_an_impossible_port_is_one_line(tmp_path: Path, port: str) -> None:
    result = _vigil("serve", "--port", port, cwd=tmp_path)

    assert result.returncode == 2
    assert "not a port (0..65535)" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.parametrize("host", ["no-such-host.invalid", "bad..host"])
def test_serve_on_a_host_that_does_not_resolve_is_one_line(tmp_path: Path, host: str) -> None:
    result = _vigil("serve", "--host", host, "--port", "0", "--state", str(tmp_path / "s.db"), cwd=tmp_path)

    assert result.returncode == 2
    _one_line_error(result, f"cannot listen on {host}:0")


def test_classify_on_a_directory_is_one_line(tmp_path: Path) -> None:
    result = _vigil("classify", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    _one_line_error(result, "is a directory")


@pytest.mark.parametrize("from_stdin", [False, True])
def test_classify_reports_a_line_that_is_not_utf8_and_classifies_the_rest(tmp_path: Path, from_stdin: bool) -> None:
    data = (b'{"title": "PLA drills around Taiwan"}\n'
            b'{"title": "caf\xe9 opens"}\n'
            b'{"title": "Sanctions on Russian banks"}\n')
    path = tmp_path / "items.jsonl"
    path.write_bytes(data)

    result = _vigil("classify", *([] if from_stdin else [str(path)]), cwd=tmp_path,
                    stdin=data if from_stdin else None)

    assert result.returncode == 0
    _one_line_error(result, "line 2: not UTF-8 (byte 0xe9 at column 15); skipped")
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == [
        "PLA drills around Taiwan", "Sanctions on Russian banks"]


def test_classify_into_head_exits_quietly(tmp_path: Path) -> None:
    # Given far more output than a pipe holds
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps({"title": f"PLA drills around Taiwan, day {n}"}) + "\n"
                            for n in range(3000)), encoding="utf-8")
    env = {**os.environ}
    proc = subprocess.Popen([*VIGIL, "classify", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    # When the reader takes the first lines and goes away, as `head -3` does
    first = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()
    err = proc.stderr.read().decode()
    # Then vigil stops quietly with status 0
    assert proc.wait(timeout=60) == 0, err
    assert err == ""
    assert all(json.loads(line)["topics"] == ["taiwan"] for line in first)
