"""The one place where an exception becomes a message on the page: clear, one line, and
without a credential (the key, organisation and project never reach the browser)."""

from __future__ import annotations

import logging
import os
import re

import openai

from linkedthreads import (
    APIRequestError,
    BackendUnavailableError,
    IndexNotFoundError,
    LinkedThreadsError,
    NotAnIndexError,
)

from ._children import BadInput

log = logging.getLogger("linkedthreads.web")

SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
)
_KEY_SHAPED = re.compile(r"(sk-[A-Za-z0-9_\-*]{6,}|sess-[A-Za-z0-9]{6,}|Bearer\s+\S+)")


class PageError(Exception):
    """A refusal the page explains itself (bad input, an ID it never showed)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def redact(text: str) -> str:
    """``text`` without any credential value or key-shaped string."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return " ".join(_KEY_SHAPED.sub("[redacted]", text).split())


def describe(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the message the page shows for ``exc``."""
    status, message = _describe(exc)
    return status, redact(message)


def _describe(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, PageError):
        return exc.status, str(exc)
    if isinstance(exc, BadInput):
        return 400, str(exc)
    if isinstance(exc, IndexNotFoundError):
        return 404, (
            f"{exc}. Check the root ID (--root or LINKEDTHREADS_ROOT) and where it lives "
            "(--local for the local emulator)."
        )
    if isinstance(exc, NotAnIndexError):
        return 400, f"{exc}. Pass the root ID that 'linkedthreads init' printed."
    if isinstance(exc, APIRequestError) and exc.status_code in (401, 403):
        return 502, (
            f"The server refused the credentials (HTTP {exc.status_code}): check "
            "OPENAI_API_KEY and restart 'linkedthreads serve'."
        )
    if isinstance(exc, APIRequestError) and exc.status_code == 429:
        return 503, "The server is rate limiting requests (HTTP 429): wait a moment, then retry."
    if isinstance(exc, BackendUnavailableError):
        return 502, str(exc)
    if isinstance(exc, LinkedThreadsError):
        return 502, str(exc)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return 502, (
            f"The server refused the credentials (HTTP {exc.status_code}): check "
            "OPENAI_API_KEY and restart 'linkedthreads serve'."
        )
    if isinstance(exc, openai.RateLimitError):
        return 503, "The server is rate limiting requests (HTTP 429): wait a moment, then retry."
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = body.get("message") or exc.message
        return 502, f"The server answered HTTP {exc.status_code}: {message}"
    if isinstance(exc, openai.APIConnectionError):
        return 502, "Could not reach the server: check OPENAI_BASE_URL and the network."
    log.error("unexpected %s: %s", type(exc).__name__, redact(str(exc)))
    return 500, (
        f"Unexpected error ({type(exc).__name__}); the terminal running 'linkedthreads serve' "
        "has the details."
    )
