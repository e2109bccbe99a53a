"""Seconds at the modelled latency, computed from the round trips a run measured."""

from __future__ import annotations

from typing import Any

from ._format import ALT, R, _get, _largest, _n, _settled_recent, fmt, table
from ._seconds import Latency


def latency_of(results: R) -> Latency:
    """The modelled service of a run (its options; the defaults for older runs)."""
    cfg = results.get("config", {})
    return Latency(cfg.get("model_latency_ms", 150.0), cfg.get("model_jitter_ms", 50.0))


def _seconds_rows(s: R, lat: Latency) -> list[list[str]]:
    """Operation | ours: seconds (requests) | (a) naive | (b)/(c) list endpoint."""
    w, r, rt, nv, ls = (
        s.get(k) or {} for k in ("writes", "reads", "round_trips", "naive", "listing")
    )

    def cell(rounds: list[int] | float | None, requests: Any) -> str:
        if rounds is None or requests is None:
            return "—"
        return f"{lat.seconds(rounds):,.2f} s ({fmt(requests)})"

    def seq(requests: Any) -> str:  # one request after another
        return cell(float(requests), requests) if requests is not None else "—"

    c = 8
    a = r.get("all", {})
    all_rounds = (
        Latency.all_rounds(a["pages"], a.get("directories", 0), c) if "pages" in a else None
    )
    in_req = _get(r, "in_paged", "requests")
    # ``in`` of an old child by an instance holding no page: the journal, then pages c at a
    # time until found (its mean requests, in such rounds).
    in_rounds = [1, *Latency.batched_rounds(in_req - 1, c)] if in_req else None
    rows = [
        [
            "`create_child`, lone",
            cell(_get(rt, "create_child", "round_trips"), _get(w, "create_child", "per_op")),
            cell(_get(nv, "rt_create_child", "round_trips"), _get(nv, "create_child", "per_op")),
            cell(_get(ls, "rt_create_child", "round_trips"), _get(ls, "create_child", "per_op")),
        ],
        [
            "`delete`, lone, recent child",
            cell(_get(rt, "delete", "round_trips"), _settled_recent("delete_recent")(s)),
            seq(_get(nv, "delete_recent", "per_op")),
            seq(_get(ls, "delete", "per_op")),
        ],
        [
            f"list every ID (`all()`, {c} reads in flight)",
            cell(all_rounds, a.get("requests")),
            cell(_get(nv, "rt_all", "round_trips"), _get(nv, "all", "requests")),
            cell(_get(ls, "rt_all", "round_trips"), _get(ls, "all", "requests")),
        ],
        [
            "`len`",
            cell(_get(rt, "len", "round_trips"), _get(r, "len", "requests")),
            seq(_get(nv, "len", "requests")),
            cell(_get(ls, "rt_all", "round_trips"), _get(ls, "len", "requests")),
        ],
        [
            "`in`, a random old child (mean; an instance holding no page)",
            cell(in_rounds, in_req),
            seq(_get(nv, "in_random", "requests")),
            seq(_get(ls, "in", "requests")),
        ],
        [
            "`open`",
            cell(_get(rt, "open", "round_trips"), _get(r, "open", "requests")),
            seq(_get(nv, "open", "requests")),
            "0 s (nothing to open)" if ls else "—",
        ],
    ]
    return rows


def seconds_tables(results: R, sizes: str = "largest") -> str:
    """The headline operations in seconds at the modelled latency, ours beside the
    alternatives (requests in brackets), per backend (at the largest N, or every N)."""
    lat = latency_of(results)
    out = [
        f"Modelled latency: {lat.describe()} (`--model-latency-ms`, `--model-jitter-ms`). "
        "Seconds are computed from the measured structure of each operation: its sequential "
        "round trips (requests each sent after the previous one was answered; requests in "
        "flight together count once, plus the expected largest of their jitters), times the "
        "latency. The client's own CPU is left out (see round trips above). Requests in "
        "brackets.\n\n"
    ]
    for backend, b in results["backends"].items():
        chosen = [_largest(b)] if sizes == "largest" else list(b["sizes"].items())
        for n, s in chosen:
            header = [
                "operation",
                "ours",
                "(a) naive",
                ALT[backend] if s.get("listing") else "(b)/(c) list endpoint",
            ]
            out += [f"#### {backend}, {_n(n)}\n\n", table(header, _seconds_rows(s, lat)), "\n"]
    return "".join(out)


def readme_seconds(results: R) -> str:
    """The project README's table: the headline operations in seconds at the modelled
    latency, ours beside the alternatives, each backend at its largest N."""
    lat = latency_of(results)
    header = ["operation"]
    columns: list[list[list[str]]] = []
    for backend, b in results["backends"].items():
        n, s = _largest(b)
        alt = ALT[backend].split(" ", 1)[1] if s.get("listing") else "list endpoint"
        header += [
            f"{backend} ({_n(n)}): linkedthreads",
            "naive chain",
            f"`{alt}`",
        ]
        columns.append(_seconds_rows(s, lat))
    rows = []
    for i, first in enumerate(columns[0]):
        row = [first[0]]
        for col in columns:
            row += col[i][1:]
        rows.append(row)
    return (
        f"Seconds at a modelled latency of {lat.describe()}, computed from the round trips "
        "the benchmark measured (requests in flight together count once; requests in "
        "brackets). Run of "
        f"{results['meta']['date'][:10]}; method and every size in "
        "[benchmarks/README.md](benchmarks/README.md).\n\n" + table(header, rows)
    )
