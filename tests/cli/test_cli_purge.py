"""purge: dry run, filters, confirmation, and an interrupted purge finished by a rerun."""

from __future__ import annotations

import itertools
import threading

import openai
import pytest


@pytest.fixture
def children_by_user(cli, root) -> tuple[list[str], list[str]]:
    """An index of 6 children of user=bob and 4 of user=al."""
    bob = cli("create", "-n", "6", "-m", "user=bob").lines
    al = cli("create", "-n", "4", "-m", "user=al").lines
    return bob, al


def test_dry_run_lists_and_deletes_nothing(cli, children_by_user, emulator) -> None:
    """--dry-run prints the IDs that would go (plain and JSON) and changes nothing."""
    _bob, al = children_by_user
    run = cli("purge", "--match", "user=al", "--dry-run")
    assert run.lines == al
    assert "4 children of 10 match (with user=al)" in run.stderr
    data = cli("purge", "--match", "user=al", "--dry-run", "--json").json()
    assert data["dry_run"] is True
    assert data["ids"] == al
    assert data["deleted"] == 0
    assert [c["metadata"] for c in data["children"]] == [{"user": "al"}] * 4
    assert set(al) <= emulator.live_ids("conversations")
    assert len(cli("ls").lines) == 10


def test_older_than_and_match(cli, children_by_user) -> None:
    """--older-than compares creation times; with --match both must hold."""
    bob, al = children_by_user
    assert cli("purge", "--older-than", "1h", "--dry-run").lines == []
    assert cli("purge", "--older-than", "0s", "--dry-run").lines == bob + al
    assert cli("purge", "--older-than", "0s", "--match", "user=bob", "--dry-run").lines == bob
    assert cli("purge", "--match", "user=al", "--match", "user=al", "--dry-run").lines == al
    cli("purge", "--match", "user=bob", "--match", "user=al", "--dry-run", expect=2)


def test_purge_deletes_with_yes(cli, children_by_user, emulator) -> None:
    """With --yes the matching children are deleted and unlisted; JSON reports it."""
    bob, al = children_by_user
    data = cli("purge", "--match", "user=bob", "--yes", "--json").json()
    assert data["deleted"] == 6
    assert data["ids"] == bob
    assert cli("ls").lines == al
    assert not set(bob) & emulator.live_ids("conversations")
    assert cli("verify", "--json").json()["ok"] is True
    nothing = cli("purge", "--match", "user=bob", "--yes")
    assert "Nothing to delete" in nothing.stderr


def test_purge_needs_a_confirmation(cli, children_by_user, monkeypatch) -> None:
    """No terminal and no --yes: exit 2; on a terminal, 'n' keeps everything, 'y' deletes."""
    bob, _al = children_by_user
    assert "--yes" in cli("purge", "--match", "user=al", expect=2).stderr
    monkeypatch.setattr("linkedthreads.cli._confirm.stdin_is_terminal", lambda: True)
    cli("purge", "--match", "user=al", input="n\n", expect=1)
    assert len(cli("ls").lines) == 10
    cli("purge", "--match", "user=al", input="y\n")
    assert cli("ls").lines == bob


@pytest.mark.slow
def test_interrupted_purge_is_finished_by_a_rerun(cli, root, emulator, monkeypatch) -> None:
    """Ctrl-C in the middle of the deletions: exit 130, the index stays consistent (at worst
    some children deleted but still listed), and the same command again finishes the job."""
    keep = cli("create", "-n", "3", "-m", "batch=new").lines
    doomed = cli("create", "-n", "120", "-m", "batch=old").lines
    command = ("purge", "--match", "batch=old", "--older-than", "0s", "--yes")
    real_delete = openai.resources.conversations.Conversations.delete
    counter = itertools.count(1)
    lock = threading.Lock()

    def delete_then_interrupt(self, conversation_id, **kwargs):
        with lock:
            n = next(counter)
        result = real_delete(self, conversation_id, **kwargs)
        if n == 105:  # in the second batch: deleted, but its record is not written
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(
        openai.resources.conversations.Conversations, "delete", delete_then_interrupt
    )
    first = cli(*command, expect=130)
    assert "Stopped after 100 of 120" in first.stderr
    assert "Run the same command again" in first.stderr
    assert first.stderr.strip().endswith("interrupted")
    monkeypatch.setattr(openai.resources.conversations.Conversations, "delete", real_delete)

    # Consistent in between: every listed ID is alive or merely dangling, nothing else.
    report = cli("verify", "--json", expect=None).json()
    assert report["problems"] == []
    assert report["duplicates"] == []
    listed = cli("ls").lines
    assert listed[:3] == keep
    assert listed[3:] == doomed[100:]
    live = emulator.live_ids("conversations")
    assert set(report["dangling"]) == set(listed) - live

    second = cli(*command, "--json").json()
    assert second["deleted"] == 20
    assert second["already_gone"] == len(report["dangling"])
    assert cli("ls").lines == keep
    assert cli("verify", "--json").json()["ok"] is True
    assert not set(doomed) & emulator.live_ids("conversations")
