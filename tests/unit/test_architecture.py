"""The import rules (pyproject.toml [tool.importlinter], docs/CONTRIBUTING.md) hold, and
import-linter really catches a break: a copy of the package with one wrong import fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is a dev dependency: pip install -e '.[dev]'")

pytestmark = pytest.mark.slow  # each test runs lint-imports in a process

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the tree at `root` (its pyproject.toml, its vigil and functions)."""
    # The tree at `root` first, so its vigil shadows any installed one.
    path = [str(root / "layers" / "vigil"), str(root), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    return subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def copy_tree(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "data")
    shutil.copytree(REPO / "layers" / "vigil" / "vigil", dest / "layers" / "vigil" / "vigil", ignore=ignore)
    shutil.copytree(REPO / "functions", dest / "functions", ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(REPO)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_boto3_in_a_domain_module_breaks_the_contracts(tmp_path: Path) -> None:
    # Given a copy of the tree whose domain imports boto3
    root = copy_tree(tmp_path)
    with (root / "layers" / "vigil" / "vigil" / "domain" / "models.py").open("a", encoding="utf-8") as fh:
        fh.write("\nimport boto3  # noqa\n")
    # When import-linter checks it
    result = lint_imports(root)
    # Then it fails and names the import
    assert result.returncode != 0
    assert "vigil.domain.models -> boto3" in result.stdout


@pytest.mark.parametrize(("module", "line", "reported"), [
    ("layers/vigil/vigil/services/fanout.py", "from http.server import HTTPServer", "vigil.services.fanout -> http"),
    ("layers/vigil/vigil/adapters/sqs.py", "from vigil.services import store",
     "vigil.adapters.sqs -> vigil.services.store"),
    ("layers/vigil/vigil/domain/text.py", "from vigil.render import slack", "vigil.domain.text -> vigil.render.slack"),
    ("layers/vigil/vigil/entrypoints/cli.py", "from vigil.adapters import sqs",
     "vigil.entrypoints.cli -> vigil.adapters.sqs"),
    ("functions/poll/app.py", "from vigil.adapters.state import dynamodb",
     "functions.poll.app -> vigil.adapters.state.dynamodb"),
], ids=["service-http", "adapter-imports-service", "domain-imports-render", "cli-imports-adapter",
        "handler-imports-adapter"])
def test_each_kind_of_wrong_import_is_caught(tmp_path: Path, module: str, line: str, reported: str) -> None:
    root = copy_tree(tmp_path)
    with (root / module).open("a", encoding="utf-8") as fh:
        fh.write(f"\n{line}  # noqa\n")

    result = lint_imports(root)

    assert result.returncode != 0
    assert reported in result.stdout
