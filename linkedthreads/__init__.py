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

from ._async_index import AsyncThreadIndex
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
from ._flows import TAG_KEY as CHILD_TAG_KEY
from ._flows import IndexStats, VerifyReport
from ._index import ThreadIndex
from ._retry import RetryPolicy
from ._settings import IndexSettings

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
