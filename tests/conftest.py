"""Shared fixtures: indexes on the in-memory client, and on the emulator over HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from linkedthreads import IndexSettings, RetryPolicy, ThreadIndex
from linkedthreads import _protocol as flows
from linkedthreads._backends import make_backend
from linkedthreads._codec import ASCII, DENSE
from linkedthreads._index import run_sync
from linkedthreads._protocol import IndexState
from linkedthreads._transport import SyncExecutor

from .memory_client import MemoryClient

BACKENDS = ["conversations", "threads"]

# Timing says nothing on a shared 2-core machine: budgets are in examples, not milliseconds.
hypothesis_settings.register_profile("linkedthreads", deadline=None, print_blob=True)
hypothesis_settings.load_profile("linkedthreads")


def memory_index(
    client: MemoryClient,
    root_id: str | None = None,
    *,
    settings: IndexSettings | None = None,
    page_ids: int | None = None,
    codec: str = "ascii",
) -> ThreadIndex:
    """An index on the in-memory client; ``page_ids`` shrinks pages to about that many IDs."""
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
    core = IndexState(backend, root_id, alphabet, settings, created=created)
    return ThreadIndex(executor, core)


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
