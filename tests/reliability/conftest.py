"""Fixtures of the reliability suite. Sizes scale with ``LINKEDTHREADS_TORTURE_SCALE``
(default 1, the CI size; ``python -m torture --scale 10`` is the published run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sdk_warnings import OWN_THREADS_CALLS
from torture.emulator import nodelay, raw_client


@pytest.fixture
def emu(emulator: Any) -> Any:
    """The plugin's shared emulator (reset for each test, settings restored after it)."""
    nodelay(emulator)
    return emulator


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The harness drives threads through the SDK itself (its own calls warn; the
    library's do not): only that warning is let through here."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(OWN_THREADS_CALLS)


@pytest.fixture
def raw(emu: Any) -> Iterator[Any]:
    """A raw SDK client of the emulator (SDK retries on), closed after the test."""
    client = raw_client(emu.base_url)
    try:
        yield client
    finally:
        client.close()
