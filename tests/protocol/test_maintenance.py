"""Maintenance (docs/design.md 8.4, 8.5) step by step, on the environment's clocks."""

from __future__ import annotations

from linkedthreads._backends import Backend
from linkedthreads._journal import Record, dump_records
from linkedthreads._protocol import END_OP, Environment, read_view
from linkedthreads._protocol.maintenance import confirmed_absent

from .conftest import ROOT, ManualClock, child, new_index_state
from .journal import adds
from .script import Scripted, container, entries, not_found


def test_a_child_missing_too_soon_is_read_again_once_the_lag_bound_passed(
    conversations_backend: Backend, scripted_environment: Environment, lag_clock: ManualClock
) -> None:
    """A 404 that came sooner than ``read_lag_seconds`` after the listing may be a lagging
    server: it is read again once the bound has passed, by the environment's monotonic
    clock, and only then is the child dangling (8.4)."""
    state = new_index_state(conversations_backend, scripted_environment, read_lag_seconds=1.0)
    a, b = child(1), child(2)
    run = Scripted(confirmed_absent(state, [a, b], listed_by=lag_clock()))
    run.expect(f"read conversation {a}", f"read conversation {b}")
    run.answer(not_found(), container(b))
    assert run.expect_pause() == 1.0
    lag_clock.now += 1.0
    run.exchange(f"read conversation {a}", not_found())
    assert run.result() == [a]


def test_a_reader_that_meets_the_tombstone_closes_this_processs_appends(
    conversations_backend: Backend, scripted_environment: Environment
) -> None:
    """A destroy began elsewhere (its ``end`` is in the tail): this process writes no more
    to the index (4.7, 8.5)."""
    state = new_index_state(conversations_backend, scripted_environment)
    end = ("msg_2", dump_records([Record(op=END_OP)], "00000000000000e1.0"))
    run = Scripted(read_view(state))
    run.exchange(f"list items of conversation {ROOT}", entries(end, adds("msg_1", child(1))))
    run.result()
    assert state.gate.closed
