"""Crashes: writers killed with SIGKILL at random moments, many times. After each death a
fresh process opens the root, lists, counts and looks up (its results are judged against
the history like any observation); at the end the final list is judged, every orphan must
be a create call that was interrupted before its record (the window of docs/design.md
8.2: one request for create_child, one batch for create_children), and
verify(repair=True) forgets every dangling ID and nothing else."""

from __future__ import annotations

import dataclasses

import pytest

from torture.configs import BACKENDS, crash_config, repeats
from torture.report import merge
from torture.runs import run_crashes


@pytest.mark.slow
@pytest.mark.timeout(240 * repeats())
@pytest.mark.parametrize("backend", BACKENDS)
def test_crashes(backend: str) -> None:
    """SIGKILLs by the parent (mid-request) and by the writers themselves (just before or
    after a request): nothing acknowledged is lost, every orphan is in the window."""
    kills = crash_config(backend).kills * repeats()
    report = merge([run_crashes(crash_config(backend, trial=i)) for i in range(repeats())])
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.crashes >= kills
    assert report.observations >= kills
    assert report.orphans == report.orphans_explained


@pytest.mark.timeout(240)
def test_a_few_crashes() -> None:
    """The fast loop's crash trial: the run above on conversations, with 3 SIGKILLs by the
    parent instead of 12 (``test_crashes`` runs both backends in full)."""
    cfg = dataclasses.replace(crash_config("conversations"), kills=3)
    report = run_crashes(cfg)
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.crashes >= cfg.kills
    assert report.observations >= cfg.kills
    assert report.orphans == report.orphans_explained
