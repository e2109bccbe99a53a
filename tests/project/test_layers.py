"""The layers declared in ``pyproject.toml`` (import-linter contracts) hold, and bite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("importlinter")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    script = (
        "import sys; sys.path.insert(0, '.');"
        "from importlinter.cli import lint_imports_command; lint_imports_command()"
    )
    return subprocess.run(
        [sys.executable, "-c", script, "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for package in ("linkedthreads", "torture"):  # the root packages of the contracts
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_declared_layers_hold(tmp_path: Path) -> None:
    """Every import-linter contract of the project is kept by the package as it is."""
    result = _lint_imports(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("_codec.py", "from . import _protocol"),
        ("_journal.py", "import openai"),
        ("emulator/_models.py", "from .. import _codec"),
        ("_protocol/state.py", "from . import reading"),
        ("_protocol/writing.py", "from .reading import read_view"),
        ("cli/_parse.py", "from .._protocol import flow"),
        ("_protocol/commit_queue.py", "import threading"),
        ("_protocol/children.py", "from . import plans"),
        ("_objects.py", "import torture"),
        ("../torture/history.py", "from . import scope_checks"),  # the harness's own layers
    ],
)
def test_a_deliberate_upward_import_fails_the_contracts(
    tmp_path: Path, module: str, upward: str
) -> None:
    """An import that reaches up a layer (or out of the emulator, or past the public API of
    the command line) makes ``lint-imports`` fail."""
    tree = _copy_tree(tmp_path)
    path = tree / "linkedthreads" / module
    text = path.read_text()
    head, sep, rest = text.partition("from __future__ import annotations\n")
    path.write_text(head + sep + upward + "  # noqa\n" + rest)
    result = _lint_imports(tree)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout.upper()
