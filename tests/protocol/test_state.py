"""The state of one open index: what comes from the environment, and how the compaction
countdown moves (docs/design.md 7.2)."""

from __future__ import annotations

from linkedthreads._backends import Backend
from linkedthreads._protocol import Environment

from .conftest import new_index_state


def test_the_compaction_phase_comes_from_the_environment(conversations_backend: Backend) -> None:
    asked: list[tuple[int, int]] = []

    def randint(low: int, high: int) -> int:
        asked.append((low, high))
        return 7

    state = new_index_state(conversations_backend, Environment(randint=randint), compact_every=32)
    assert asked == [(1, 32)]
    assert state.compaction_countdown == 7


def test_a_check_is_due_when_the_countdown_runs_out_and_nothing_is_pending(
    conversations_backend: Backend,
) -> None:
    state = new_index_state(
        conversations_backend, Environment(randint=lambda low, high: 2), compact_every=32
    )
    assert not state.start_compaction_check()
    state.count_appended(2)
    assert state.start_compaction_check()
    assert state.compaction_countdown == 32  # a whole cycle to the next check
    state.note_tail(30)  # another writer's tail: check once it reaches compact_every
    assert state.compaction_countdown == 2
    state.check_again_soon()
    assert state.compaction_countdown == 1
