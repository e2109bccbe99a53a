"""Scopes under torture (``scope_race.py``): processes racing to make and write the same new
scopes, plain, under faults (failed requests, lost answers), under SIGKILLs, and all of
them at once ("chaos"). Each run
must find one scope per name, 0 lost, 0 ghosts, 0 duplicates, and every root of the losing
side of a race accounted for (docs/design.md 4.8 and 8.2). The normal suite runs plain and
chaos, 2 new scopes each (about 6 seconds a run); the ``slow`` runs race for 6 new scopes in
each mode, repeated ``LINKEDTHREADS_TORTURE_SCALE`` times."""

from __future__ import annotations

import pytest

from .harness import BACKENDS, repeats
from .scope_race import merge_scope_reports, run_scope_race, scope_config

SHORT = ("plain", "chaos")
LONG = ("plain", "faults", "crashes", "chaos")


def check(backend: str, mode: str, *, long: bool) -> None:
    trials = repeats() if long else 1
    report = merge_scope_reports(
        [run_scope_race(scope_config(backend, mode, i, long=long)) for i in range(trials)]
    )
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.scopes_made >= (2 if not long else 6), report.summary()
    assert report.observations > 0, report.summary()
    if mode == "plain":
        assert report.ops_failed == 0, report.summary()
        assert report.orphans == 0, report.summary()
        assert report.losers_unrecorded == 0, report.summary()
    if mode in ("faults", "chaos"):
        assert report.faults.get("lost_response", 0) > 0, report.faults
    if mode in ("crashes", "chaos"):
        assert report.crashes > 0, report.summary()
    assert report.orphans == report.orphans_explained, report.summary()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", SHORT)
@pytest.mark.parametrize("backend", BACKENDS)
def test_racing_for_new_scopes(backend: str, mode: str) -> None:
    check(backend, mode, long=False)


@pytest.mark.slow
@pytest.mark.timeout(300 * repeats())
@pytest.mark.parametrize("mode", LONG)
@pytest.mark.parametrize("backend", BACKENDS)
def test_racing_for_new_scopes_long(backend: str, mode: str) -> None:
    check(backend, mode, long=True)
