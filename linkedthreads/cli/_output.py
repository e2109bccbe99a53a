"""Where output goes: data on stdout, progress and diagnostics on stderr.

Colour follows rich's rules (only on a terminal; ``NO_COLOR`` turns it off); progress bars
and spinners appear only when stderr is a terminal. Consoles are made per call because
the streams can change between calls (tests swap them).
"""

from __future__ import annotations

import json
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def stdout_console(*, soft_wrap: bool = False) -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=soft_wrap)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def echo(line: str) -> None:
    """One line of data on stdout, exactly as given (no markup, no wrapping)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def emit_json(data: Any) -> None:
    """``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with every control or format character (escape sequences, bidi overrides)
    but those in ``keep`` shown as a Python escape (``\\x1b``, ``\\u202e``)."""
    return "".join(
        c
        if c in keep or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
        else repr(c)[1:-1]
        for c in text
    )


def note(message: str, *, markup: bool = False) -> None:
    """A diagnostic line on stderr; rich markup only with ``markup=True`` (values the user
    typed or the server sent may contain brackets); control characters shown escaped."""
    message = printable(message, keep="\n")
    stderr_console().print(message if markup else escape(message), soft_wrap=True)


def print_error(message: str, *, label: str = "error") -> None:
    """``error: message`` on stderr (the label in red on a colour terminal)."""
    stderr_console().print(f"[bold red]{label}:[/] {escape(message)}", soft_wrap=True)


def print_interrupted() -> None:
    stderr_console().print("[bold yellow]interrupted[/]")


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (only if it is a terminal); yields ``advance(n)``."""
    if not stderr_is_terminal() or total <= 0:
        yield lambda n: None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def status(description: str) -> Iterator[None]:
    """A spinner on stderr while something without a known length runs (terminal only)."""
    if not stderr_is_terminal():
        yield
        return
    with stderr_console().status(description):
        yield


class Timer:
    """Seconds since creation (``elapsed``)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def local_time(ts: float | None) -> str:
    """A Unix time in the local zone, to the minute, for people."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def format_metadata(metadata: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in metadata.items())


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def kind(backend: str, n: int = 1) -> str:
    """``conversation``/``thread``, plural when ``n != 1``."""
    word = "conversation" if backend == "conversations" else "thread"
    return word if n == 1 else word + "s"
