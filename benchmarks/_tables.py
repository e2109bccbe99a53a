"""The tables of a run: linkedthreads' figures, the alternatives operation by operation,
listing every ID, density and concurrent writers."""

from __future__ import annotations

import math
from typing import Any

from ._format import (
    ALT,
    Getter,
    R,
    _destroy_per_object,
    _get,
    _kib,
    _n,
    _r,
    _settled_recent,
    _w,
    fmt,
    table,
)
from ._targets import DENSITY_TARGETS

OURS_ROWS: list[tuple[str, Getter]] = [
    ("`create_child`, lone, amortised (compaction included)", _w("create_child", "per_op")),
    (
        "`create_child`, {few} concurrent threads of one process on one instance, per child",
        _w("create_child_threads", "per_child"),
    ),
    (
        "the same, with the injected latency",
        _w("create_child_threads_latency", "per_child"),
    ),
    (
        "`create_child`, {many} concurrent threads of one process on one instance, per child",
        _w("create_child_many_threads", "per_child"),
    ),
    (
        "the same, with the injected latency",
        _w("create_child_many_threads_latency", "per_child"),
    ),
    (
        "a create through a tracked client (`index.track`), lone, amortised",
        _w("tracked_create", "per_op"),
    ),
    (
        "the same, {few} concurrent threads on one tracked client, per child",
        _w("tracked_create_threads", "per_child"),
    ),
    (
        "the same, {many} concurrent threads on one tracked client, per child",
        _w("tracked_create_many_threads", "per_child"),
    ),
    ("`create_children` (bulk), per child", _w("create_children", "per_child")),
    ("growing the index to N, per child (see method)", lambda s: _get(s, "growth", "per_child")),
    ("`add_many` (bulk), appends per ID", _w("add_many", "per_child")),
    (
        "`add_many` (bulk), with the rebuild it leaves due, per ID",
        _w("add_many", "per_child_settled"),
    ),
    ("`delete`, lone, recent (not yet paged) child", _settled_recent("delete_recent")),
    (
        "`delete`, lone, random old child, the writer (pages cached): during the sample",
        _w("delete_random_old", "per_op"),
    ),
    (
        "`delete`, lone, random old child, the writer (pages cached): with its rebuild",
        _w("delete_random_old", "per_op_settled"),
    ),
    ("`remove`, lone, recent (not yet paged) child", _settled_recent("remove_recent")),
    (
        "`remove`, lone, random old child, an instance holding no page: during the sample",
        _w("remove_random_old", "per_op"),
    ),
    (
        "`remove`, lone, random old child, an instance holding no page: with its rebuild",
        _w("remove_random_old", "per_op_settled"),
    ),
    ("`delete_many` (bulk), per child", _w("delete_many", "per_child")),
    (
        "`delete_many` (bulk), with the rebuild it leaves due",
        _w("delete_many", "per_child_settled"),
    ),
    ("`remove_many` (bulk), appends per ID", _w("remove_many", "per_child")),
    (
        "`remove_many` (bulk), with the rebuild it leaves due",
        _w("remove_many", "per_child_settled"),
    ),
    ("`all()`", _r("all", "requests")),
    ("pages (index objects read by `all()`)", _r("all", "pages")),
    ("`len`", _r("len", "requests")),
    (
        "`len` right after the writer's removals of paged IDs, another instance",
        _w("delete_random_old", "len_cold_reader"),
    ),
    (
        "`len` right after removals of paged IDs by an instance holding no page, another one "
        "(reads the pages, then says what they hold)",
        _w("remove_random_old", "len_cold_reader"),
    ),
    (
        "`len` right after that, a third instance",
        _w("remove_random_old", "len_next_reader"),
    ),
    (
        "`len` while removals of paged IDs wait, an instance holding no page",
        _w("remove_random_old", "len_while_waiting"),
    ),
    ("`len` again, same instance", _w("remove_random_old", "len_again")),
    (
        "`len`, another instance, after the first's next write",
        _w("remove_random_old", "len_other_after_next_write"),
    ),
    (
        "`len` while removals of paged IDs wait, the writer (pages cached)",
        _w("delete_random_old", "len_while_waiting"),
    ),
    ("`in`, a recent child", _r("in_recent", "requests")),
    ("`in`, a random old child (mean), an instance holding no page", _r("in_paged", "requests")),
    ("`in`, a random old child (mean), the writer (pages cached)", _r("in_paged_warm", "requests")),
    ("`in`, an absent ID, an instance holding no page", _r("in_absent", "requests")),
    ("`in`, an absent ID, the writer (pages cached)", _r("in_absent_warm", "requests")),
    ("`open`", _r("open", "requests")),
    ("`verify`", _r("verify", "requests")),
    ("`destroy`", lambda s: _get(s, "destroy", "requests")),
    ("`destroy`, per object deleted", _destroy_per_object),
    ("`all()` peak memory, KiB (tracemalloc)", _kib("reads", "all", "peak_bytes")),
    ("`len` peak memory, KiB (reads the journal only)", _kib("reads", "len", "peak_bytes")),
    ("the journal page every read starts with, KiB", _kib("reads", "journal_page_bytes")),
    (
        "`all()` peak memory after the lone writes, KiB",
        _kib("writes", "memory_after", "all_peak_bytes"),
    ),
    (
        "`len` peak memory after the lone writes, KiB",
        _kib("writes", "memory_after", "len_peak_bytes"),
    ),
    (
        "the journal page after the lone writes, KiB",
        _kib("writes", "memory_after", "journal_page_bytes"),
    ),
]


