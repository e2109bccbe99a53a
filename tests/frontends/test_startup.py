"""Start-up imports only what a command needs (issue 21): structural checks, not timings.

Each check runs in a fresh interpreter and reads ``sys.modules`` afterwards. ``import openai``
imports ``openai.types`` wholesale (about a second on 2 cores, through pydantic and httpx),
so the package, the CLI's help and argument errors, and the emulator must not import it;
the SDK is imported when a client is first used. The timings are in benchmarks/ (start-up).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

# The SDK and what only it pulls in: none of these may be imported before a client is used.
# (pydantic is not among them: typer imports it to convert a command's options.)
HEAVY = ("openai", "openai.types", "httpx")

_REPORT = """
import json, sys
_OUT = sys.argv[1]
def _report():
    with open(_OUT, "w") as f:
        json.dump(sorted(sys.modules), f)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINKEDTHREADS_", "OPENAI_"))}
    env["NO_COLOR"] = "1"
    return env


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (which may exit)."""
    out = tmp_path / "modules.json"
    script = _REPORT + "import atexit; atexit.register(_report)\n" + code
    proc = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert out.exists(), proc.stderr
    return set(json.loads(out.read_text()))


def _cli(*argv: str) -> str:
    return (
        f"sys.argv = ['linkedthreads', *{list(argv)!r}]\n"
        "from linkedthreads.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.startswith("openai."))


def test_importing_the_package_imports_no_sdk(tmp_path: Path) -> None:
    modules = _modules_after("import linkedthreads", tmp_path)
    assert "linkedthreads" in modules
    assert _heavy(modules) == []


def test_public_names_import_no_sdk_until_a_client_is_used(tmp_path: Path) -> None:
    """The front ends resolve lazily (PEP 562) and still do not need the SDK to load."""
    modules = _modules_after(
        "from linkedthreads import AsyncThreadIndex, CHILD_TAG_KEY, IndexSettings, ThreadIndex\n"
        "assert CHILD_TAG_KEY == 'linkedthreads'\n",
        tmp_path,
    )
    assert {"linkedthreads._index", "linkedthreads._async_index"} <= modules
    assert _heavy(modules) == []


def test_the_sdk_loads_when_a_client_is_used(tmp_path: Path) -> None:
    """The lazy imports are where they must be: opening on a client works (and loads it)."""
    modules = _modules_after(
        "from linkedthreads import ThreadIndex\n"
        "try:\n    ThreadIndex.open(object(), 'conv_' + '0' * 48)\n"
        "except TypeError as exc:\n    assert 'openai.OpenAI' in str(exc), exc\n"
        "else:\n    raise AssertionError('a non-client was accepted')\n",
        tmp_path,
    )
    assert "openai" in modules


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("--help",), id="help"),
        pytest.param(("--version",), id="version"),
        pytest.param(("ls", "--help"), id="command-help"),
        pytest.param(("emulator", "--help"), id="emulator-help"),
        pytest.param(("ls", "--no-such-option"), id="argument-error"),
        pytest.param(("no-such-command",), id="unknown-command"),
    ],
)
def test_cli_help_and_argument_errors_import_no_sdk(argv: tuple[str, ...], tmp_path: Path) -> None:
    modules = _modules_after(_cli(*argv), tmp_path)
    assert "linkedthreads.cli" in modules
    assert _heavy(modules) == []


def test_importing_the_emulator_imports_no_sdk(tmp_path: Path) -> None:
    modules = _modules_after("import linkedthreads.emulator, linkedthreads.testing", tmp_path)
    assert "starlette" in modules
    assert _heavy(modules) == []


def test_the_emulator_command_serves_without_the_sdk() -> None:
    """`linkedthreads emulator` answers requests; ``-X importtime`` lists every module the
    process imported, and none is the SDK's."""
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "linkedthreads.cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        request = urllib.request.Request(
            url + "/conversations",
            data=b'{"metadata": {}}',
            headers={"Authorization": "Bearer x", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.loads(answer.read())["id"].startswith("conv_")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    imported = {
        line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")
    }
    assert "linkedthreads.emulator" in imported
    assert "starlette" in imported
    assert _heavy(imported) == []
