"""Tracking clients: an ``openai.OpenAI`` (or ``AsyncOpenAI``) whose creates and deletes of
threads or conversations are recorded in an index (``ThreadIndex.track``).

The extension point is the SDK's own: its HTTP client (``client.with_options(http_client=...)``).
The tracked client is a copy of the caller's; its HTTP client hands every request to the
caller's HTTP client unchanged (same connection pool, proxies, hooks, transport), and looks at
the answer only when the request creates or deletes an object of the index's kind:

- conversations: ``POST …/conversations`` creates (the answer is the conversation);
  ``DELETE …/conversations/{id}`` deletes.
- threads: ``POST …/threads`` creates; so does ``POST …/threads/runs`` (``create_and_run``:
  the answer is a run naming its ``thread_id``, or with ``stream=True`` an event stream whose
  first event, ``thread.created``, names it); ``DELETE …/threads/{id}`` deletes.

Paths are matched on their last segments, so any base URL prefix (``/v1``, Azure's
``/openai``) works. Every other request passes through untouched, with no request added.

What to record goes to a ``Recorder`` (the index front end supplies it: its group commit and
upkeep), so this module knows HTTP and nothing of the protocol: ``begin`` before the request is
sent, then ``record`` once the answer names an object, or ``abandon`` if it names none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import httpx2
import openai

__all__ = [
    "AsyncRecorder",
    "AsyncTrackedHttpClient",
    "Change",
    "Recorder",
    "TrackedHttpClient",
    "classify",
    "created_id",
    "tracked_async_client",
    "tracked_client",
    "untracked",
]

log = logging.getLogger("linkedthreads.tracking")

Op = Literal["add", "rm"]
ClientT = TypeVar("ClientT", openai.OpenAI, openai.AsyncOpenAI)

# The most of an event stream read before its thread is named; the first event names it.
_MAX_STREAM_HEAD = 1 << 20


@dataclass(frozen=True)
class Change:
    """What a request does to objects of the index's kind: ``op`` is ``add`` for a create,
    ``rm`` for a delete; ``target`` is the deleted ID (known from the path) or None."""

    op: Op
    target: str | None = None


def classify(method: str, path: str, backend: str) -> Change | None:
    """The change a request makes, from its method and URL path; None: it changes no list.

    >>> classify("POST", "/v1/conversations", "conversations")
    Change(op='add', target=None)
    >>> classify("POST", "/openai/v1/threads/runs", "threads")
    Change(op='add', target=None)
    >>> classify("DELETE", "/v1/conversations/conv_1/items/msg_2", "conversations") is None
    True
    """
    parts = [p for p in path.split("/") if p]
    noun, prefix = ("threads", "thread_") if backend == "threads" else ("conversations", "conv_")
    method = method.upper()
    if method == "POST" and parts[-1:] == [noun]:
        return Change("add")
    if method == "POST" and backend == "threads" and parts[-2:] == ["threads", "runs"]:
        return Change("add")
    if (
        method == "DELETE"
        and len(parts) >= 2
        and parts[-2] == noun
        and parts[-1].startswith(prefix)
    ):
        return Change("rm", parts[-1])
    return None


def _named(obj: Any, backend: str) -> str | None:
    """The ID of the object of the index's kind that an answer (or an event's data) names."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("object")
    value: Any = None
    if kind == {"conversations": "conversation", "threads": "thread"}.get(backend):
        value = obj.get("id")
    elif backend == "threads" and kind == "thread.run":
        value = obj.get("thread_id")
    return value if isinstance(value, str) and value else None


def created_id(change: Change, status: int, body: bytes, backend: str) -> str | None:
    """The ID a create or delete answer reports as created or deleted; None if it reports
    none (an error answer, or not the object expected)."""
    if not 200 <= status < 300:
        return None
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if change.op == "rm":
        ok = isinstance(obj, dict) and obj.get("deleted") is True
        return change.target if ok else None
    return _named(obj, backend)


