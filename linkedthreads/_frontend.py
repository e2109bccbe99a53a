"""What ``ThreadIndex`` and ``AsyncThreadIndex`` share besides the flows and plans: argument
checks before the first request, the executor each sends requests with, and the properties
read from an instance's ``IndexState``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from . import _protocol as flows
from ._backends import Backend, backend_for_id, make_backend
from ._choices import CODECS, BackendName
from ._errors import IndexNotFoundError, InvalidIdError
from ._protocol import IndexState
from ._protocol.commit_queue import CommitQueue
from ._results import IndexStats
from ._settings import IndexSettings
from ._transport import AsyncExecutor, SyncExecutor

__all__ = [
    "Executor",
    "IndexProperties",
    "empty_stats",
    "index_state",
    "make_executor",
    "prepare_create",
    "prepare_open",
]

ExecutorT = TypeVar("ExecutorT", SyncExecutor, AsyncExecutor)


class RequestCount(Protocol):
    @property
    def value(self) -> int: ...


class GroupCommitter(Protocol):
    """What a front end's group commit (``GroupCommit`` or ``AsyncGroupCommit``) shows
    besides its own ``expect`` and ``submit``: the queue that makes its decisions."""

    @property
    def queue(self) -> CommitQueue: ...


class Executor(Protocol):
    """What a front end knows of its executor (``SyncExecutor`` or ``AsyncExecutor``) besides
    ``execute_many``, whose sync and async forms its own driver calls."""

    @property
    def requests(self) -> RequestCount:
        """Requests sent, every attempt counted."""
        ...


def make_executor(
    kind: type[ExecutorT], client: object, backend: Backend, settings: IndexSettings
) -> ExecutorT:
    """The executor of ``kind`` on ``client``, which must be the SDK client it drives:
    ``openai.OpenAI`` for ``SyncExecutor``, ``openai.AsyncOpenAI`` for ``AsyncExecutor``."""
    import openai

    wanted: type[object]
    other: type[object]
    if kind is SyncExecutor:
        wanted, other, hint = openai.OpenAI, openai.AsyncOpenAI, "AsyncThreadIndex with AsyncOpenAI"
    else:
        wanted, other, hint = openai.AsyncOpenAI, openai.OpenAI, "ThreadIndex with OpenAI"
    if not isinstance(client, wanted):
        raise TypeError(
            f"client must be an openai.{wanted.__name__}, not {type(client).__name__}"
            + (f" (use {hint})" if isinstance(client, other) else "")
        )
    concurrency = max(settings.read_concurrency, settings.write_concurrency)
    return kind(client, backend, settings.retry, concurrency)  # type: ignore[arg-type]


def prepare_create(
    backend: str, metadata: Mapping[str, str] | None, codec: str, settings: IndexSettings | None
) -> tuple[Backend, dict[str, str], IndexSettings]:
    """Check ``create``'s arguments; the root's header takes 3 keys, so 13 are the user's."""
    be = make_backend(backend)
    if codec not in CODECS:
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


def index_state(
    backend: Backend,
    root_id: str,
    root_metadata: Mapping[str, str],
    settings: IndexSettings,
    *,
    created: bool = False,
) -> IndexState:
    """The state of an instance of the index ``root_id``, whose root reads ``root_metadata``
    (``created``: this process just made it)."""
    alphabet = flows.alphabet_for_root(root_id, root_metadata)
    return IndexState(backend, root_id, alphabet, settings, created=created)


class IndexProperties:
    """Read-only facts of an index instance (the root of a tree, or a scope of it)."""

    _core: IndexState | None  # None: a scope this instance has not found or made yet
    _top: IndexState  # the root this instance was opened or created from
    _executor: Executor
    _commit: GroupCommitter
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
    def backend(self) -> BackendName:
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
    def record_limit(self) -> int:
        """The longest journal entry this instance writes: ``max_record_chars``, or less
        once the server refused a shorter one (docs/design.md 4.6). Cost: 0 requests."""
        return (self._core or self._top).record_limit

    @property
    def overlay_limit(self) -> int:
        """Removed or re-added paged IDs a checkpoint carries before a compaction rewrites
        the pages that hold them (``max_overlay``, or its default: docs/design.md 7.2).
        Cost: 0 requests."""
        return (self._core or self._top).overlay_limit

    @property
    def requests(self) -> int:
        """Requests this instance has sent, every attempt counted."""
        return self._executor.requests.value

    @property
    def writes_in_progress(self) -> int:
        """Creates and deletes of this instance (its bulk calls, and the clients it tracks)
        still in their object requests, whose records an append will carry: an append
        lingers up to ``commit_linger_seconds`` for them, so that a burst shares it. A write
        that fails or is refused withdraws, so it is 0 whenever no write is under way.
        Cost: 0 requests."""
        return self._commit.queue.expected

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
