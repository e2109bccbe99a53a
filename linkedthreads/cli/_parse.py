"""Parsing of command-line values: ``k=v`` pairs, times, and lists of IDs.

Every value is checked here, before any request: a bad one is a usage error (exit 2) on one
line that shows the value with its control characters escaped (``shown``) and cut short.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

import typer

from ._errors import UsageProblem

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

MAX_AGE = timedelta(days=36_500)  # a hundred years: older is a typo (and overflows dates)
MAX_ID_LENGTH = 256  # the library's bound on an ID
MAX_LINE_BYTES = 1 << 20  # a line of a --from file (an 'export --format csv' row is ~10 KB)
ID_PREFIXES = {"conv_": "conversations", "thread_": "threads"}
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_SCOPE_NAME = 200  # the library's bound on a scope name


def shown(value: str, width: int = 60) -> str:
    """``value`` quoted, control characters escaped, cut to ``width`` characters."""
    if len(value) <= width:
        return repr(value)
    return f"{value[:width]!r}… ({len(value):,} characters)"


def parse_pairs(
    values: Iterable[str], option: str, max_keys: int | None = None, reserved: str | None = None
) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a value may contain ``=``; a bad pair, a key given twice
    with two values, a key over 64 or a value over 512 characters, the ``reserved`` key, or
    more than ``max_keys`` keys is a usage error."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {shown(item)}", param_hint=option)
        if key == reserved:
            raise typer.BadParameter(f"key {key!r} is reserved by linkedthreads", param_hint=option)
        if len(key) > MAX_METADATA_KEY:
            raise typer.BadParameter(
                f"key {shown(key)} is longer than {MAX_METADATA_KEY} characters",
                param_hint=option,
            )
        if len(value) > MAX_METADATA_VALUE:
            raise typer.BadParameter(
                f"the value of {shown(key)} is longer than {MAX_METADATA_VALUE} characters",
                param_hint=option,
            )
        if out.get(key, value) != value:
            raise typer.BadParameter(f"key {shown(key)} given twice", param_hint=option)
        out[key] = value
    if max_keys is not None and len(out) > max_keys:
        raise typer.BadParameter(
            f"{len(out)} keys; at most {max_keys} (linkedthreads uses the others)",
            param_hint=option,
        )
    return out


def parse_duration(text: str, option: str | None = None) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s``; at most a hundred years."""
    match = _DURATION.match(text)
    if match is None:
        raise typer.BadParameter(
            f"expected an age like 30d, 12h, 90m or 2w, got {shown(text)}", param_hint=option
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not math.isfinite(seconds) or seconds > MAX_AGE.total_seconds():
        raise typer.BadParameter(
            f"{shown(text.strip())} is more than a hundred years ({MAX_AGE.days:,}d)",
            param_hint=option,
        )
    return timedelta(seconds=seconds)


def parse_when(text: str) -> datetime:
    """A moment: an age (``7d`` means 7 days ago) or an ISO date or date-time.

    A date or time without a zone is in the local zone.
    """
    if _DURATION.match(text):
        return datetime.now(timezone.utc) - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.astimezone()
        moment.timestamp()  # years 1 and 9999 may not convert
    except (ValueError, OverflowError, OSError):
        raise typer.BadParameter(
            f"expected a date (2026-01-31), a date-time (2026-01-31T18:00) or an age "
            f"(7d, 12h), got {shown(text)}"
        ) from None
    return moment


def _odd_character(value: str) -> str | None:
    """What in ``value`` no ID holds, or ``None``."""
    for c in value:
        if c.isspace() and c.isprintable():
            return "a space"
        if not c.isprintable():
            return "a control character"
        if c in "/?#%":
            return f"a {c!r}"
    return None


def check_id(
    value: str,
    where: str = "",
    prefixes: Iterable[str] = tuple(ID_PREFIXES),
    what: str = "an ID",
) -> str:
    """``value`` if it is shaped like an ID of one of ``prefixes``; a usage error otherwise
    (``where`` names the option or line it came from; nothing for an argument)."""
    prefixes = tuple(prefixes)
    at = f"{where}: " if where else ""
    if len(value) > MAX_ID_LENGTH:
        raise UsageProblem(
            f"{at}{shown(value, 40)} is not {what}: longer than {MAX_ID_LENGTH} characters"
        )
    odd = _odd_character(value)
    if odd is not None:
        raise UsageProblem(f"{at}{shown(value)} is not {what}: it holds {odd}")
    if not value.startswith(prefixes) or value in prefixes:
        expected = " or ".join(f"{p}..." for p in prefixes)
        raise UsageProblem(f"{at}{shown(value)} is not {what} ({expected})")
    return value


def check_root(root: str) -> str:
    """A root ID's shape, before any request (``--root`` or ``LINKEDTHREADS_ROOT``)."""
    return check_id(root.strip(), "--root", what="an index root")


def scope_option(
    ctx: typer.Context, param: typer.CallbackParam, values: list[str] | None
) -> list[str]:
    """The callback of ``--scope``: its names, outermost first, checked
    (:func:`check_scopes`).

    From ``LINKEDTHREADS_SCOPE`` the value is taken as it is, one name (spaces kept: the
    parser would split it on them), or one name a line for a scope within a scope (no name
    holds a line break)."""
    source = ctx.get_parameter_source(param.name or "")
    if source is not None and source.name == "ENVIRONMENT" and isinstance(param.envvar, str):
        raw = os.environ.get(param.envvar, "")
        values = raw.split("\n") if raw else []
    return check_scopes(values or [])


def check_scopes(values: list[str]) -> list[str]:
    """``values`` if each is a scope name by the library's rules (1 to 200 printable
    characters, no space at either end; the command line keeps its own copy: it is built on
    the public API only); a usage error naming the first that is not, before any request."""
    for value in values:
        problem = _scope_name_problem(value)
        if problem is not None:
            raise typer.BadParameter(
                f"{shown(value)} is not a scope name: {problem}", param_hint="--scope"
            )
    return list(values)


def _scope_name_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_SCOPE_NAME:
        return f"longer than {MAX_SCOPE_NAME} characters ({len(name):,})"
    if not name.isprintable():
        return "it holds a control or other non-printable character"
    if name != name.strip():
        return "it starts or ends with a space"
    return None


def scope_label(names: list[str]) -> str:
    """How messages name a scope path: ``'acme' / 'user-42'``."""
    return " / ".join(shown(n, 40) for n in names)


def backend_of_root(root: str) -> str:
    """``conversations`` or ``threads``, from a checked root ID's prefix."""
    return next(b for p, b in ID_PREFIXES.items() if root.startswith(p))


def _lines(handle: BinaryIO, name: str) -> Iterator[tuple[int, str]]:
    """The numbered lines of ``handle`` as text, or a usage error naming ``name`` and the
    line that is not UTF-8 or too long to be a line of IDs."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise UsageProblem(
                f"--from {name}: line {number} is longer than {MAX_LINE_BYTES:,} bytes: "
                "not a list of IDs"
            )
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise UsageProblem(
                f"--from {name}: line {number} is not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                f"at column {exc.start + 1}): not a list of IDs"
            ) from None


def read_ids(ids: Iterable[str], source: str | None) -> list[str]:
    """IDs from the arguments, then from ``source`` (a file, or ``-`` for stdin), each
    checked (:func:`check_id`).

    In a file, each non-blank line gives one ID (its first field, split on whitespace or a
    comma, so an ``export --format csv`` file works); ``#`` starts a comment; a header
    field ``id`` is skipped.
    """
    out = [check_id(i.strip()) for i in ids if i.strip()]
    if source is None:
        return out
    name = "-" if source == "-" else shown(source, 200)
    try:
        if source == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            handle: BinaryIO = stdin if stdin is not None else _encoded(sys.stdin.read())
            out += _ids_in(handle, "stdin")
        else:
            with Path(source).open("rb") as handle:
                out += _ids_in(handle, name)
    except OSError as exc:
        raise UsageProblem(f"--from {name}: cannot read it ({exc.strerror or exc})") from None
    return out


def _encoded(text: str) -> BinaryIO:
    import io

    return io.BytesIO(text.encode("utf-8", "surrogateescape"))


def _ids_in(handle: BinaryIO, name: str) -> list[str]:
    out = []
    for number, line in _lines(handle, name):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        first = re.split(r"[\s,]+", line, maxsplit=1)[0].strip('"')
        if first and first != "id":
            out.append(check_id(first, f"--from {name}, line {number}"))
    return out
