"""The HTTP layer: Starlette routing, then for each API request, in this order:

1. count it under its method and route template (``POST /v1/conversations``);
2. 404 ``Invalid URL`` on a threads route if ``threads_sunset``;
3. bearer authentication (401), then ``OpenAI-Beta: assistants=v2`` on threads routes (400);
4. rate limits (429), then latency, then an injected fault (429, 500, 503, or a cut
   connection), all seeded;
5. decode the body and query, call the state layer, serialise its answer or its error;
6. for a write picked as a lost response: apply it, then cut the connection.

Every answer carries ``x-request-id``, ``openai-processing-ms`` and ``openai-version``;
every answer of an API route also ``openai-organization`` and ``openai-project`` (the
emulated account's: settings ``organization``/``project``; request values are never
echoed). Bodies are JSON on one line with ``", "`` and
``": "`` separators, as recorded. ``/_emulator/*`` is the control plane: not counted,
guarded against browsers and, with a control key, authenticated (``_control``).

About 500 lines: the steps above are one ordered pipeline, kept in one module so that its
order can be read top to bottom; the routes' bodies live in ``_models``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from . import _errors as e
from ._control import control_refusal
from ._faults import FaultInjector, RateLimiter
from ._models import EventStream, InMemoryStore
from ._settings import FAULT_KINDS, EmulatorSettings

JSON = Any
log = logging.getLogger("linkedthreads.emulator")

OPENAI_VERSION = b"2020-10-01"
DROP_LOG_MESSAGE = "ASGI callable returned without completing response."
WRITE_METHODS = frozenset({"POST", "DELETE"})


class Stats:
    """Request counters, safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._faults: Counter[str] = Counter({k: 0 for k in (*FAULT_KINDS, "lost_response")})
            self._rate_limited = 0
            self._unmatched = 0

    def request(self, key: str) -> None:
        with self._lock:
            self._requests[key] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1

    def unmatched(self) -> None:
        with self._lock:
            self._unmatched += 1

    def snapshot(self) -> dict[str, JSON]:
        """``{"requests": {route: n}, "total": n, "faults": {kind: n}, "rate_limited": n,
        "unmatched": n}``; faulted and rate-limited requests are in ``requests`` too."""
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "total": sum(self._requests.values()),
                "faults": dict(self._faults),
                "rate_limited": self._rate_limited,
                "unmatched": self._unmatched,
            }


class Runtime:
    """Everything a running emulator holds: state, counters, fault and rate-limit streams."""

    def __init__(
        self, settings: EmulatorSettings, on_write: Callable[[], None] | None = None
    ) -> None:
        self.backend = InMemoryStore(settings)
        self.stats = Stats()
        self.faults = FaultInjector(settings.seed)
        self.limiter = RateLimiter()
        self.on_write = on_write

    @property
    def settings(self) -> EmulatorSettings:
        return self.backend.settings

    @settings.setter
    def settings(self, value: EmulatorSettings) -> None:
        self.backend.settings = value

    def reset(self) -> None:
        """Wipe all state and counters; restart the seeded streams."""
        self.backend.reset()
        self.stats.reset()
        self.faults = FaultInjector(self.settings.seed)
        self.limiter.reset()
        if self.on_write is not None:
            self.on_write()


class _DropFilter(logging.Filter):
    """Hides uvicorn's error line for a connection the emulator cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != DROP_LOG_MESSAGE


_drop_filter_lock = threading.Lock()


def install_drop_log_filter() -> None:
    """Add :class:`_DropFilter` to uvicorn's error logger once per process."""
    logger = logging.getLogger("uvicorn.error")
    with _drop_filter_lock:
        if not any(isinstance(f, _DropFilter) for f in logger.filters):
            logger.addFilter(_DropFilter())


# --- request decoding and answers --------------------------------------------------------


class Call:
    """One decoded API request, as the handlers see it."""

    __slots__ = ("body", "params", "query")

    def __init__(self, params: Mapping[str, str], query: QueryParams, body: JSON) -> None:
        self.params = params
        self.query = query
        self.body = body

    def include(self) -> tuple[str, ...]:
        return (*self.query.getlist("include"), *self.query.getlist("include[]"))


