"""Concurrent writers, with and without faults: P processes on one index through one
emulator, each running a seeded random mix of create_child, create_children, add,
remove, delete (and their bulk forms), all(), in, len(), compact() and compact(full=True),
every call logged with its start and end. The checker (``torture.history.History``) then judges
every all() and `in` seen during the run and the final list: no acknowledged entry lost,
no removed entry listed (ghost), no duplicate, the order of non-overlapping adds kept;
every orphan explained by the documented window.

Settings (``torture.settings.torture_settings``): compact_every=8, bulk_batch=4, max_overlay=24,
gc_grace_seconds=4, pages of 32 IDs, 100 IDs compacted into pages before the writers start.
LINKEDTHREADS_TORTURE_SCALE=N repeats each run N times with other seeds.
"""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS_THREADS_SLOW
from torture.configs import BACKENDS, concurrent_config, repeats
from torture.report import merge
from torture.runs import run_concurrent

TIMEOUT = 240 * repeats()


def trials(backend: str, *, faults: bool):  # type: ignore[no-untyped-def]
    return merge(
        [
            run_concurrent(concurrent_config(backend, faults=faults, trial=i))
            for i in range(repeats())
        ]
    )


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_concurrent_writers(backend: str) -> None:
    """Eight processes, no faults: the history holds, nothing is orphaned, destroy() leaves
    nothing of the index behind."""
    report = trials(backend, faults=False)
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.observations > 20
    assert report.ops_failed == 0, report.summary()
    assert report.orphans == 0, report.summary()
    assert report.page_orphans == 0, report.summary()


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_writers_under_faults(backend: str) -> None:
    """Four processes of two threads sharing an instance, with 20% of requests failing
    (429 + retry-after, 500, 503, cut connections) and 20% of writes losing their answer:
    the history still holds; every orphan comes from a create whose answer was lost."""
    report = trials(backend, faults=True)
    print(report.summary())
    assert not report.problems, report.summary()
    faults = report.faults
    assert all(faults[k] > 0 for k in ("429", "500", "503", "drop", "lost_response")), faults
    assert report.orphans == report.orphans_explained
