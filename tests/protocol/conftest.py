"""Fixtures of the protocol tests: a backend, scripted clocks and nonces, and the state of a
new index built on them. Nothing here sends a request."""

from __future__ import annotations

import itertools

import pytest

from linkedthreads import IndexSettings, RetryPolicy
from linkedthreads._backends import Backend, make_backend
from linkedthreads._codec import ASCII, Alphabet
from linkedthreads._protocol import Environment, IndexState

ROOT = "conv_root"


class ManualClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def child(n: int) -> str:
    """The ID of the ``n``-th child, of the conversations' usual shape."""
    return f"conv_{n:048x}"


@pytest.fixture
def conversations_backend() -> Backend:
    return make_backend("conversations")


@pytest.fixture
def wall_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lag_clock() -> ManualClock:
    """The monotonic clock flows measure waits with."""
    return ManualClock(100.0)


@pytest.fixture
def scripted_environment(wall_clock: ManualClock, lag_clock: ManualClock) -> Environment:
    """Manual clocks, the last compaction phase, nonces ``0000000000000001``, ``...2``, ..."""
    counter = itertools.count(1)
    return Environment(
        clock=wall_clock,
        monotonic=lag_clock,
        randint=lambda low, high: high,
        nonce=lambda: f"{next(counter):016x}",
    )


def new_index_state(
    backend: Backend,
    environment: Environment,
    *,
    alphabet: Alphabet = ASCII,
    ids_a_page: int | None = None,
    **settings: object,
) -> IndexState:
    """The state of an index just created at ``conv_root``; ``ids_a_page`` shrinks pages."""
    chosen = IndexSettings(retry=RetryPolicy.none(), **settings)  # type: ignore[arg-type]
    state = IndexState(backend, ROOT, alphabet, chosen, env=environment, created=True)
    if ids_a_page is not None:
        state.capacity = 57 + 192 * ids_a_page
    return state


@pytest.fixture
def new_index(conversations_backend: Backend, scripted_environment: Environment) -> IndexState:
    """The state of a new conversations index (ASCII pages, default settings)."""
    return new_index_state(conversations_backend, scripted_environment)