class _EventScan:
    """Finds the thread an event stream names (``thread.created`` or ``thread.run.created``)
    in the bytes read so far."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.buffer = b""

    def feed(self, chunk: bytes) -> str | None:
        self.buffer += chunk
        text = self.buffer.replace(b"\r\n", b"\n")
        *events, _ = text.split(b"\n\n")
        for event in events:
            data = b"\n".join(
                line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")
            )
            try:
                found = _named(json.loads(data), self.backend) if data else None
            except ValueError:
                found = None
            if found is not None:
                return found
        return None


def _is_event_stream(response: httpx2.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _headers_for(response: httpx2.Response) -> list[tuple[str, str]]:
    """The answer's headers for a body handed on decoded (so without encoding and length)."""
    return [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]


def _rebuilt(response: httpx2.Response, stream: Any) -> httpx2.Response:
    return httpx2.Response(
        response.status_code,
        headers=_headers_for(response),
        stream=stream,
        extensions=response.extensions,
    )


class Recorder(Protocol):
    """What a tracked client needs of an index (sync)."""

    backend: str

    def begin(self) -> None:
        """A create or delete is about to be sent (announce it to the group commit)."""

    def abandon(self) -> None:
        """The announced request changed nothing."""

    def record(self, op: Op, object_id: str) -> None:
        """Append the record; raise ``TrackingError`` naming ``object_id`` if it fails."""


class AsyncRecorder(Protocol):
    """What a tracked async client needs of an index."""

    backend: str

    async def begin(self) -> None: ...

    def abandon(self) -> None: ...

    async def record(self, op: Op, object_id: str) -> None: ...


def _lost(change: Change, exc: BaseException) -> None:
    """Log a create whose answer never came (a request never sent made nothing)."""
    if change.op == "add" and not isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout)):
        log.warning(
            "a create got no answer (%s): if the server applied it, an object exists that "
            "no index lists (docs/design.md, 8.2)",
            type(exc).__name__,
        )


class _SyncStream(httpx2.SyncByteStream):
    """The bytes read already, then the rest of the answer."""

    def __init__(self, head: bytes, rest: Iterator[bytes], response: httpx2.Response) -> None:
        self._head, self._rest, self._response = head, rest, response

    def __iter__(self) -> Iterator[bytes]:
        if self._head:
            yield self._head
        yield from self._rest

    def close(self) -> None:
        self._response.close()


