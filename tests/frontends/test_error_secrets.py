"""No error the library raises shows a key, organisation, project or cookie, even from a
server that echoes them back (issue 16, finding 5).

The server here echoes the ``Authorization``, ``OpenAI-Organization``, ``OpenAI-Project``
and ``Cookie`` headers in its error's message, type, code, param, in ``x-request-id`` and in
other headers, and in the text of a connection error. The canaries are checked in
everything an exception carries or chains: ``str``, ``repr``, ``args``, attributes,
``__notes__``, ``__cause__`` and ``__context__`` (every link), the whole
``traceback.format_exception`` text and what ``logging.exception`` writes; sync and async;
400, 401, 404, 429, 500 and a connection error; on the first request (``open``/``create``)
and on batched writes of an open index.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest

from linkedthreads import (
    AsyncThreadIndex,
    IndexSettings,
    LinkedThreadsError,
    RetryPolicy,
    ThreadIndex,
)
from linkedthreads._redact import clip, redact, secrets_of

SHAPED = {  # as OpenAI issues them
    "key": "sk-proj-KEYSECRETab12cd34ef56gh78ij90",
    "org": "org-ORGSECRETab12cd34ef56gh78",
    "project": "proj_PROJSECRETab12cd34ef56gh",
}
UNSHAPED = {  # an Azure-style key and odd IDs: only the client's own values find them
    "key": "0KEYSECRET3f9a8b7c6d5e4f3a2b1c0d9e",
    "org": "myteam-ORGSECRET-42",
    "project": "default-PROJSECRET-7",
}
MIDDLES = ("KEYSECRET", "ORGSECRET", "PROJSECRET", "COOKIESECRET")
COOKIE = {"Cookie": "sid=COOKIESECRET0123456789"}
SETTINGS = IndexSettings(retry=RetryPolicy.instant(attempts=2))
ROOT = "conv_" + "a" * 48

KINDS = ["400-metadata", "400", "401", "404", "429", "500", "connection"]


def echoed(request: httpx2.Request) -> str:
    auth = request.headers.get("authorization", "")
    return (
        f"you sent {auth!r} (key {auth.removeprefix('Bearer ')}) as "
        f"{request.headers.get('openai-organization', '')} in "
        f"{request.headers.get('openai-project', '')} with {request.headers.get('cookie')}"
    )


def echo_error(kind: str, request: httpx2.Request) -> httpx2.Response:
    """The answer of a server that repeats every credential it was sent."""
    text = echoed(request)
    if kind == "connection":
        raise httpx2.ConnectError(f"connection refused for {text}", request=request)
    status = int(kind.split("-")[0])
    param = f"metadata.{text}" if kind == "400-metadata" else text
    return httpx2.Response(
        status,
        json={"error": {"message": text, "type": text, "code": text, "param": param}},
        headers={
            "x-request-id": f"req_{text}",
            "x-echo": text,
            "www-authenticate": text,
            "retry-after-ms": "0",
        },
    )


class EchoAfter(httpx2.HTTPTransport):
    """Forwards to a real server until ``kind`` is set, then answers with ``echo_error``."""

    kind: str | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.kind is not None:
            return echo_error(self.kind, request)
        return super().handle_request(request)


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__]


def everything(exc: BaseException) -> str:
    """All an exception shows: its chain's str/repr/args/attributes/notes and the
    formatted traceback, and what logging.exception writes."""
    parts = ["".join(traceback.format_exception(exc))]
    for e in chain(exc):
        parts += [str(e), repr(e), repr(e.args), repr(vars(e))]
        parts += [repr(getattr(e, "__notes__", None))]
    logger = logging.getLogger("linkedthreads.test.secrets")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.setFormatter(logging.Formatter())
    logger.addHandler(handler)
    try:
        try:
            raise exc
        except BaseException:
            logger.exception("the index failed")
    finally:
        logger.removeHandler(handler)
    parts += [handler.format(r) for r in records]
    return "\n".join(parts)


def assert_clean(exc: BaseException) -> None:
    assert not any(isinstance(e, openai.OpenAIError) for e in chain(exc)), list(chain(exc))
    text = everything(exc)
    assert "Traceback" in text  # the traceback was formatted
    leaked = [m for m in MIDDLES if m in text]
    assert not leaked, f"{leaked} in:\n{text}"


def sync_client(values: dict[str, str], transport: httpx2.BaseTransport) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://127.0.0.1:9/v1",
        api_key=values["key"],
        organization=values["org"],
        project=values["project"],
        default_headers=COOKIE,
        http_client=openai.DefaultHttpxClient(transport=transport),
    )


@pytest.mark.parametrize("values", [SHAPED, UNSHAPED], ids=["shaped", "unshaped"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation", ["open", "create"])
def test_sync_errors_show_no_credential(values: dict[str, str], kind: str, operation: str) -> None:
    transport = httpx2.MockTransport(lambda request: echo_error(kind, request))
    client = sync_client(values, transport)
    start: Callable[[], Any] = (
        (lambda: ThreadIndex.open(client, ROOT, settings=SETTINGS))
        if operation == "open"
        else (lambda: ThreadIndex.create(client, backend="conversations", settings=SETTINGS))
    )
    try:
        with pytest.raises(LinkedThreadsError) as info:
            start()
    finally:
        client.close()
    assert_clean(info.value)


@pytest.mark.parametrize("values", [SHAPED, UNSHAPED], ids=["shaped", "unshaped"])
@pytest.mark.parametrize("kind", KINDS)
def test_async_errors_show_no_credential(values: dict[str, str], kind: str) -> None:
    async def run() -> BaseException:
        transport = httpx2.MockTransport(lambda request: echo_error(kind, request))
        client = openai.AsyncOpenAI(
            base_url="http://127.0.0.1:9/v1",
            api_key=values["key"],
            organization=values["org"],
            project=values["project"],
            default_headers=COOKIE,
            http_client=openai.DefaultAsyncHttpxClient(transport=transport),
        )
        try:
            with pytest.raises(LinkedThreadsError) as info:
                await AsyncThreadIndex.open(client, ROOT, settings=SETTINGS)
            return info.value
        finally:
            await client.close()

    assert_clean(asyncio.run(run()))


@pytest.mark.parametrize("kind", ["401", "429", "500", "connection"])
def test_errors_of_an_open_index_show_no_credential(emulator: Any, kind: str) -> None:
    """Writes and batched reads of a working index, once the server starts echoing."""
    transport = EchoAfter()
    client = openai.OpenAI(
        base_url=emulator.base_url,
        api_key=SHAPED["key"],
        organization=SHAPED["org"],
        project=SHAPED["project"],
        default_headers=COOKIE,
        http_client=openai.DefaultHttpxClient(transport=transport),
    )
    index = ThreadIndex.create(client, backend="conversations", settings=SETTINGS)
    try:
        index.create_children(3)
        transport.kind = kind
        actions: list[Callable[[], Any]] = [
            index.create_child,
            lambda: index.create_children(5),
            lambda: index.add_many(["conv_" + "b" * 48]),
            lambda: list(ThreadIndex.open(client, index.root_id, settings=SETTINGS).all()),
            lambda: index.verify(),
        ]
        for action in actions:
            with pytest.raises(LinkedThreadsError) as info:
                action()
            assert_clean(info.value)
    finally:
        index.close()
        client.close()


def test_the_library_error_keeps_the_useful_fields() -> None:
    """status, code, param, request ID and the SDK class name are copied (masked)."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            429,
            json={"error": {"message": "slow down", "code": "rate_limit", "param": "p"}},
            headers={"x-request-id": "req_123"},
        )

    client = sync_client(SHAPED, httpx2.MockTransport(answer))
    try:
        with pytest.raises(LinkedThreadsError) as info:
            ThreadIndex.open(client, ROOT, settings=IndexSettings(retry=RetryPolicy.none()))
    finally:
        client.close()
    exc: Any = info.value
    assert (exc.status_code, exc.code, exc.param, exc.request_id, exc.openai_error) == (
        429,
        "rate_limit",
        "p",
        "req_123",
        "RateLimitError",
    )
    assert "slow down" in str(exc)
    assert "req_123" in str(exc)
    assert exc.__cause__ is None
    assert exc.__context__ is None


def test_redact_masks_shapes_and_configured_values() -> None:
    text = (
        "key sk-proj-abc123def456 org org-AbCdEf123456 project proj_AbCd1234 "
        "header Bearer xyz.abc, Basic dXNlcjpwYXNz, own 0f0f0f0f0f0f; task-manager "
        "cyborg-unit conv_123 thread_abc"
    )
    out = redact(text, ["0f0f0f0f0f0f", None, "k"])
    for secret in ("abc123def456", "AbCdEf123456", "AbCd1234", "xyz.abc", "dXNlcjpwYXNz", "0f0f"):
        assert secret not in out
    for kept in ("task-manager", "cyborg-unit", "conv_123", "thread_abc"):
        assert kept in out
    assert clip("a\n\tb" + "c" * 600, 10) == "a bcccccc…"
    client = openai.OpenAI(
        api_key="sk-x1234567",
        organization="org-y",
        project="proj_z",
        default_headers={"Cookie": "session=c00kie", "X-Other": "public"},
    )
    try:
        found = set(secrets_of(client))
        assert found >= {"sk-x1234567", "org-y", "proj_z", "session=c00kie"}
        assert "public" not in found
    finally:
        client.close()
