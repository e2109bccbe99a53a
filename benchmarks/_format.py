"""How figures read in the reports: numbers, sizes, Markdown tables, and the path into a
run's results."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

R = dict[str, Any]


ALT = {"threads": "(b) GET /v1/threads", "conversations": "(c) GET /v1/conversations"}


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def fmt(value: Any, digits: int = 2) -> str:
    """A figure for a table: integers as such, others rounded; missing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 10:
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.{digits}f}"
    return str(value)


def _n(n: str) -> str:
    return f"N = {int(n):,}"


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _largest(b: R) -> tuple[str, R]:
    n = max(b["sizes"], key=int)
    return n, b["sizes"][n]


Getter = Callable[[R], Any]


def _w(*path: str) -> Getter:
    return lambda s: _get(s, "writes", *path)


def _r(*path: str) -> Getter:
    return lambda s: _get(s, "reads", *path)


def _settled_recent(name: str) -> Getter:
    def get(s: R) -> Any:
        f = _get(s, "writes", name)
        if not f or not f["ops"]:
            return None
        return (f["requests"] + f["settle"]["requests"]) / f["ops"]

    return get


def _kib(*path: str) -> Getter:
    def get(s: R) -> Any:
        value = _get(s, *path)
        return None if value is None else value / 1024

    return get


def _destroy_per_object(s: R) -> Any:
    d = s.get("destroy")
    if not d:
        return None
    return d["requests"] / (d["children"] + d["pages"] + 1)
