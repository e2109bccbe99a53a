"""Model-based testing: a hypothesis state machine (``torture.model``) drives one index
against a plain list, with faults on; see that module for the model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import BACKENDS_THREADS_SLOW as BACKENDS
from torture.emulator import start_emulator
from torture.model import FAULTS, run_model


@pytest.fixture(scope="module")
def faulty_emulator() -> Iterator[Any]:
    emu = start_emulator(seed=5, **FAULTS)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_behaves_like_a_list(faulty_emulator: Any, backend: str) -> None:
    """Random sequences of every operation, with faults on, always list the model."""
    before = faulty_emulator.stats()["faults"]
    run_model(faulty_emulator, backend)
    stats = faulty_emulator.stats()
    after = stats["faults"]
    assert all(after[k] > before.get(k, 0) for k in after), (before, after)
    assert any(route.startswith(f"POST /v1/{backend}") for route in stats["requests"])
