"""Executors: send ``Request`` values with the one retry policy, count them, map errors.

``SyncExecutor`` drives ``openai.OpenAI`` (batches run on a thread pool);
``AsyncExecutor`` drives ``openai.AsyncOpenAI`` (batches run with ``asyncio.gather``).
Everything else they share: the SDK's own retries are off (``max_retries=0``), transient
failures are retried by tenacity (``_retry.py``), an append is not resent if its nonce is
found among the newest entries, and SDK errors become ours in one place (``map_error``).

An SDK exception is never chained to ours (``__cause__``/``__context__``): it holds the
request with its ``Authorization`` header and the server's answer, which may echo the key,
organisation or project. Ours is raised outside the ``except`` block, with the useful fields
copied and the server's text masked (``_redact``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from tenacity import (
    AsyncRetrying,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from ._backends import Backend, Request
from ._errors import (
    APIRequestError,
    BackendUnavailableError,
    InvalidIdError,
    MetadataError,
)
from ._redact import clip, redact, secrets_of
from ._retry import RetryPolicy, is_transient

if TYPE_CHECKING:  # the SDK is imported when a client is first used (start-up time)
    import openai

__all__ = ["AsyncExecutor", "NotFound", "Outcome", "SyncExecutor", "map_error"]

T = TypeVar("T")


class NotFound(APIRequestError):
    """Internal: the object or entry does not exist (404). The flows turn it into what it
    means where it matters (``IndexNotFoundError``, a page gone, a child already deleted);
    anywhere else it is still a public ``APIRequestError`` with ``status_code`` 404."""


@dataclass(frozen=True)
class Outcome:
    """The result of one request of a batch: a value or an error."""

    value: Any = None
    error: BaseException | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _masked(value: Any, secrets: Sequence[str], limit: int = 200) -> str | None:
    """A field of the server's answer as text with no credential in it, or ``None``."""
    if value is None:
        return None
    return clip(redact(str(value), secrets), limit)


def map_error(
    backend: Backend, what: str, exc: BaseException, secrets: Sequence[str] = ()
) -> BaseException:
    """An SDK exception -> ours, naming the request; ``exc`` itself when it is not an SDK
    exception. Nothing of the result refers to ``exc``; every text the server sent is
    masked (``secrets``: the client's own key, organisation, project)."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = clip(redact(str(body.get("message") or exc.message), secrets))
        raw_code, raw_param = body.get("code"), body.get("param")
        request_id = _masked(exc.request_id, secrets)
        suffix = f" (request {request_id})" if request_id else ""
        unavailable = BackendUnavailableError(
            f"{what}: this server does not serve the {backend.name} API ({message})"
            + (
                " OpenAI sunset the Assistants API (threads) on 2026-08-26: use "
                'backend="conversations".'
                if backend.name == "threads"
                else ""
            )
        )
        if exc.status_code == 404:
            if "invalid url" in message.lower():
                return unavailable
            return NotFound(
                f"{what}: not found{suffix}",
                status_code=404,
                request_id=request_id,
                openai_error=type(exc).__name__,
            )
        if exc.status_code == 400 and raw_code == "invalid_beta":
            return unavailable
        param = _masked(raw_param, secrets) if isinstance(raw_param, str) else None
        if exc.status_code == 400 and isinstance(raw_param, str):
            if raw_param.startswith("metadata"):
                return MetadataError(f"{what}: the server refused {param!r}: {message}")
            if raw_param.endswith("_id"):
                return InvalidIdError(f"{what}: {message}")
        return APIRequestError(
            f"{what}: HTTP {exc.status_code}: {message}{suffix}",
            status_code=exc.status_code,
            code=_masked(raw_code, secrets) if isinstance(raw_code, str) else None,
            param=param,
            request_id=request_id,
            openai_error=type(exc).__name__,
        )
    if isinstance(exc, openai.APIConnectionError):
        return APIRequestError(
            f"{what}: could not reach the server ({type(exc).__name__})",
            openai_error=type(exc).__name__,
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return APIRequestError(
            f"{what}: the server's answer is not of the API's form (HTTP {exc.status_code})",
            status_code=exc.status_code,
            openai_error=type(exc).__name__,
        )
    if isinstance(exc, openai.OpenAIError):
        return APIRequestError(
            f"{what}: {type(exc).__name__}: {clip(redact(str(exc), secrets))}",
            openai_error=type(exc).__name__,
        )
    return exc


def _retrying_kwargs(policy: RetryPolicy) -> dict[str, Any]:
    return {
        "stop": stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_delay),
        "wait": policy.wait_seconds,
        "retry": retry_if_exception(is_transient),
        "reraise": True,
    }


def _landed(entries: Any, landed: Callable[[str], bool]) -> list[str] | None:
    """The IDs of the entries an append wrote, found among ``entries`` by its ``landed``."""
    page, _ = entries
    found = [e.id for e in page if landed(e.text)]
    return found or None


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


class SyncExecutor:
    """Sends requests on an ``openai.OpenAI``; batches run ``concurrency`` at a time."""

    def __init__(
        self, client: openai.OpenAI, backend: Backend, retry: RetryPolicy, concurrency: int
    ) -> None:
        from ._tracking import untracked  # with the SDK, once a client is used

        self.client = untracked(client).with_options(max_retries=0)
        self.backend = backend
        self.retry = retry
        self.requests = _Counter()
        self._secrets = secrets_of(client)
        self._width = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="linkedthreads")
        self._wide: ThreadPoolExecutor | None = None  # for batches wider than the pool
        self._wide_width = 0
        self._wide_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._wide_lock:
            if self._wide is not None:
                self._wide.shutdown(wait=True)

    def _wide_pool(self, width: int) -> ThreadPoolExecutor:
        """A pool of at least ``width`` threads, kept for the next wide batch (its threads
        start as they are first needed), so that a screen's reads leave at once."""
        with self._wide_lock:
            if self._wide is None or self._wide_width < width:
                if self._wide is not None:
                    self._wide.shutdown(wait=False)
                self._wide = ThreadPoolExecutor(width, thread_name_prefix="linkedthreads-wide")
                self._wide_width = width
            return self._wide

    def execute(self, request: Request[T]) -> T:
        try:
            for attempt in Retrying(**_retrying_kwargs(self.retry)):
                with attempt:
                    if request.landed is not None and attempt.retry_state.attempt_number > 1:
                        found = self._check(request)
                        if found is not None:
                            return cast(T, found)
                    self.requests.add()
                    return request.parse(request.send(self.client))
        except BaseException as exc:
            error = map_error(self.backend, request.what, exc, self._secrets)
            if error is exc:
                raise
        raise error  # outside the except block: the SDK's exception is not its __context__

    def _check(self, request: Request[Any]) -> list[str] | None:
        assert request.container is not None
        assert request.landed is not None
        probe = self.backend.list_entries(request.container, order="desc", limit=100)
        try:
            self.requests.add()
            return _landed(probe.parse(probe.send(self.client)), request.landed)
        except Exception:
            return None

    def execute_many(
        self, requests: Sequence[Request[Any]], width: int | None = None
    ) -> list[Outcome]:
        """Send ``requests`` concurrently, at most ``width`` in flight (None: the pool's
        own width); a batch wider than the pool runs on a wider one, kept for the next."""
        bound = width or self._width
        gate = threading.Semaphore(bound) if bound < min(self._width, len(requests)) else None

        def one(r: Request[Any]) -> Outcome:
            try:
                if gate is None:
                    return Outcome(self.execute(r))
                with gate:
                    return Outcome(self.execute(r))
            except Exception as exc:
                return Outcome(error=exc)

        if len(requests) == 1:
            return [one(requests[0])]
        if bound > self._width and len(requests) > self._width:
            pool = self._wide_pool(bound)  # threads start only as many as a batch needs
            return list(pool.map(one, requests))
        return list(self._pool.map(one, requests))


