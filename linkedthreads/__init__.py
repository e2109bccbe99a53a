"""linkedthreads: the list of your OpenAI threads and conversations, kept in the API itself.

    from linkedthreads import ThreadIndex
    index = ThreadIndex.create(client, backend="conversations")
    index.root_id                     # the one ID to keep
    child = index.create_child()
    for child_id in index.all(): ...
    index.delete(child.id)
    tracked = index.track(client)     # what it creates is listed, what it deletes forgotten

See docs/design.md for the storage protocol; each method's docstring states its cost in
requests.
"""

from typing import TYPE_CHECKING

from ._errors import (
    APIRequestError,
    BackendUnavailableError,
    ConcurrentChangeError,
    CorruptIndexError,
    IndexNotFoundError,
    InvalidIdError,
    LinkedThreadsError,
    MetadataError,
    NotAnIndexError,
    TrackingError,
    UnsupportedFormatError,
)
from ._retry import RetryPolicy
from ._settings import IndexSettings

if TYPE_CHECKING:
    from ._async_index import AsyncThreadIndex
    from ._index import ThreadIndex
    from ._protocol.constants import TAG_KEY as CHILD_TAG_KEY
    from ._results import IndexStats, VerifyReport

# The front ends and the protocol are imported on first use (PEP 562), so that what needs
# only the package (the CLI's --help, the emulator) starts at the speed of the interpreter.
# Nothing here imports the openai SDK: it is imported when a client is first used.
_LAZY = {
    "AsyncThreadIndex": ("._async_index", "AsyncThreadIndex"),
    "CHILD_TAG_KEY": ("._protocol.constants", "TAG_KEY"),
    "IndexStats": ("._results", "IndexStats"),
    "ThreadIndex": ("._index", "ThreadIndex"),
    "VerifyReport": ("._results", "VerifyReport"),
}


def __getattr__(name: str) -> object:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'linkedthreads' has no attribute {name!r}") from None
    from importlib import import_module

    value = getattr(import_module(module, __name__), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "CHILD_TAG_KEY",
    "APIRequestError",
    "AsyncThreadIndex",
    "BackendUnavailableError",
    "ConcurrentChangeError",
    "CorruptIndexError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexStats",
    "InvalidIdError",
    "LinkedThreadsError",
    "MetadataError",
    "NotAnIndexError",
    "RetryPolicy",
    "ThreadIndex",
    "TrackingError",
    "UnsupportedFormatError",
    "VerifyReport",
    "__version__",
]
