"""demo in-process: every step ran, the counts agree, both backends."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("backend", ["conversations", "threads"])
def test_demo_json(offline, backend: str) -> None:
    """demo --json: seven steps, ok, the library's and the emulator's counts agree."""
    data = offline("demo", "--backend", backend, "--children", "30", "--json").json()
    assert data["ok"] is True
    assert data["backend"] == backend
    assert len(data["steps"]) == 7
    assert data["requests"] == data["served"] == sum(s["requests"] for s in data["steps"])
    assert data["steps"][2]["result"] == "30 IDs, in order"
    assert data["steps"][5]["result"] == "20 IDs recovered"


def test_demo_table(offline) -> None:
    """The human output is a table of steps and a few lines of explanation."""
    out = offline("demo", "--children", "12", env={"COLUMNS": "100"}).stdout
    for text in (
        "Create 12 conversations",
        "Reopen from the root ID",
        "Verify",
        "Total",
        "linkedthreads init --local",
    ):
        assert text in out