RT_ROWS: list[tuple[str, Getter]] = [
    ("`open`", lambda s: _get(s, "round_trips", "open", "round_trips")),
    ("`len`", lambda s: _get(s, "round_trips", "len", "round_trips")),
    ("`all()`, read_concurrency 1", lambda s: _get(s, "round_trips", "all_c1", "round_trips")),
    (
        "`all()`, read_concurrency 8 (default)",
        lambda s: _get(s, "round_trips", "all_c8", "round_trips"),
    ),
    ("`all()`, read_concurrency 32", lambda s: _get(s, "round_trips", "all_c32", "round_trips")),
    (
        "`in`, an absent ID, an instance holding no page (scans every page)",
        lambda s: _get(s, "round_trips", "in_absent", "round_trips"),
    ),
    ("`create_child`, lone", lambda s: _get(s, "round_trips", "create_child", "round_trips")),
    ("`delete`, lone", lambda s: _get(s, "round_trips", "delete", "round_trips")),
]


def _callers(sizes: dict[str, R]) -> dict[str, Any]:
    """How many threads the concurrent ``create_child`` figures ran (``?`` if not run)."""

    def threads(name: str) -> Any:
        found = [_get(s, "writes", name, "threads") for s in sizes.values()]
        return next((n for n in found if n is not None), "?")

    return {"few": threads("create_child_threads"), "many": threads("create_child_many_threads")}


def _ours_tables(backend: str, b: R) -> str:
    sizes = b["sizes"]
    callers = _callers(sizes)
    header = ["requests", *(_n(n) for n in sizes)]
    rows = [
        [label.format(**callers), *(fmt(get(s)) for s in sizes.values())]
        for label, get in OURS_ROWS
    ]
    out = f"#### linkedthreads, {backend}: requests\n\n" + table(header, rows)
    header = ["sequential round trips", *(_n(n) for n in sizes)]
    rows = [[label, *(fmt(get(s), 1) for s in sizes.values())] for label, get in RT_ROWS]
    rows.append(
        [
            "expected for `all()`, c = 1 / 8 / 32: 1 + ceil(pages / c)",
            *(
                " / ".join(str(1 + math.ceil(s["reads"]["all"]["pages"] / c)) for c in (1, 8, 32))
                for s in sizes.values()
            ),
        ]
    )
    out += f"\n#### linkedthreads, {backend}: sequential round trips\n\n" + table(header, rows)
    return out


def _alt_rows(s: R) -> list[list[str]]:
    """Operation | ours req | ours RT | (a) req | (a) RT | (b/c) req | (b/c) RT."""
    w, r, rt, nv, ls = (
        s.get(k) or {} for k in ("writes", "reads", "round_trips", "naive", "listing")
    )
    seq = "†"

    def lst(*path: str) -> Any:
        return _get(ls, *path) if ls else None

    rows = [
        [
            "`create_child`, lone",
            fmt(_get(w, "create_child", "per_op")),
            fmt(_get(rt, "create_child", "round_trips"), 1),
            fmt(_get(nv, "create_child", "per_op")),
            fmt(_get(nv, "rt_create_child", "round_trips"), 1),
            fmt(lst("create_child", "per_op")),
            fmt(lst("rt_create_child", "round_trips"), 1),
        ],
        [
            "`delete`, lone, recent child",
            fmt(_settled_recent("delete_recent")(s)),
            fmt(_get(rt, "delete", "round_trips"), 1),
            fmt(_get(nv, "delete_recent", "per_op")),
            seq,
            fmt(lst("delete", "per_op")),
            fmt(lst("delete", "per_op"), 1) if ls else "—",
        ],
        [
            "`delete`, lone, random old child (with its rebuild; the writer, pages cached)",
            fmt(_get(w, "delete_random_old", "per_op_settled")),
            "—",
            fmt(_get(nv, "delete_random_old", "per_op")),
            seq,
            fmt(lst("delete", "per_op")),
            fmt(lst("delete", "per_op"), 1) if ls else "—",
        ],
        [
            "`remove`, lone, random old child (with its rebuild; an instance holding no page)",
            fmt(_get(w, "remove_random_old", "per_op_settled")),
            "—",
            fmt(_get(nv, "remove_random_old", "per_op")),
            seq,
            "—",
            "—",
        ],
        [
            "list every ID (`all()`)",
            fmt(_get(r, "all", "requests")),
            fmt(_get(rt, "all_c8", "round_trips"), 1),
            fmt(_get(nv, "all", "requests")),
            fmt(_get(nv, "rt_all", "round_trips"), 1),
            fmt(lst("all", "requests")),
            fmt(lst("rt_all", "round_trips"), 1),
        ],
        [
            "`len`",
            fmt(_get(r, "len", "requests")),
            fmt(_get(rt, "len", "round_trips"), 1),
            fmt(_get(nv, "len", "requests")),
            seq,
            fmt(lst("len", "requests")),
            fmt(lst("rt_all", "round_trips"), 1),
        ],
        [
            "`in`, a random old child (mean)",
            fmt(_get(r, "in_paged", "requests")),
            "—",
            fmt(_get(nv, "in_random", "requests")),
            seq,
            fmt(lst("in", "requests")),
            fmt(lst("in", "requests"), 1) if ls else "—",
        ],
        [
            "`open`",
            fmt(_get(r, "open", "requests")),
            fmt(_get(rt, "open", "round_trips"), 1),
            fmt(_get(nv, "open", "requests")),
            seq,
            fmt(lst("open", "requests")),
            "—",
        ],
    ]
    return rows


