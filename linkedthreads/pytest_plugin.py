"""pytest fixtures for tests that talk to a local OpenAI emulator (registered through the
``pytest11`` entry point, so installing linkedthreads is enough):

- ``emulator``: a running :class:`~linkedthreads.testing.Emulator` with default settings and
  empty state.  One server serves the whole session; each test gets it reset (state, counters,
  seeded streams) and with its original settings back, so ``emulator.update_settings(...)``
  in one test does not leak into the next.
- ``emulator_factory``: ``emulator_factory(**settings)`` starts a fresh emulator with those
  settings (``EmulatorSettings`` fields, plus ``settings=``, ``host=``, ``port=``,
  ``state_file=``); all are stopped when the test ends.

The emulator needs the ``emulator`` extra; without it the fixtures skip the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from linkedthreads.emulator import Emulator


def _emulator_class() -> type[Emulator]:
    try:
        from linkedthreads.emulator import Emulator
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        pytest.skip(f"the emulator needs linkedthreads[emulator]: {exc}")
    return Emulator


@pytest.fixture(scope="session")
def _linkedthreads_session_emulator() -> Iterator[Emulator]:
    emu = _emulator_class()()
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(_linkedthreads_session_emulator: Emulator) -> Iterator[Emulator]:
    """A running emulator with default settings and no state (shared server, reset per test;
    the sync clients ``emulator.client()`` made are closed after the test)."""
    emu = _linkedthreads_session_emulator
    initial = emu.settings
    emu.reset()
    try:
        yield emu
    finally:
        emu.close_clients()
        emu.update_settings(**{f.name: getattr(initial, f.name) for f in fields(initial)})
        emu.reset()


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with custom settings: ``emu = emulator_factory(fault_rate=0.1)``."""
    cls = _emulator_class()
    started: list[Emulator] = []

    def factory(**kwargs: Any) -> Emulator:
        emu = cls(**kwargs)
        emu.start()
        started.append(emu)
        return emu

    try:
        yield factory
    finally:
        for emu in reversed(started):
            emu.stop()
