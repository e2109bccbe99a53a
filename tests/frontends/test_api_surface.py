"""The public surface: complete, sorted, typed."""

from __future__ import annotations

import inspect
from pathlib import Path

import linkedthreads


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def test_all_is_sorted_and_complete() -> None:
    """Every public class and exception is exported, and ``__all__`` is sorted (isort style)."""
    assert list(linkedthreads.__all__) == sorted(linkedthreads.__all__, key=_isort_key)
    public = {
        name
        for name, obj in vars(linkedthreads).items()
        if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
    }
    assert public <= set(linkedthreads.__all__)
    for name in linkedthreads.__all__:
        assert hasattr(linkedthreads, name), name


def test_every_error_is_a_linkedthreads_error() -> None:
    """Callers can catch one base class."""
    for name in linkedthreads.__all__:
        obj = getattr(linkedthreads, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, linkedthreads.LinkedThreadsError), name


def test_the_package_is_typed() -> None:
    """``py.typed`` ships with the package."""
    assert (Path(linkedthreads.__file__).parent / "py.typed").exists()


def test_sync_and_async_front_ends_offer_the_same_operations() -> None:
    """AsyncThreadIndex mirrors ThreadIndex (``len``/``in`` become ``count``/``contains``)."""
    sync = {n for n in dir(linkedthreads.ThreadIndex) if not n.startswith("_")}
    asyn = {n for n in dir(linkedthreads.AsyncThreadIndex) if not n.startswith("_")}
    assert sync - {"close"} <= asyn
    assert {"count", "contains"} <= asyn


def test_every_public_method_of_both_front_ends_states_its_cost() -> None:
    """Each operation's docstring gives its cost in requests, in both front ends."""
    for cls in (linkedthreads.ThreadIndex, linkedthreads.AsyncThreadIndex):
        for name, member in vars(cls).items():
            if name.startswith("_") and name not in ("__len__", "__contains__"):
                continue
            if isinstance(member, property) or not callable(getattr(cls, name)):
                continue
            assert "Cost" in (getattr(cls, name).__doc__ or ""), f"{cls.__name__}.{name}"