def _alt_table(backend: str, n: str, s: R) -> str:
    """Ours against the alternatives at one size, operation by operation."""
    header = [
        "operation",
        "ours: requests",
        "ours: round trips",
        "(a) naive: requests",
        "(a) naive: round trips",
        f"{ALT[backend]}: requests",
        "round trips",
    ]
    return f"#### {backend}, {_n(n)}\n\n" + table(header, _alt_rows(s)) + "\n"


def _alt_tables(backend: str, b: R) -> str:
    out = ""
    for n, s in b["sizes"].items():
        out += _alt_table(backend, n, s)
    return out


def _density_table(results: R) -> str:
    rows = []
    for backend, b in results["backends"].items():
        for codec in ("ascii", "dense"):
            f = b.get(codec) or {}
            lim = results["limits"][f"{backend}/{codec}"]
            per = f.get("per_page")
            rows.append(
                [
                    backend,
                    codec,
                    fmt(per),
                    f"{lim['limit']:.2f}",
                    fmt(lim["whole_ids_with_framing"]),
                    f"{100 * per / lim['limit']:.1f} %" if per else "—",
                    f"≥ {DENSITY_TARGETS[(backend, codec)]}",
                ]
            )
    return table(
        [
            "backend",
            "codec",
            "IDs per page object",
            "limit: bits / ID bits",
            "whole IDs after the 57 framing bits",
            "of the limit",
            "target",
        ],
        rows,
    )


def _concurrency_table(results: R) -> str:
    rows = []
    for backend, b in results["backends"].items():
        c = b.get("concurrency") or {}
        for design, name in (
            ("ours", "linkedthreads"),
            ("naive", "(a) naive"),
            ("listing", ALT[backend]),
        ):
            f = c.get(design)
            if not f:
                continue
            rows.append(
                [
                    backend,
                    name,
                    fmt(f["made"]),
                    fmt(f["listed"]),
                    fmt(f["lost"]),
                    fmt(f["requests_per_child"]),
                    fmt(f.get("objects_listed")),
                ]
            )
    first = next(iter(results["backends"].values()))["concurrency"]
    head = (
        f"{first['workers']} processes started together, each making {first['per_worker']} "
        f"children one at a time, {fmt(first['latency_ms'])} ms of injected latency:\n\n"
    )
    return head + table(
        [
            "backend",
            "design",
            "children made",
            "listed after",
            "lost",
            "requests per child",
            "objects the listing read",
        ],
        rows,
    )


def _all_table(results: R) -> str:
    """``all()`` side by side for every N: the headline comparison."""
    rows = []
    for backend, b in results["backends"].items():
        for n, s in b["sizes"].items():
            nv, ls = s["naive"], s.get("listing")
            ours_req, ours_rt = s["reads"]["all"]["requests"], s["round_trips"]["all_c8"]
            rows.append(
                [
                    backend,
                    f"{int(n):,}",
                    fmt(ours_req),
                    fmt(ours_rt["round_trips"], 1),
                    fmt(nv["all"]["requests"]),
                    fmt(nv["rt_all"]["round_trips"], 1),
                    fmt(ls["all"]["requests"]) if ls else "—",
                    fmt(ls["rt_all"]["round_trips"], 1) if ls else "—",
                    f"{ls['all']['ids']:,} of {s['n']:,}" if ls else "—",
                ]
            )
    return table(
        [
            "backend",
            "N",
            "ours: requests",
            "ours: round trips (c = 8)",
            "(a): requests",
            "(a): round trips",
            "(b)/(c): requests",
            "(b)/(c): round trips",
            "(b)/(c): IDs returned",
        ],
        rows,
    )
