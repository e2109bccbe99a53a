"""The exceptions linkedthreads raises.

    LinkedThreadsError                  every error of this library
     +-- IndexNotFoundError             the root ID names no object (404)
     +-- NotAnIndexError                the object is not a linkedthreads index root
     |    +-- UnsupportedFormatError    an index written by a newer format version
     +-- InvalidIdError                 an ID empty, too long, odd, or of the wrong kind
     +-- MetadataError                  user metadata leaves no room for the library's keys
     +-- BackendUnavailableError        the server does not serve this backend (threads on
     |                                  OpenAI since the 2026-08-26 sunset)
     +-- CorruptIndexError              a page or record was altered, truncated or deleted
     +-- ConcurrentChangeError          pages a reader needed were collected under it
     +-- APIRequestError                the server refused or failed a request (status,
     |                                  code, param and request ID copied from the
     |                                  ``openai`` exception)
     +-- TrackingError                  a tracked client created or deleted an object but its
                                        record could not be appended (``object_id`` names it)

Every message names the ID or key at fault. No message carries an API key, organisation,
project or header value: requests are described by method, route and request ID only, and
a server's own text is masked (``[redacted]``) wherever it holds the caller's key,
organisation or project or anything shaped like one. The ``openai`` exception is never
chained (``__cause__`` and ``__context__`` are ``None``): it holds the request with its
``Authorization`` header and the server's answer verbatim, so a printed traceback or
``logging.exception`` would show them. Its useful fields are copied instead.
"""

from __future__ import annotations

__all__ = [
    "APIRequestError",
    "BackendUnavailableError",
    "ConcurrentChangeError",
    "CorruptIndexError",
    "IndexNotFoundError",
    "InvalidIdError",
    "InvalidScopeNameError",
    "LinkedThreadsError",
    "MetadataError",
    "NotAnIndexError",
    "TrackingError",
    "UnsupportedFormatError",
]


class LinkedThreadsError(Exception):
    """Base class of every error raised by linkedthreads."""


class IndexNotFoundError(LinkedThreadsError):
    """The root ID names no object on the server."""


class NotAnIndexError(LinkedThreadsError):
    """The object exists but is not a linkedthreads index root."""


class UnsupportedFormatError(NotAnIndexError):
    """The index was written by a newer linkedthreads format than this library reads."""


class InvalidIdError(LinkedThreadsError, ValueError):
    """An ID is empty, too long, has odd characters, or is of the wrong kind for the backend."""


class InvalidScopeNameError(LinkedThreadsError, ValueError):
    """A scope name outside the documented limits (1 to 200 printable characters, no space
    at either end); raised before any request."""


class MetadataError(LinkedThreadsError, ValueError):
    """User metadata is invalid or leaves no room for the keys the library adds."""


class BackendUnavailableError(LinkedThreadsError):
    """The server does not serve the chosen backend."""


class CorruptIndexError(LinkedThreadsError):
    """A page, directory or journal record of the index is damaged or missing."""


class ConcurrentChangeError(LinkedThreadsError):
    """A page the reader needed was collected by a compaction while it read."""


class APIRequestError(LinkedThreadsError):
    """The server refused or failed a request.

    ``status_code`` (``None`` when the server could not be reached), ``code``, ``param`` and
    ``request_id`` are the server's, masked like the message; ``openai_error`` names the
    ``openai`` exception class (``"RateLimitError"``, ``"APIConnectionError"``), which is not
    chained (see the module's docstring).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        openai_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.param = param
        self.request_id = request_id
        self.openai_error = openai_error


class TrackingError(LinkedThreadsError):
    """A tracked client (``index.track(client)``) created or deleted ``object_id``, but the
    index could not record it after its retry policy gave up (the cause is ``__cause__``).

    After a create, the object exists and is not listed: ``index.add(object_id)`` lists it. After
    a delete, the object is gone and still listed: harmless, ``index.remove(object_id)`` or
    ``verify(repair=True)`` forgets it.
    """

    def __init__(self, message: str, *, object_id: str, created: bool) -> None:
        super().__init__(message)
        self.object_id = object_id
        self.created = created
