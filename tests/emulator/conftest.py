"""Fixtures for the emulator's own tests: SDK clients on the shared ``emulator`` fixture
(from ``linkedthreads.pytest_plugin``) with retries off, so every answer surfaces."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from linkedthreads.emulator import Emulator


@pytest.fixture
def client(emulator: Emulator) -> Iterator[openai.OpenAI]:
    """A sync SDK client on a fresh emulator, ``max_retries=0``."""
    with emulator.client(max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(emulator: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    """An async SDK client on a fresh emulator, ``max_retries=0``."""
    async with emulator.async_client(max_retries=0) as c:
        yield c
