"""Fixtures of the reliability suite. Sizes scale with ``LINKEDTHREADS_TORTURE_SCALE``
(default 1, the CI size; ``scripts/torture.py --scale 10`` is the published run)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import nodelay, raw_client


@pytest.fixture
def emu(emulator: Any) -> Any:
    """The plugin's shared emulator (reset for each test, settings restored after it)."""
    nodelay(emulator)
    return emulator


@pytest.fixture(autouse=True)
def _no_threads_deprecation() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        yield


@pytest.fixture
def raw(emu: Any) -> Iterator[Any]:
    """A raw SDK client of the emulator (SDK retries on), closed after the test."""
    client = raw_client(emu.base_url)
    try:
        yield client
    finally:
        client.close()
