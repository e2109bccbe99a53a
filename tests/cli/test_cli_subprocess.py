"""Real processes: the module entry point, the console script, the foreground emulator."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINKEDTHREADS_", "OPENAI_", "AZURE_"))
    }
    env.update(extra)
    return env


def test_demo_runs_as_a_process(tmp_path: Path) -> None:
    """python -m linkedthreads.cli demo: exit 0, a table on stdout, nothing alarming on stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "linkedthreads.cli", "demo", "--children", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(NO_COLOR="1"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Create 50 conversations" in proc.stdout
    assert "50 IDs, in order" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert "Warning" not in proc.stderr
    assert "\x1b[" not in proc.stdout


def test_console_script_and_exit_codes() -> None:
    """The installed `linkedthreads` script answers; a missing key exits 4."""
    script = shutil.which("linkedthreads", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the linkedthreads console script is not installed")
    assert subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=60
    ).stdout.startswith("linkedthreads ")
    proc = subprocess.run(
        [script, "ls", "--root", "conv_x"], capture_output=True, text=True, timeout=60, env=_env()
    )
    assert proc.returncode == 4
    assert proc.stderr.startswith("error: no API key")


def test_emulator_command_serves_until_ctrl_c(offline) -> None:
    """`emulator --port 0` prints its URL first; the CLI works against it; SIGINT stops it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkedthreads.cli", "emulator", "--port", "0", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        # Background processes may inherit an ignored SIGINT; give it back its default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        offline.env.update({"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "anything"})
        root = offline("init").stdout.strip()
        assert offline("create", "--root", root, "-n", "2").lines
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"export OPENAI_BASE_URL={url}" in err
    assert "emulator stopped" in err
