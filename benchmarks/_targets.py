"""The targets (issue 5 of the project), each met or not, with the reason."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._format import ALT, Getter, R, _get, _largest, _n, _r, _settled_recent, _w, fmt, table

DENSITY_TARGETS = {
    ("threads", "ascii"): 380,
    ("conversations", "ascii"): 280,
    ("threads", "dense"): 850,
    ("conversations", "dense"): 620,
}


def _ratio(alt: Any, ours: Any) -> float | None:
    if alt is None or ours in (None, 0):
        return None
    return float(alt) / float(ours)


@dataclass(frozen=True)
class Target:
    what: str
    target: str
    measured: str
    met: bool | None
    why: str = ""


def targets(results: R) -> list[Target]:
    out: list[Target] = []
    backends: dict[str, R] = results["backends"]
    for backend, b in backends.items():
        for codec, figures in (("ascii", b.get("ascii")), ("dense", b.get("dense"))):
            if not figures or figures.get("per_page") is None:
                continue
            least = DENSITY_TARGETS[(backend, codec)]
            lim = results["limits"][f"{backend}/{codec}"]
            out.append(
                Target(
                    f"density, {backend}, {codec}",
                    f"≥ {least} IDs per page object",
                    f"{fmt(figures['per_page'])} (limit {lim['limit']:.1f})",
                    figures["per_page"] >= least,
                )
            )
    for backend, b in backends.items():
        sizes = b["sizes"]

        def worst(get: Getter, sizes: dict[str, R] = sizes) -> tuple[float, str]:
            values = [(get(s), size) for size, s in sizes.items() if get(s) is not None]
            top, size = max(values)
            return float(top), size

        for label, get, goal in (
            ("lone `create_child`", _w("create_child", "per_op"), 2.02),
            ("lone `delete`, recent child", _settled_recent("delete_recent"), 2.02),
            (
                "lone `delete`, random old child, during the sample",
                _w("delete_random_old", "per_op"),
                2.02,
            ),
            (
                "lone `delete`, random old child, with its rebuild, the writer (pages cached)",
                _w("delete_random_old", "per_op_settled"),
                2.02,
            ),
            (
                "lone `remove` (its record only), random old child, with its rebuild, "
                "an instance holding no page",
                _w("remove_random_old", "per_op_settled"),
                1.02,
            ),
            ("`create_children`, per child", _w("create_children", "per_child"), 1.02),
            ("`delete_many`, per child", _w("delete_many", "per_child"), 1.02),
            (
                "`delete_many`, per child, with the rebuild it leaves due",
                _w("delete_many", "per_child_settled"),
                1.02,
            ),
            (
                "`add_many`, per ID, with the rebuild it leaves due (the objects exist)",
                _w("add_many", "per_child_settled"),
                1.02,
            ),
        ):
            value, n = worst(get)
            why = ""
            if value > goal and label.startswith("`delete_many`"):
                settle = _get(sizes[n], "writes", "delete_many", "settle") or {}
                why = (
                    f"compaction had paged {fmt(settle.get('waiting'))} of the "
                    f"{fmt(_get(sizes[n], 'writes', 'delete_many', 'n'))} children before "
                    "they were deleted: removing paged IDs needs a rebuild that rewrites the "
                    "pages from the first of them on (design.md §12); how many were paged "
                    "depends on where the compaction cycle stood"
                )
            elif value > goal and ("random old" in label or "rebuild" in label):
                why = (
                    "removing paged IDs hides them until a rebuild reads every page it does "
                    "not hold (design.md §7.5), rewrites those that changed and, one "
                    "compaction later, deletes the replaced ones; no format reaches 2.02 at "
                    "large N (design.md §12)"
                )
            elif value > goal and "lone" in label:
                why = (
                    "upkeep: a journal read every 64 appends and a page write every d "
                    "children, 2 + 1/64 + 1/d ≈ 2.017, plus the phase of the compaction cycle "
                    "the sample starts in"
                )
            out.append(
                Target(
                    f"{label}, {backend}",
                    f"≤ {goal}",
                    f"{fmt(value, 3)} (worst, at {_n(n)})",
                    value <= goal,
                    why,
                )
            )
        for name in ("create_child_threads", "create_child_many_threads"):
            for suffix, with_latency in (("", ""), ("_latency", ", with the injected latency")):
                get = _w(name + suffix, "per_child")
                if all(get(s) is None for s in sizes.values()):
                    continue
                value, n = worst(get)
                threads = _get(sizes[n], "writes", name + suffix, "threads")
                why = ""
                if value > 1.02:
                    why = (
                        "a call returns only once its record is appended, so an append "
                        "carries at most one record per caller: no design does better than "
                        f"1 + 1/{threads} = {1 + 1 / threads:.4f} here; group commit reaches "
                        "it (one append per round of callers), and from about 55 callers on "
                        "the cost is within 1.02"
                    )
                out.append(
                    Target(
                        f"concurrent `create_child`, {threads} threads of one process, per "
                        f"child{with_latency}, {backend}",
                        "≤ 1.02",
                        f"{fmt(value, 3)} (worst, at {_n(n)})",
                        value <= 1.02,
                        why,
                    )
                )
        for label, get in (
            ("`open`", _r("open", "requests")),
            ("`len`", _r("len", "requests")),
            (
                "`len` of any reader right after the writer's removals of paged IDs",
                _w("delete_random_old", "len_cold_reader"),
            ),
            (
                "`len` after removals of paged IDs by an instance holding no page, once "
                "one reader has read the pages",
                _w("remove_random_old", "len_next_reader"),
            ),
            (
                "`len` after removals of paged IDs, once a write has recorded a count",
                _w("remove_random_old", "len_other_after_next_write"),
            ),
        ):
            values = [get(s) for s in sizes.values()]
            if any(v is None for v in values):
                continue
            out.append(
                Target(
                    f"{label}, {backend}",
                    "a few requests, independent of N",
                    " / ".join(fmt(v) for v in values) + " over the sizes",
                    max(values) <= 3 and len(set(values)) == 1,
                )
            )
        n, s = _largest(b)
        pages = s["reads"]["all"]["pages"]
        density = b["page_capacity"]
        bound = math.ceil(int(s["n"]) / density) + 2
        got = s["reads"]["all"]["requests"]
        out.append(
            Target(
                f"`all()` at {_n(n)}, {backend}",
                f"≤ ceil(N / {density}) + 2 = {bound}",
                f"{got} ({pages} pages)",
                got <= bound,
            )
        )
        for c in (1, 8, 32):
            rt = _get(s, "round_trips", f"all_c{c}", "round_trips")
            expect = 1 + math.ceil(pages / c)
            if rt is not None:
                out.append(
                    Target(
                        f"`all()` round trips at {_n(n)}, concurrency {c}, {backend}",
                        f"≈ pages / c + small constant ({expect})",
                        fmt(rt, 1),
                        rt <= expect + 3,
                        ""
                        if rt <= expect + 3
                        else "one Python process needs longer than the 20 ms latency to "
                        "send 32 requests (about 1.6 ms of SDK CPU each): a batch's requests "
                        "do not all overlap",
                    )
                )
        # Sizes whose pages fill a batch of reads: below that, fewer pages are in flight.
        full = [sz for sz in sizes.values() if sz["reads"]["all"]["pages"] >= 8] or list(
            sizes.values()
        )
        steady = [sz["writes"]["memory_after"]["all_peak_bytes"] for sz in full]
        after = [sz["reads"]["all"]["peak_bytes"] for sz in sizes.values()]
        grows = steady[-1] / steady[0]
        out.append(
            Target(
                f"`all()` peak memory, {backend}",
                "does not grow with N",
                f"{' / '.join(f'{p / 1024:,.0f}' for p in steady)} KiB at "
                f"{' / '.join(_n(str(sz['n'])) for sz in full)}, after lone writes",
                grows < 1.5,
                "right after growing by bulk calls: "
                + " / ".join(f"{p / 1024:,.0f}" for p in after)
                + " KiB over all sizes: the journal answer a read starts with (its newest "
                "entries, decoded whole by the SDK) dominates, and journal entries of at most "
                "100 IDs (docs/design.md 6.3) keep it small whatever the history; to 1,000,000: "
                "the scale table (`python -m benchmarks.scale`)",
            )
        )
        listing = s.get("listing")
        if listing:
            for label, ours_v, alt_v in (
                ("`all()` requests", s["reads"]["all"]["requests"], listing["all"]["requests"]),
                ("`len` requests", s["reads"]["len"]["requests"], listing["len"]["requests"]),
                (
                    "lone `create_child` requests",
                    s["writes"]["create_child"]["per_op"],
                    listing["create_child"]["per_op"],
                ),
                (
                    "lone `delete` requests",
                    _settled_recent("delete_recent")(s),
                    listing["delete"]["per_op"],
                ),
                (
                    "`in` (old child) requests",
                    s["reads"]["in_paged"]["requests"],
                    listing["in"]["requests"],
                ),
            ):
                ratio = _ratio(alt_v, ours_v) or 0.0
                why = (
                    ""
                    if ratio >= 3
                    else (
                        "the server keeps the list: creating, deleting or testing one object "
                        "needs no bookkeeping"
                        if "all" not in label and "len" not in label
                        else ""
                    )
                )
                out.append(
                    Target(
                        f"{label} vs {ALT[backend]} at {_n(n)}",
                        "≥ 3× fewer",
                        f"{fmt(ours_v)} vs {fmt(alt_v)}: ×{ratio:.1f}",
                        ratio >= 3,
                        why,
                    )
                )
            rt_ours = _get(s, "round_trips", "all_c8", "round_trips")
            rt_alt = _get(listing, "rt_all", "round_trips")
            ratio = _ratio(rt_alt, rt_ours) or 0.0
            out.append(
                Target(
                    f"`all()` round trips vs {ALT[backend]} at {_n(n)}",
                    "far fewer",
                    f"{fmt(rt_ours, 1)} vs {fmt(rt_alt, 1)}: ×{ratio:.0f}",
                    ratio >= 10,
                )
            )
        else:
            out.append(
                Target(
                    f"every figure vs {ALT[backend]}",
                    "≥ 3× fewer requests",
                    "not measured",
                    None,
                    "the emulator did not serve list endpoints in this run",
                )
            )
    return out


def _targets_table(results: R) -> str:
    rows = []
    for t in targets(results):
        met = {True: "met", False: "**not met**", None: "not measured"}[t.met]
        rows.append([t.what, t.target, t.measured, met, t.why])
    return table(["figure", "target", "measured", "", "why"], rows)
