"""Fixtures of the front-end tests: ``front``, one test body for both front ends, and
``kind``, the backend (threads runs under ``-m slow`` only where a test says so)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import BACKENDS_THREADS_SLOW

from .front import Front


@pytest.fixture(params=["sync", "async"])
async def front(request: pytest.FixtureRequest, emulator: Any) -> AsyncIterator[Front]:
    surface = Front(str(request.param), emulator)
    yield surface
    await surface.close()


@pytest.fixture(params=BACKENDS_THREADS_SLOW)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
