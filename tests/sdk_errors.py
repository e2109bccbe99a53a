"""SDK exceptions built by the SDK itself, for fakes and tests.

A test that constructs ``openai.APIConnectionError(...)`` by hand depends on the
constructor of one SDK release (openai 3.60 reads ``request.headers``, so
``request=None`` broke). Here the real ``openai.OpenAI`` client raises each error from a
real ``httpx2`` request and response, through an in-process ``httpx2.MockTransport``: the
exception is whatever the installed SDK makes of that answer (class, ``status_code``,
``code``, ``param``, ``request_id``, ``body``), as it would from a server.

The answer to send travels in the request itself (status in the path, error body as the
request body), so one client serves every thread at once.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai

__all__ = ["connection_error", "not_found", "status_error", "timeout_error"]

_BASE_URL = "http://sdk-errors.invalid/v1"


def _answer(request: httpx2.Request) -> httpx2.Response:
    kind = request.url.path.rsplit("/", 1)[-1]
    if kind == "connect":
        raise httpx2.ConnectError("connection refused", request=request)
    if kind == "timeout":
        raise httpx2.ReadTimeout("timed out", request=request)
    headers = {"content-type": "application/json"}
    request_id = request.headers.get("x-answer-request-id")
    if request_id:
        headers["x-request-id"] = request_id
    return httpx2.Response(int(kind), headers=headers, content=request.content)


_client = openai.OpenAI(
    api_key="test-key",
    base_url=_BASE_URL,
    max_retries=0,
    http_client=httpx2.Client(transport=httpx2.MockTransport(_answer)),
)


def _raised(kind: str, body: Any = None, request_id: str | None = None) -> openai.OpenAIError:
    headers = {"x-answer-request-id": request_id} if request_id else {}
    try:
        _client.post(f"/_errors/{kind}", body=body, cast_to=object, options={"headers": headers})
    except openai.OpenAIError as exc:
        return exc
    raise AssertionError(f"the SDK raised nothing for {kind}")  # pragma: no cover


def status_error(
    status: int,
    message: str = "",
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    request_id: str | None = None,
) -> openai.APIStatusError:
    """What the SDK raises for an HTTP ``status`` answer with OpenAI's error body
    (``openai.NotFoundError`` for 404, ``RateLimitError`` for 429, ...)."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    exc = _raised(str(status), body, request_id)
    assert isinstance(exc, openai.APIStatusError), exc
    return exc


def not_found(what: str) -> openai.NotFoundError:
    """The SDK's 404 for a missing object."""
    exc = status_error(404, f"{what} not found")
    assert isinstance(exc, openai.NotFoundError)
    return exc


def connection_error() -> openai.APIConnectionError:
    """What the SDK raises when the server cannot be reached."""
    exc = _raised("connect")
    assert type(exc) is openai.APIConnectionError, exc
    return exc


def timeout_error() -> openai.APITimeoutError:
    """What the SDK raises when the answer does not come in time."""
    exc = _raised("timeout")
    assert isinstance(exc, openai.APITimeoutError), exc
    return exc
