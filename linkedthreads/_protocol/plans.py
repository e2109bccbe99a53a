"""The writes of the front ends as plans: the records each write appends, and the loops of
``create_children`` and ``delete_many``, written once for ``ThreadIndex`` and
``AsyncThreadIndex``.

A plan is a generator one level above a flow (``flow.py``). It yields a ``Flow`` to run
(and receives its result), ``Expect(n)`` to announce ``n`` callers to the instance's group
commit (``commit_queue.py``), or ``Commit`` to append records through it; it returns the
write's result. The front end carries out each step and throws what a step raised into the
plan, so that the plan's own ``try`` blocks see it. ``PlanSteps`` does that bookkeeping, so
that a front end's loop is only the I/O::

    steps = PlanSteps(plan)
    while (step := steps.next()) is not None:
        try: steps.reply(<carry out step>)
        except BaseException as exc: steps.fail(exc)
    return steps.result
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from linkedthreads._errors import IndexNotFoundError
from linkedthreads._journal import Record

from . import children
from .compaction import maybe_compact
from .constants import CHILD_USER_KEYS
from .flow import Flow
from .state import IndexState
from .validation import validate_ids, validate_user_metadata

__all__ = [
    "Commit",
    "Expect",
    "Plan",
    "PlanSteps",
    "Ready",
    "add_ids",
    "create_children",
    "delete_objects",
    "remove_ids",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Expect:
    """Announce ``n`` callers that will submit to the group commit (negative: will not)."""

    n: int


@dataclass(frozen=True)
class Commit:
    """Append ``records`` through the group commit; ``expected`` is what this caller
    announced with ``Expect``. Raises what the append raised."""

    records: list[Record]
    expected: int = 0


@dataclass(frozen=True)
class Ready:
    """Ask for the state of the index the write goes to: a scope is found by name, or made
    (``create``) by its first write (docs/design.md 4.8). The reply is the ``IndexState``, or
    None for a scope that does not exist and is not to be made. At a root, the root's."""

    create: bool


PlanStep = Expect | Commit | Ready | Flow[Any]
Plan = Generator[PlanStep, Any, T]


class PlanSteps(Generic[T]):
    """Steps through a plan for a front end: ``next`` gives the step to carry out (``None``
    once the plan has returned ``result``), ``reply`` or ``fail`` says how it went."""

    def __init__(self, plan: Plan[T]) -> None:
        self._plan = plan
        self._reply: Any = None
        self._error: BaseException | None = None
        self.result: T

    def next(self) -> PlanStep | None:
        """The next step; raises what the plan raises."""
        error, self._error = self._error, None
        try:
            if error is not None:
                return self._plan.throw(error)
            return self._plan.send(self._reply)
        except StopIteration as stop:
            self.result = stop.value
            return None
        finally:
            del error  # no reference cycle through the traceback

    def reply(self, value: Any) -> None:
        """The step's result (``None`` for ``Expect`` and ``Commit``)."""
        self._reply = value

    def fail(self, error: BaseException) -> None:
        """The step raised ``error``: the plan gets it at its ``yield``."""
        self._reply, self._error = None, error


def _announced(count: int, flow: Flow[T]) -> Plan[T]:
    """Run ``flow`` as ``count`` announced callers of the group commit; if it raises, they
    will not submit."""
    yield Expect(count)
    try:
        result: T = yield flow
    except GeneratorExit:
        raise
    except BaseException:
        yield Expect(-count)
        raise
    return result


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    return (items[start : start + size] for start in range(0, len(items), size))


def create_children(
    known: IndexState, n: int, metadata: Mapping[str, str] | None, kwargs: Mapping[str, Any]
) -> Plan[list[Any]]:
    """``create_children``: create ``n`` objects, ``bulk_batch`` at a time, and append one
    ``add new`` record a batch. If the index turns out to be gone, what the batch made is
    deleted (docs/design.md 8.5). Returns the SDK objects. ``known``: the state the arguments
    are checked against before any request (a scope's, or its root's before it is found)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, not {n!r}")
    user = validate_user_metadata(metadata, CHILD_USER_KEYS)
    known.backend.check_create_kwargs(kwargs)
    out: list[Any] = []
    if not n:
        return out
    state: IndexState = yield Ready(create=True)
    for group in _chunks(range(n), state.settings.bulk_batch):
        count = len(group)
        made, error = yield from _announced(
            count, children.create_children(state, user, kwargs, count)
        )
        records = [Record(op="add", ids=tuple(c.id for c in made), new=True)] if made else []
        try:
            yield Commit(records, expected=count)
        except IndexNotFoundError:
            # The index is gone: what this call made is listed nowhere (8.5).
            yield children.discard_children(state, [c.id for c in made], kwargs)
            raise
        out.extend(c.raw for c in made)
        if error is not None:
            raise error
    return out


def delete_objects(known: IndexState, child_ids: Iterable[str], erase_items: bool) -> Plan[None]:
    """``delete_many``: delete the objects, ``bulk_batch`` at a time, and append one ``rm``
    record a batch of what is gone (404 counts as gone). In a scope never written the
    objects are deleted and there is nothing to forget."""
    ids = validate_ids(child_ids, known.backend.prefix, known.root_id)
    state: IndexState | None = (yield Ready(create=False)) if ids else None
    if state is None:
        for batch in _chunks(ids, known.settings.bulk_batch):
            _, error = yield children.delete_objects(known, batch, erase_items, False)
            if error is not None:
                raise error
        return
    for batch in _chunks(ids, state.settings.bulk_batch):
        done, error = yield from _announced(
            len(batch), children.delete_objects(state, batch, erase_items)
        )
        records = [Record(op="rm", ids=tuple(done))] if done else []
        yield Commit(records, expected=len(batch))
        if error is not None:
            raise error


def _append_ids(
    known: IndexState, op: Literal["add", "rm"], child_ids: Iterable[str]
) -> Plan[None]:
    ids = validate_ids(child_ids, known.backend.prefix, known.root_id)
    if not ids:
        return
    state: IndexState | None = yield Ready(create=op == "add")
    if state is None:
        return  # nothing to forget in a scope never written
    if state is not known:
        validate_ids(ids, state.backend.prefix, state.root_id)  # not the scope's own root
    yield maybe_compact(state)
    yield Commit([Record(op=op, ids=tuple(ids))])


def add_ids(known: IndexState, child_ids: Iterable[str]) -> Plan[None]:
    """``add_many``: list objects created elsewhere, in one ``add`` record."""
    return _append_ids(known, "add", child_ids)


def remove_ids(known: IndexState, child_ids: Iterable[str]) -> Plan[None]:
    """``remove_many``: forget IDs, in one ``rm`` record."""
    return _append_ids(known, "rm", child_ids)