Handler = Callable[[InMemoryStore, Call], "dict[str, JSON] | EventStream"]

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    (
        "/v1/threads",
        {
            "POST": lambda b, c: b.create_thread(c.body),
            "GET": lambda b, c: b.list_containers("threads", c.query),
        },
    ),
    (
        "/v1/threads/runs",  # before /v1/threads/{thread_id}, which would match it
        {"POST": lambda b, c: b.create_thread_and_run(c.body)},
    ),
    (
        "/v1/threads/{thread_id}",
        {
            "GET": lambda b, c: b.get_thread(c.params["thread_id"]),
            "POST": lambda b, c: b.modify_thread(c.params["thread_id"], c.body),
            "DELETE": lambda b, c: b.delete_thread(c.params["thread_id"]),
        },
    ),
    (
        "/v1/threads/{thread_id}/messages",
        {
            "GET": lambda b, c: b.list_messages(c.params["thread_id"], c.query),
            "POST": lambda b, c: b.create_message(c.params["thread_id"], c.body),
        },
    ),
    (
        "/v1/threads/{thread_id}/messages/{message_id}",
        {
            "GET": lambda b, c: b.get_message(c.params["thread_id"], c.params["message_id"]),
            "POST": lambda b, c: b.modify_message(
                c.params["thread_id"], c.params["message_id"], c.body
            ),
            "DELETE": lambda b, c: b.delete_message(c.params["thread_id"], c.params["message_id"]),
        },
    ),
    (
        "/v1/conversations",
        {
            "POST": lambda b, c: b.create_conversation(c.body),
            "GET": lambda b, c: b.list_containers("conversations", c.query),
        },
    ),
    (
        "/v1/conversations/{conversation_id}",
        {
            "GET": lambda b, c: b.get_conversation(c.params["conversation_id"]),
            "POST": lambda b, c: b.update_conversation(c.params["conversation_id"], c.body),
            "DELETE": lambda b, c: b.delete_conversation(c.params["conversation_id"]),
        },
    ),
    (
        "/v1/conversations/{conversation_id}/items",
        {
            "GET": lambda b, c: b.list_items(c.params["conversation_id"], c.query, c.include()),
            "POST": lambda b, c: b.create_items(c.params["conversation_id"], c.body, c.include()),
        },
    ),
    (
        "/v1/conversations/{conversation_id}/items/{item_id}",
        {
            "GET": lambda b, c: b.get_item(
                c.params["conversation_id"], c.params["item_id"], c.include()
            ),
            "DELETE": lambda b, c: b.delete_item(c.params["conversation_id"], c.params["item_id"]),
        },
    ),
]


# Served only with the setting ``list_endpoints`` (benchmarks; not OpenAI's behaviour).
LIST_ROUTES = frozenset({"/v1/threads", "/v1/conversations"})

# POST routes whose spec marks the request body as required: an empty body is not JSON.
BODY_REQUIRED = frozenset(
    {
        "/v1/threads/runs",
        "/v1/threads/{thread_id}",
        "/v1/threads/{thread_id}/messages",
        "/v1/threads/{thread_id}/messages/{message_id}",
        "/v1/conversations/{conversation_id}/items",
    }
)


class ClientGone(Exception):
    """The client disconnected before its request body arrived: nothing is applied (a
    server does not act on half a request)."""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _decode_json(raw: bytes, required: bool) -> JSON:
    """The JSON body; ``{}`` if empty and optional."""
    if not raw.strip() and not required:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise e.invalid_json() from None


class Answerer:
    """Sends answers with the headers OpenAI puts on every response."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _headers(
        self, started: float, body_len: int, extra: Mapping[str, str] | None = None
    ) -> list[tuple[bytes, bytes]]:
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(body_len).encode()),
            (b"x-request-id", self.runtime.backend.ids.request_id().encode()),
            (b"openai-processing-ms", str(elapsed_ms).encode()),
            (b"openai-version", OPENAI_VERSION),
        ]
        if extra:
            headers.extend((k.encode(), v.encode()) for k, v in extra.items())
        return headers

    async def json(
        self,
        send: Send,
        started: float,
        status: int,
        obj: JSON,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        body = json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": self._headers(started, len(body), extra),
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def events(
        self,
        send: Send,
        started: float,
        stream: EventStream,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        """Server-sent events, as OpenAI streams runs: one ``event:``/``data:`` pair each."""
        parts = [
            f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            for name, data in stream.events
        ]
        parts.append("event: done\ndata: [DONE]\n\n")
        body = "".join(parts).encode()
        headers = self._headers(started, len(body), extra)
        headers[0] = (b"content-type", b"text/event-stream; charset=utf-8")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def error(
        self,
        send: Send,
        started: float,
        err: e.APIError,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        await self.json(send, started, err.status, err.body(), {**(extra or {}), **err.headers})

    async def drop(self, send: Send, started: float) -> None:
        """Cut the connection mid-answer: headers promise a body that never comes, and
        uvicorn closes the transport when the app returns (the client sees a protocol
        error, i.e. ``openai.APIConnectionError``)."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": self._headers(started, 4096),
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})


