"""What ``ThreadIndex`` and ``AsyncThreadIndex`` share besides the flows: argument checks
before the first request, and the properties read from an instance's ``IndexState``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _protocol as flows
from ._backends import Backend, backend_for_id, make_backend
from ._errors import IndexNotFoundError, InvalidIdError
from ._protocol import IndexState
from ._results import IndexStats
from ._settings import IndexSettings

__all__ = ["IndexProperties", "empty_stats", "prepare_create", "prepare_open"]


def prepare_create(
    backend: str, metadata: Mapping[str, str] | None, codec: str, settings: IndexSettings | None
) -> tuple[Backend, dict[str, str], IndexSettings]:
    """Check ``create``'s arguments; the root takes 3 keys, so 13 are the user's."""
    be = make_backend(backend)
    if codec not in ("auto", "ascii", "dense"):
        raise ValueError(f"unknown codec {codec!r}: expected 'auto', 'ascii' or 'dense'")
    user = flows.validate_user_metadata(metadata, flows.ROOT_USER_KEYS)
    return be, user, settings or IndexSettings()


def prepare_open(root_id: object, settings: IndexSettings | None) -> tuple[Backend, IndexSettings]:
    """Check ``open``'s arguments; the backend follows from the root ID's prefix."""
    if not isinstance(root_id, str) or not root_id:
        raise InvalidIdError("the root ID must be a non-empty string")
    backend = make_backend(backend_for_id(root_id))
    flows.validate_id(root_id, backend.prefix)
    return backend, settings or IndexSettings()


class IndexProperties:
    """Read-only facts of an index instance (the root of a tree, or a scope of it)."""

    _core: IndexState | None  # None: a scope this instance has not found or made yet
    _top: IndexState  # the root this instance was opened or created from
    _executor: Any  # a SyncExecutor or an AsyncExecutor: each counts its requests
    _scope_name: str | None
    _parent: Any

    @property
    def root_id(self) -> str:
        """The one ID to keep: it recovers the whole index. For a scope, its own root's ID,
        known once a read or write of this instance found or made it: before that it raises
        ``IndexNotFoundError`` (no request: a scope never written has no root)."""
        core = self._core
        if core is None:
            raise IndexNotFoundError(
                f"scope {'/'.join(self.scope_path)!r} of index {self._top.root_id!r} has no "
                "known root yet: it is found by this instance's first read or write, and "
                "made by its first write"
            )
        return core.root_id

    @property
    def scope_name(self) -> str | None:
        """The name of this scope under its parent; None for an index opened or created."""
        return self._scope_name

    @property
    def scope_path(self) -> tuple[str, ...]:
        """The names from the root this instance was opened from down to this scope."""
        if self._parent is None or self._scope_name is None:
            return ()
        return (*self._parent.scope_path, self._scope_name)

    @property
    def backend(self) -> str:
        """``"threads"`` or ``"conversations"``."""
        return self._top.backend.name

    @property
    def codec(self) -> str:
        """``"ascii"`` or ``"dense"``: how this instance writes pages."""
        return (self._core or self._top).alphabet.name

    @property
    def page_capacity(self) -> int:
        """Children of the usual ID shape one page holds (d)."""
        return (self._core or self._top).page_capacity

    @property
    def requests(self) -> int:
        """Requests this instance has sent, every attempt counted."""
        return int(self._executor.requests.value)

    def __repr__(self) -> str:
        if self._scope_name is not None:
            root = self._core.root_id if self._core is not None else None
            return (
                f"{type(self).__name__}(scope={'/'.join(self.scope_path)!r}, "
                f"root_id={root!r}, parent_root_id={self._top.root_id!r}, "
                f"backend={self.backend!r})"
            )
        return (
            f"{type(self).__name__}(root_id={self.root_id!r}, backend={self.backend!r}, "
            f"codec={self.codec!r})"
        )


def empty_stats() -> IndexStats:
    """The stats of a scope never written: an empty list."""
    return IndexStats(
        children=0,
        pages=0,
        directories=0,
        page_slots=0,
        unpaged=0,
        waiting=0,
        tail_entries=0,
        checkpointed=False,
    )