class _AsyncStream(httpx2.AsyncByteStream):
    def __init__(self, head: bytes, rest: AsyncIterator[bytes], response: httpx2.Response) -> None:
        self._head, self._rest, self._response = head, rest, response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._head:
            yield self._head
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class TrackingTransport(httpx2.BaseTransport):
    """Sends every request through the caller's HTTP client; records creates and deletes."""

    def __init__(self, inner: httpx2.Client, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        change = classify(request.method, request.url.path, self.recorder.backend)
        if change is None:
            return self.inner.send(request, stream=True)
        self.recorder.begin()
        try:
            response = self.inner.send(request, stream=True)
        except BaseException as exc:
            self.recorder.abandon()
            _lost(change, exc)
            raise
        try:
            object_id, response = self._read(change, response)
        except BaseException as exc:  # the answer was cut: the create may have been applied
            self.recorder.abandon()
            _lost(change, exc)
            response.close()
            raise
        if object_id is None:
            self.recorder.abandon()
            return response
        try:
            self.recorder.record(change.op, object_id)
        except BaseException:
            response.close()
            raise
        return response

    def _read(
        self, change: Change, response: httpx2.Response
    ) -> tuple[str | None, httpx2.Response]:
        backend = self.recorder.backend
        if change.op == "add" and _is_event_stream(response) and response.is_success:
            scan = _EventScan(backend)
            chunks = response.iter_bytes()
            found = None
            for chunk in chunks:
                found = scan.feed(chunk)
                if found is not None or len(scan.buffer) > _MAX_STREAM_HEAD:
                    break
            return found, _rebuilt(response, _SyncStream(scan.buffer, chunks, response))
        body = response.read()
        response.close()
        found = created_id(change, response.status_code, body, backend)
        return found, _rebuilt(response, httpx2.ByteStream(body))

    def close(self) -> None:
        """The caller's HTTP client is the caller's to close."""


class AsyncTrackingTransport(httpx2.AsyncBaseTransport):
    """The asyncio twin of ``TrackingTransport``."""

    def __init__(self, inner: httpx2.AsyncClient, recorder: AsyncRecorder) -> None:
        self.inner = inner
        self.recorder = recorder

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        change = classify(request.method, request.url.path, self.recorder.backend)
        if change is None:
            return await self.inner.send(request, stream=True)
        await self.recorder.begin()
        try:
            response = await self.inner.send(request, stream=True)
        except BaseException as exc:
            self.recorder.abandon()
            _lost(change, exc)
            raise
        try:
            object_id, response = await self._read(change, response)
        except BaseException as exc:  # the answer was cut: the create may have been applied
            self.recorder.abandon()
            _lost(change, exc)
            await response.aclose()
            raise
        if object_id is None:
            self.recorder.abandon()
            return response
        try:
            await self.recorder.record(change.op, object_id)
        except BaseException:
            await response.aclose()
            raise
        return response

    async def _read(
        self, change: Change, response: httpx2.Response
    ) -> tuple[str | None, httpx2.Response]:
        backend = self.recorder.backend
        if change.op == "add" and _is_event_stream(response) and response.is_success:
            scan = _EventScan(backend)
            chunks = response.aiter_bytes()
            found = None
            async for chunk in chunks:
                found = scan.feed(chunk)
                if found is not None or len(scan.buffer) > _MAX_STREAM_HEAD:
                    break
            return found, _rebuilt(response, _AsyncStream(scan.buffer, chunks, response))
        body = await response.aread()
        await response.aclose()
        found = created_id(change, response.status_code, body, backend)
        return found, _rebuilt(response, httpx2.ByteStream(body))

    async def aclose(self) -> None:
        """The caller's HTTP client is the caller's to close."""


class TrackedHttpClient(httpx2.Client):
    """The HTTP client of a tracked ``openai.OpenAI``; ``inner`` is the caller's."""

    def __init__(self, inner: httpx2.Client, recorder: Recorder) -> None:
        super().__init__(transport=TrackingTransport(inner, recorder))
        self.inner = inner


class AsyncTrackedHttpClient(httpx2.AsyncClient):
    """The HTTP client of a tracked ``openai.AsyncOpenAI``; ``inner`` is the caller's."""

    def __init__(self, inner: httpx2.AsyncClient, recorder: AsyncRecorder) -> None:
        super().__init__(transport=AsyncTrackingTransport(inner, recorder))
        self.inner = inner


def _http_client_of(client: Any, kind: type[Any]) -> Any:
    http = getattr(client, "_client", None)  # the SDK's HTTP client (openai 3.x)
    if not isinstance(http, kind):
        raise TypeError(
            "track needs a client whose HTTP client is an httpx2 one (the openai default, or "
            f"http_client=httpx2.{kind.__name__}(...)), not {type(http).__name__}"
        )
    return http


def tracked_client(client: openai.OpenAI, recorder: Recorder) -> openai.OpenAI:
    """A copy of ``client`` whose creates and deletes ``recorder`` records."""
    if not isinstance(client, openai.OpenAI):
        raise TypeError(
            f"client must be an openai.OpenAI, not {type(client).__name__}"
            + (
                " (track an AsyncOpenAI with AsyncThreadIndex)"
                if isinstance(client, openai.AsyncOpenAI)
                else ""
            )
        )
    inner = _http_client_of(client, httpx2.Client)
    return client.with_options(http_client=TrackedHttpClient(inner, recorder))


def tracked_async_client(client: openai.AsyncOpenAI, recorder: AsyncRecorder) -> openai.AsyncOpenAI:
    """A copy of ``client`` whose creates and deletes ``recorder`` records."""
    if not isinstance(client, openai.AsyncOpenAI):
        raise TypeError(
            f"client must be an openai.AsyncOpenAI, not {type(client).__name__}"
            + (" (track an OpenAI with ThreadIndex)" if isinstance(client, openai.OpenAI) else "")
        )
    inner = _http_client_of(client, httpx2.AsyncClient)
    return client.with_options(http_client=AsyncTrackedHttpClient(inner, recorder))


def untracked(client: ClientT) -> ClientT:
    """``client`` without tracking: an index never tracks its own requests (no loops; index
    objects are never listed as children). Any other client is returned as it is."""
    http: Any = getattr(client, "_client", None)
    if not isinstance(http, (TrackedHttpClient, AsyncTrackedHttpClient)):
        return client
    while isinstance(http, (TrackedHttpClient, AsyncTrackedHttpClient)):
        http = http.inner
    return client.with_options(http_client=http)