class Endpoint:
    """The ASGI app behind one route template: every method of that path."""

    def __init__(self, runtime: Runtime, template: str, methods: Mapping[str, Handler]) -> None:
        self.runtime = runtime
        self.template = template
        self.methods = dict(methods)
        self.answer = Answerer(runtime)
        self.is_threads = template.startswith("/v1/threads")

    def _check_access(self, method: str, path: str, headers: Headers) -> None:
        settings = self.runtime.settings
        auth = headers.get("authorization", "")
        scheme, _, key = auth.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise e.missing_api_key()
        if settings.api_key is not None and key != settings.api_key:
            raise e.incorrect_api_key(key)
        if self.is_threads:
            if settings.threads_sunset:
                raise e.invalid_url(method, path)
            betas = {b.strip() for b in headers.get("openai-beta", "").split(",")}
            if "assistants=v2" not in betas:
                raise e.invalid_beta()

    def _account(self) -> dict[str, str]:
        """``openai-organization`` and ``openai-project`` of the answer: the emulated
        account's (settings ``organization`` and ``project``). OpenAI names the caller's
        organisation there; the emulator has one account and never echoes the request's
        ``OpenAI-Organization``/``OpenAI-Project`` values (IDs a client keeps secret, which
        an echo would put in every DEBUG log of the answer's headers)."""
        settings = self.runtime.settings
        return {"openai-organization": settings.organization, "openai-project": settings.project}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        rt = self.runtime
        method: str = scope["method"]
        request_headers = Headers(scope=scope)
        account = self._account()
        handler = self.methods.get(method)
        if method == "GET" and self.template in LIST_ROUTES and not rt.settings.list_endpoints:
            handler = None  # OpenAI has no list endpoint (setting list_endpoints)
        if handler is None:
            rt.stats.unmatched()
            allow = sorted(
                m
                for m in self.methods
                if not (
                    m == "GET" and self.template in LIST_ROUTES and not rt.settings.list_endpoints
                )
            )
            await self.answer.error(
                send, started, e.method_not_allowed(method, scope["path"], allow), account
            )
            return
        key = f"{method} {self.template}"
        rt.stats.request(key)
        is_write = method in WRITE_METHODS
        lost = False
        try:
            settings = rt.settings
            self._check_access(method, scope["path"], request_headers)
            limited = rt.limiter.check(
                settings.rate_limits, settings.rate_limit_window_s, (key, method), time.monotonic()
            )
            if limited is not None:
                rt.stats.rate_limited()
                wait = None if settings.retry_after_s is None else limited.retry_after_s
                raise e.rate_limited(
                    wait,
                    {
                        "x-ratelimit-limit-requests": str(limited.limit),
                        "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": f"{int(limited.retry_after_s)}s",
                    },
                )
            decision = rt.faults.decide(settings, is_write)
            lost = decision.lost_response
            if decision.delay_s > 0:
                await asyncio.sleep(decision.delay_s)
            if decision.fault is not None:
                rt.stats.fault(decision.fault)
                if decision.fault == "drop":
                    await self.answer.drop(send, started)
                    return
                raise e.injected(decision.fault, settings.retry_after_s)
            body = None
            if method == "POST":
                raw = await _read_body(receive)
                body = _decode_json(raw, self.template in BODY_REQUIRED)
            call = Call(scope.get("path_params", {}), QueryParams(scope["query_string"]), body)
            result = handler(rt.backend, call)
        except ClientGone:
            return
        except e.APIError as err:
            await self.answer.error(send, started, err, account)
            return
        except Exception:
            log.exception("emulator error on %s %s", method, scope["path"])
            await self.answer.error(send, started, e.server_error(), account)
            return
        if is_write and rt.on_write is not None:
            rt.on_write()
        if lost:
            rt.stats.fault("lost_response")
            await self.answer.drop(send, started)
            return
        if isinstance(result, EventStream):
            await self.answer.events(send, started, result, account)
            return
        await self.answer.json(send, started, 200, result, account)


class ControlPlane:
    """``/_emulator/{stats,reset_stats,objects,reset}``: not counted; refused to browsers
    and, with a control key, to whoever lacks it (``_control``)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.answer = Answerer(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        rt = self.runtime
        request = (scope["method"], scope["path_params"]["action"])
        try:
            raw = await _read_body(receive)
        except ClientGone:
            return
        refusal = control_refusal(scope["method"], Headers(scope=scope), raw, rt.settings)
        if refusal is not None:
            await self.answer.error(send, started, refusal)
            return
        result: JSON
        if request == ("GET", "stats"):
            result = rt.stats.snapshot()
        elif request == ("GET", "objects"):
            result = {
                kind: sorted(rt.backend.live_ids(kind)) for kind in ("threads", "conversations")
            }
        elif request == ("POST", "reset_stats"):
            rt.stats.reset()
            result = {"ok": True}
        elif request == ("POST", "reset"):
            rt.reset()
            result = {"ok": True}
        else:
            await self.answer.error(send, started, e.invalid_url(scope["method"], scope["path"]))
            return
        await self.answer.json(send, started, 200, result)


def create_app(runtime: Runtime) -> Router:
    """The ASGI application serving ``runtime``."""
    install_drop_log_filter()
    answer = Answerer(runtime)

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        if scope["type"] != "http":
            return
        runtime.stats.unmatched()
        await answer.error(send, started, e.invalid_url(scope["method"], scope["path"]))

    routes = [Route(path, Endpoint(runtime, path, methods)) for path, methods in ROUTES]
    routes.append(Route("/_emulator/{action}", ControlPlane(runtime)))
    return Router(routes, redirect_slashes=False, default=not_found)
