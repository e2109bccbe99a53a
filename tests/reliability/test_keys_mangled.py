"""The torture runs on a server that alters non-ASCII metadata keys (issue 16, finding 1).

The index is made and seeded with dense pages while the emulator keeps keys; then it
replaces each non-ASCII character of a key by ``?`` (``metadata_keys="ascii_replace"``), as
a server the record does not rule out would. Every page written during the run fails its
write-time check once, the writer that met it falls back to ASCII, its checkpoint says so and
every other process follows (docs/design.md 5.4). The history checker judges the run as any
other: nothing lost, no ghost, every fresh process reads the index, nothing wedged (every
operation finished without error), every orphan explained.
"""

from __future__ import annotations

import pytest

from torture.configs import BACKENDS, concurrent_config, crash_config, keys_mangled
from torture.runs import run_concurrent, run_crashes


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_writers_on_a_server_that_mangles_keys(backend: str) -> None:
    report = run_concurrent(keys_mangled(concurrent_config(backend, faults=False)))
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.ops_failed == 0, report.summary()  # nothing wedged
    assert report.orphans == 0, report.summary()
    assert report.page_orphans == 0, report.summary()
    assert report.ascii_checkpoints > 0, report.summary()  # the run did fall back


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", BACKENDS)
def test_crashes_on_a_server_that_mangles_keys(backend: str) -> None:
    cfg = keys_mangled(crash_config(backend))
    report = run_crashes(cfg)
    print(report.summary())
    assert not report.problems, report.summary()
    assert report.crashes >= cfg.kills
    assert report.orphans == report.orphans_explained
    assert report.ascii_checkpoints > 0, report.summary()
