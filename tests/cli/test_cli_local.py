"""--local: an embedded emulator whose state persists between commands, no key needed."""

from __future__ import annotations

import json
from pathlib import Path

from linkedthreads.cli._connection import STATE_FILE_NAME


def test_local_session_persists_between_commands(offline, tmp_path) -> None:
    """init/create/ls/purge with --local and no key; the state file keeps everything."""
    state = tmp_path / "elsewhere"
    offline.env["LINKEDTHREADS_STATE_DIR"] = str(state)
    run = offline("init", "--local")
    root = run.stdout.strip()
    assert "LINKEDTHREADS_LOCAL=1" in run.stderr
    assert "local emulator" in run.stderr
    offline.env["LINKEDTHREADS_ROOT"] = root
    made = offline("create", "--local", "-n", "3", "-m", "user=me").lines
    assert (state / STATE_FILE_NAME).exists()
    offline.env["LINKEDTHREADS_LOCAL"] = "1"  # the environment works as well as the flag
    assert offline("ls").lines == made
    assert offline("purge", "--match", "user=me", "--yes", "--json").json()["deleted"] == 3
    assert offline("ls").lines == []
    assert offline("stats", "--json").json()["local"] is True
    saved = json.loads((state / STATE_FILE_NAME).read_text())
    assert root in json.dumps(saved)


def test_local_root_is_not_on_the_server(cli, tmp_path) -> None:
    """A root made with --local is not found on the server, and the error says why."""
    root = cli("init", "--local").stdout.strip()
    run = cli("ls", "--root", root, expect=1)
    assert "created with --local" in run.stderr


def test_default_state_dir_is_the_users_app_dir(offline, monkeypatch, tmp_path) -> None:
    """Without LINKEDTHREADS_STATE_DIR the state goes to the app dir (XDG / HOME)."""
    monkeypatch.delenv("LINKEDTHREADS_STATE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    offline("init", "--local")
    found = list(Path(tmp_path).rglob(STATE_FILE_NAME))
    assert len(found) == 1
    assert "linkedthreads" in str(found[0])


def test_unreadable_state_file_is_a_clear_error(offline, tmp_path) -> None:
    """A damaged state file is reported with its path, not as a traceback."""
    state = tmp_path / "state"
    state.mkdir()
    (state / STATE_FILE_NAME).write_text("{not json")
    run = offline("init", "--local", expect=2)
    assert STATE_FILE_NAME in run.stderr
    assert "move it away" in run.stderr
