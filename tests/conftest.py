"""Shared fixtures: indexes on the in-memory client, and on the emulator over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import settings as hypothesis_settings

from linkedthreads import IndexSettings, RetryPolicy, ThreadIndex
from linkedthreads import _protocol as flows
from linkedthreads._backends import make_backend
from linkedthreads._codec import ASCII, DENSE
from linkedthreads._index import run_sync
from linkedthreads._protocol import Flow, IndexState
from linkedthreads._transport import SyncExecutor

from .memory_client import MemoryClient

BACKENDS = ["conversations", "threads"]
T = TypeVar("T")

BACKENDS_THREADS_SLOW = ["conversations", pytest.param("threads", marks=pytest.mark.slow)]
"""Both backends in the full run; the fast loop (``-m "not slow"``) runs a heavy test on
conversations only."""

FAST_LOOP = False
"""Whether this run leaves out the slow tests (``-m "not slow"``): set at start-up."""


def pytest_configure(config: pytest.Config) -> None:
    """The fast loop runs property tests with a quarter of hypothesis's default examples."""
    global FAST_LOOP
    FAST_LOOP = "not slow" in (config.getoption("markexpr") or "")
    if FAST_LOOP:
        hypothesis_settings.load_profile("linkedthreads-fast")


def examples(full: int) -> int:
    """How many examples a heavy hypothesis test runs: ``full`` in the full run, a fifth
    (at least 10) in the fast loop. Call it from a test's module (collected after
    start-up)."""
    return max(10, full // 5) if FAST_LOOP else full


# Timing says nothing on a shared 2-core machine: budgets are in examples, not milliseconds.
hypothesis_settings.register_profile("linkedthreads", deadline=None, print_blob=True)
hypothesis_settings.register_profile(
    "linkedthreads-fast", parent=hypothesis_settings.get_profile("linkedthreads"), max_examples=25
)
hypothesis_settings.load_profile("linkedthreads")


@dataclass(frozen=True)
class IndexWithState:
    """An index on the in-memory client and the protocol objects the test built it from:
    the ``IndexState`` its front end carries the flows on, and the executor, on which
    ``run`` drives flows of the test's own (tests/protocol: the protocol's own API, not
    the front end's private attributes)."""

    index: ThreadIndex
    state: IndexState
    executor: SyncExecutor

    def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` on the index's executor: its requests go to the in-memory client."""
        return run_sync(self.executor, flow)


def memory_index_with_state(
    client: MemoryClient,
    root_id: str | None = None,
    *,
    settings: IndexSettings | None = None,
    page_ids: int | None = None,
    codec: str = "ascii",
) -> IndexWithState:
    """An index on the in-memory client, with its state; ``page_ids`` shrinks pages to about
    that many IDs."""
    settings = settings or IndexSettings(retry=RetryPolicy.none())
    # No random phase (hypothesis must replay exactly); ``page_ids`` shrinks pages.
    settings = dataclasses.replace(
        settings, first_compaction_after=settings.compact_every, max_page_ids=page_ids
    )
    backend = make_backend(client.store.kind)
    executor = SyncExecutor(client, backend, settings.retry, 1)  # type: ignore[arg-type]  # deterministic
    created = root_id is None
    if root_id is None:
        root_id, _ = run_sync(executor, flows.create_root(backend, {}, codec))
    alphabet = DENSE if codec == "dense" else ASCII
    state = IndexState(backend, root_id, alphabet, settings, created=created)
    return IndexWithState(ThreadIndex(executor, state), state, executor)


def memory_index(
    client: MemoryClient,
    root_id: str | None = None,
    *,
    settings: IndexSettings | None = None,
    page_ids: int | None = None,
    codec: str = "ascii",
) -> ThreadIndex:
    """An index on the in-memory client; ``page_ids`` shrinks pages to about that many IDs."""
    made = memory_index_with_state(
        client, root_id, settings=settings, page_ids=page_ids, codec=codec
    )
    return made.index


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(emulator: Any) -> Iterator[Any]:
    sdk = emulator.client()
    yield sdk
    sdk.close()


@pytest.fixture
def index(client: Any, backend: str) -> Iterator[ThreadIndex]:
    idx = ThreadIndex.create(client, backend=backend)  # type: ignore[arg-type]
    yield idx
    idx.close()


def pytest_recording_configure(config: Any, vcr: Any) -> None:
    """Cassettes match request bodies as JSON, blind to the journal's nonces and clocks."""
    from tests.frontends.test_cassettes import json_body

    vcr.register_matcher("json_body", json_body)
