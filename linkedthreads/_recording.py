"""What a tracked client records, and how: the ``Recorder`` of ``_tracking.py`` on an index
instance. A tracked create appends the record ``create_child`` appends (``add`` with ``new``:
the object was made by that very request, so it cannot be listed already); a tracked delete
appends ``rm``, as ``index.remove`` does. Both go through the instance's group commit, so
concurrent tracked calls share appends, and both do the instance's upkeep first (a due
compaction, docs/design.md 7.2), as ``create_child`` does, so the crash window stays the
create alone.

A scope (issue 18) would be one more recorder whose records name it; the transports do not
change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _protocol as flows
from ._errors import InvalidIdError, TrackingError
from ._journal import Record
from ._protocol import Flow, IndexState

if TYPE_CHECKING:  # the tracking module brings the SDK: loaded only when tracking
    from ._tracking import Op

__all__ = ["AsyncIndexRecorder", "IndexRecorder"]

T = TypeVar("T")


def _record(op: Op, object_id: str) -> Record:
    return Record(op=op, ids=(object_id,), new=op == "add")


def _error(core: IndexState, op: Op, object_id: str, exc: BaseException) -> TrackingError:
    noun = core.backend.noun
    if op == "add":
        message = (
            f"{noun} {object_id} was created but could not be listed ({exc}); it exists and no "
            f"index lists it: index.add({object_id!r}) lists it"
        )
    else:
        message = (
            f"{noun} {object_id} was deleted but could not be forgotten ({exc}); it stays "
            f"listed, which is harmless: index.remove({object_id!r}) forgets it"
        )
    return TrackingError(message, object_id=object_id, created=op == "add")


def _checked(core: IndexState, object_id: str) -> bool:
    """Whether to record ``object_id``: not the root (deleting it ends the index)."""
    flows.validate_id(object_id, core.backend.prefix)
    return object_id != core.root_id


class IndexRecorder:
    """Records a ``ThreadIndex``'s tracked creates and deletes."""

    def __init__(self, core: IndexState, commit: Any, run: Callable[[Flow[Any]], Any]) -> None:
        self.backend: str = core.backend.name
        self._core = core
        self._commit = commit  # a GroupCommit
        self._run = run

    def begin(self) -> None:
        self._commit.expect(1)
        try:
            self._run(flows.maybe_compact(self._core))  # upkeep; never fails the caller
        except BaseException:
            self._commit.expect(-1)
            raise

    def abandon(self) -> None:
        self._commit.expect(-1)

    def record(self, op: Op, object_id: str) -> None:
        try:
            wanted = _checked(self._core, object_id)
        except InvalidIdError as exc:
            self.abandon()
            raise _error(self._core, op, object_id[:80], exc) from exc
        if not wanted:
            self.abandon()
            return
        try:
            self._commit.submit([_record(op, object_id)], expected=1)
        except Exception as exc:
            raise _error(self._core, op, object_id, exc) from exc


class AsyncIndexRecorder:
    """Records an ``AsyncThreadIndex``'s tracked creates and deletes."""

    def __init__(
        self, core: IndexState, commit: Any, run: Callable[[Flow[Any]], Awaitable[Any]]
    ) -> None:
        self.backend: str = core.backend.name
        self._core = core
        self._commit = commit  # an AsyncGroupCommit
        self._run = run

    async def begin(self) -> None:
        self._commit.expect(1)
        try:
            await self._run(flows.maybe_compact(self._core))
        except BaseException:
            self._commit.expect(-1)
            raise

    def abandon(self) -> None:
        self._commit.expect(-1)

    async def record(self, op: Op, object_id: str) -> None:
        try:
            wanted = _checked(self._core, object_id)
        except InvalidIdError as exc:
            self.abandon()
            raise _error(self._core, op, object_id[:80], exc) from exc
        if not wanted:
            self.abandon()
            return
        try:
            await self._commit.submit([_record(op, object_id)], expected=1)
        except Exception as exc:
            raise _error(self._core, op, object_id, exc) from exc
