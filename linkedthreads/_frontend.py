"""What ``ThreadIndex`` and ``AsyncThreadIndex`` share besides the flows: argument checks
before the first request, and the properties read from an instance's ``IndexState``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _protocol as flows
from ._backends import Backend, backend_for_id, make_backend
from ._errors import InvalidIdError
from ._protocol import IndexState
from ._settings import IndexSettings

__all__ = ["IndexProperties", "prepare_create", "prepare_open"]


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
    """Read-only facts of an index instance."""

    _core: IndexState
    _executor: Any  # a SyncExecutor or an AsyncExecutor: each counts its requests

    @property
    def root_id(self) -> str:
        """The one ID to keep: it recovers the whole index."""
        return self._core.root_id

    @property
    def backend(self) -> str:
        """``"threads"`` or ``"conversations"``."""
        return self._core.backend.name

    @property
    def codec(self) -> str:
        """``"ascii"`` or ``"dense"``: how this instance writes pages."""
        return self._core.alphabet.name

    @property
    def page_capacity(self) -> int:
        """Children of the usual ID shape one page holds (d)."""
        return self._core.page_capacity

    @property
    def requests(self) -> int:
        """Requests this instance has sent, every attempt counted."""
        return int(self._executor.requests.value)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root_id={self.root_id!r}, backend={self.backend!r}, "
            f"codec={self.codec!r})"
        )
