"""The concurrent and crash phases on a server that takes journal entries of at most 3,000
characters (issue 16, finding 2), with the index settings at their default: every process
learns the limit from a refusal, checkpoints go out in body objects (docs/design.md 4.6),
and nothing is lost, unreadable or wedged. (``python -m torture --only small`` runs both
phases on both backends.)"""

from __future__ import annotations

import pytest

from torture.configs import concurrent_config, crash_config, small_entries
from torture.runs import run_concurrent, run_crashes


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_concurrent_writers_on_a_small_entry_server() -> None:
    report = run_concurrent(small_entries(concurrent_config("conversations", faults=False)))
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.ops_failed == 0, report.summary()
    assert report.orphans == 0, report.summary()
    assert report.page_orphans == 0, report.summary()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_crashes_on_a_small_entry_server() -> None:
    report = run_crashes(small_entries(crash_config("threads")))
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.orphans == report.orphans_explained
