"""Parsing of command-line values: ``k=v`` pairs, times, and lists of IDs."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import typer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_pairs(values: Iterable[str], option: str) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a value may contain ``=``; a bad pair, or a key given
    twice with two values, is a usage error."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        if out.get(key, value) != value:
            raise typer.BadParameter(f"key {key!r} given twice", param_hint=option)
        out[key] = value
    return out


def parse_duration(text: str, option: str | None = None) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s``."""
    match = _DURATION.match(text)
    if match is None:
        raise typer.BadParameter(
            f"expected an age like 30d, 12h, 90m or 2w, got {text!r}", param_hint=option
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_when(text: str) -> datetime:
    """A moment: an age (``7d`` means 7 days ago) or an ISO date or date-time.

    A date or time without a zone is in the local zone.
    """
    if _DURATION.match(text):
        return datetime.now(timezone.utc) - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"expected a date (2026-01-31), a date-time (2026-01-31T18:00) or an age "
            f"(7d, 12h), got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def read_ids(ids: Iterable[str], source: str | None) -> list[str]:
    """IDs from the arguments, then from ``source`` (a file, or ``-`` for stdin).

    In a file, each non-blank line gives one ID (its first field, split on whitespace or a
    comma, so an ``export --format csv`` file works); ``#`` starts a comment; a header
    field ``id`` is skipped.
    """
    out = [i.strip() for i in ids if i.strip()]
    if source is not None:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            first = re.split(r"[\s,]+", line, maxsplit=1)[0].strip('"')
            if first and first != "id":
                out.append(first)
    return out
