"""Exit codes, and the one place where an exception becomes one line on stderr.

    0    success
    1    failure (a request failed, the index has problems, a confirmation was declined)
    2    bad usage (unknown option, bad value, missing argument)
    4    missing or refused credentials
    130  interrupted (Ctrl-C)

Nothing printed here may carry a credential: messages pass through :func:`redact`, which
removes the values of the credential variables and anything shaped like a key, organisation
or project. Nor may it move the terminal: control characters (an ID holding an escape
sequence, a server's text) are shown escaped (``\x1b``).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ._output import print_error, print_interrupted, printable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 4
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success"),
    (
        EXIT_FAILURE,
        "failure: a request failed, the index has problems, or a confirmation was declined",
    ),
    (EXIT_USAGE, "bad usage: unknown command or option, bad value, missing argument"),
    (EXIT_AUTH, "missing or refused credentials (no API key outside --local, HTTP 401)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); the index stays consistent"),
)

# Variables whose values must never appear in anything we print.
SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
)


class CLIError(Exception):
    """A failure the command explains itself; ``str(exc)`` is the whole message."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageProblem(CLIError):
    """Options that do not go together, or a missing argument (exit 2)."""

    exit_code = EXIT_USAGE


class AuthError(CLIError):
    """No credentials, or the server refused them."""

    exit_code = EXIT_AUTH


# Key-, organisation- and project-shaped strings (the library masks the same in its errors;
# the command line keeps its own copy: it is built on the public API only).
_KEY_SHAPED = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-[A-Za-z0-9_\-*]{6,}|sess-[A-Za-z0-9_\-]{6,}|org-[A-Za-z0-9_\-]{6,}"
    r"|proj_[A-Za-z0-9_\-]{4,}|(?:Bearer|Basic)\s+\S+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` without any credential value or key-, organisation- or project-shaped string."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return _KEY_SHAPED.sub("[redacted]", text)


def one_line(text: str) -> str:
    """``text`` redacted, on one line, with control characters shown escaped."""
    flat = re.sub(r"[ \t\r\n]+", " ", redact(text)).strip()
    return printable(flat)


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception."""
    import openai

    from linkedthreads import (
        APIRequestError,
        BackendUnavailableError,
        IndexNotFoundError,
        LinkedThreadsError,
    )

    if isinstance(exc, CLIError):
        return exc.exit_code, str(exc)
    if isinstance(exc, APIRequestError) and exc.status_code == 401:
        return EXIT_AUTH, f"the server refused the credentials: {exc}"
    if isinstance(exc, BackendUnavailableError):
        return EXIT_FAILURE, (
            f"{exc}; OpenAI retired the threads API on 2026-08-26: use an index of conversations"
        )
    if isinstance(exc, IndexNotFoundError):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, LinkedThreadsError):  # its advice, as a command
        advice = str(exc).replace("verify(repair=True)", "linkedthreads verify --repair")
        return EXIT_FAILURE, advice
    if isinstance(exc, openai.AuthenticationError):
        return EXIT_AUTH, f"the server refused the credentials (HTTP {exc.status_code})"
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message)
        return EXIT_FAILURE, f"the server answered HTTP {exc.status_code}: {message}"
    if isinstance(exc, openai.APIConnectionError):
        return EXIT_FAILURE, (
            f"could not reach the server ({type(exc).__name__}): check "
            "OPENAI_BASE_URL and the network"
        )
    if isinstance(exc, openai.OpenAIError):
        return EXIT_FAILURE, f"the OpenAI client is not configured: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return EXIT_FAILURE, f"cannot use{where}: {exc.strerror}"
    return EXIT_FAILURE, (
        f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)"
    )


def _print_traceback(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    sys.stderr.write(printable(redact(text), keep="\n"))


@contextmanager
def handle_errors(debug: bool) -> Iterator[None]:
    """Turn any exception of a command into ``error: ...`` on stderr and its exit code.

    Ctrl-C becomes exit 130 (the library changes an index only by atomic appends, so
    stopping anywhere leaves it consistent). ``debug`` adds the traceback.
    """
    try:
        yield
    except (typer.Exit, typer.TyperException, typer.Abort, BrokenPipeError):
        raise
    except KeyboardInterrupt as exc:
        if debug:
            _print_traceback(exc)
        print_interrupted()
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        if debug:
            _print_traceback(exc)
        code, message = describe(exc)
        print_error(one_line(message))
        raise typer.Exit(code) from None