class AsyncExecutor:
    """Sends requests on an ``openai.AsyncOpenAI``; batches run ``concurrency`` at a time."""

    def __init__(
        self, client: openai.AsyncOpenAI, backend: Backend, retry: RetryPolicy, concurrency: int
    ) -> None:
        from ._tracking import untracked  # with the SDK, once a client is used

        self.client = untracked(client).with_options(max_retries=0)
        self.backend = backend
        self.retry = retry
        self.requests = _Counter()
        self._secrets = secrets_of(client)
        self._concurrency = concurrency

    async def execute(self, request: Request[T]) -> T:
        try:
            async for attempt in AsyncRetrying(**_retrying_kwargs(self.retry)):
                with attempt:
                    if request.landed is not None and attempt.retry_state.attempt_number > 1:
                        found = await self._check(request)
                        if found is not None:
                            return cast(T, found)
                    self.requests.add()
                    return request.parse(await request.send(self.client))
        except BaseException as exc:
            error = map_error(self.backend, request.what, exc, self._secrets)
            if error is exc:
                raise
        raise error  # outside the except block: the SDK's exception is not its __context__

    async def _check(self, request: Request[Any]) -> list[str] | None:
        assert request.container is not None
        assert request.landed is not None
        probe = self.backend.list_entries(request.container, order="desc", limit=100)
        try:
            self.requests.add()
            return _landed(probe.parse(await probe.send(self.client)), request.landed)
        except Exception:
            return None

    async def execute_many(
        self, requests: Sequence[Request[Any]], width: int | None = None
    ) -> list[Outcome]:
        """Send ``requests`` concurrently, at most ``width`` in flight (None: the
        executor's own)."""
        gate = asyncio.Semaphore(width or self._concurrency)

        async def one(r: Request[Any]) -> Outcome:
            async with gate:
                try:
                    return Outcome(await self.execute(r))
                except Exception as exc:
                    return Outcome(error=exc)

        return list(await asyncio.gather(*(one(r) for r in requests)))
