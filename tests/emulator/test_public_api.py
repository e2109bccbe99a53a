"""The Python API other code relies on: exports, the Emulator object, the pytest fixtures."""

from __future__ import annotations

import ast
import doctest
import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

import linkedthreads.emulator
import linkedthreads.testing
from linkedthreads.emulator import Emulator, EmulatorSettings


def test_all_is_sorted_and_complete() -> None:
    """``__all__`` lists, sorted, every public name of the package's ``__init__``."""
    module = linkedthreads.emulator
    assert module.__all__ == sorted(module.__all__)
    public = {n for n in vars(module) if not n.startswith(("_", "@"))}  # "@": pytest rewriting
    assert set(module.__all__) == public - {"annotations"}
    assert linkedthreads.testing.__all__ == ["Emulator", "EmulatorSettings", "control_request"]
    assert linkedthreads.testing.Emulator is Emulator


@pytest.mark.parametrize(
    "name",
    [
        "_control",
        "_emulator",
        "_errors",
        "_faults",
        "_ids",
        "_models",
        "_settings",
        "_validation",
        "__init__",
    ],
)
def test_docstring_examples(name: str) -> None:
    """The examples in the docstrings run and hold."""
    module = (
        linkedthreads.emulator
        if name == "__init__"
        else importlib.import_module(f"linkedthreads.emulator.{name}")
    )
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_emulator_imports_nothing_from_the_library() -> None:
    """The emulator must not share code with the client it tests."""
    folder = Path(linkedthreads.emulator.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or not (node.module or "").startswith("linkedthreads"), path
                assert node.level <= 1, path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("linkedthreads") for a in node.names), path


def test_lifecycle_and_settings() -> None:
    """start/stop, the context manager, keyword settings over a settings object."""
    emu = Emulator(EmulatorSettings(seed=1, latency_ms=5), latency_ms=0, fault_rate=0.0)
    assert (emu.settings.seed, emu.settings.latency_ms) == (1, 0)
    assert not emu.running
    with pytest.raises(RuntimeError):
        _ = emu.base_url
    assert emu.start() is emu
    try:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert emu.base_url.endswith("/v1")
        assert repr(emu) == f"<Emulator {emu.base_url}>"
        with pytest.raises(RuntimeError):
            emu.start()
        assert emu.update_settings(fault_rate=0.5).fault_rate == 0.5
        with pytest.raises(ValueError, match="fault_rate"):
            emu.update_settings(fault_rate=5)
        assert emu.client().api_key == "test-key"
        assert str(emu.async_client().base_url) == emu.base_url + "/"
    finally:
        emu.stop()
    emu.stop()  # twice is fine
    assert repr(emu) == "<Emulator stopped>"
    with Emulator(api_key="sk-own-key-000000") as other:
        assert other.client().api_key == "sk-own-key-000000"
    with pytest.raises(ValueError, match="kind"):
        other.live_ids("users")


def test_fixture_changes_do_not_leak_part_1(emulator: Emulator) -> None:
    """A test may change settings and make objects on the shared emulator..."""
    emulator.update_settings(threads_sunset=True, seed=99)
    emulator.client().conversations.create()
    assert emulator.stats()["total"] == 1


def test_fixture_changes_do_not_leak_part_2(emulator: Emulator) -> None:
    """...and the next test gets it back clean, with its original settings."""
    assert emulator.settings == EmulatorSettings()
    assert emulator.live_ids("conversations") == set()
    assert emulator.stats()["total"] == 0


def test_factory_starts_separate_emulators(
    emulator_factory: Callable[..., Emulator], emulator: Emulator
) -> None:
    """``emulator_factory(**settings)`` starts an independent server per call."""
    a = emulator_factory(seed=1)
    b = emulator_factory(settings=EmulatorSettings(seed=1), api_key="k" * 12)
    assert len({a.base_url, b.base_url, emulator.base_url}) == 3
    assert b.settings.api_key == "k" * 12
    a.client().conversations.create()
    assert (len(a.live_ids("conversations")), len(b.live_ids("conversations"))) == (1, 0)
