"""``python -m benchmarks.scale``: one conversations index (dense codec) grown to 1,000,000.

At each size (default 1k, 10k, 100k, 1M) it reports ``open`` and ``len`` (requests),
``all()`` (requests against ceil(N / d) + 3, and tracemalloc's peak twice: right after the
growth by bulk calls and after lone writes), lone ``create_child`` (requests a call, over
whole compaction cycles) and the seconds the growth took. The children are made
the cheap way the main run makes its large steps (raw HTTP creates with the child tag,
setup, then ``add_many`` in chunks of 2,000 and one ``compact()``). Writes
``results/scale.json`` and the table between the scale markers of ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from linkedthreads import CHILD_TAG_KEY, ThreadIndex

from ._docs import standalone
from ._host import Host
from ._measure import count, log, peak_memory, run_meta
from ._ours import SETTINGS, _drain
from ._populate import create_objects, journal_page_bytes
from ._seconds import Latency

__all__ = ["main", "markdown"]

OUT = Path(__file__).parent / "results"
CHUNK = 2_000
FLAT_MIB = 1.5
"""How far apart the peaks of ``all()`` may be and still count as flat: about what 100
journal entries of at most 100 IDs and the checkpoints among them take (docs/design.md 6.3)."""


def _grow(host: Host, index: ThreadIndex, target: int) -> dict[str, Any]:
    need = target - len(index)
    tag = {CHILD_TAG_KEY: "in:" + index.root_id}
    started = time.perf_counter()
    create_seconds = requests = 0.0
    for start in range(0, need, CHUNK):
        t = time.perf_counter()
        ids = create_objects(host.base_url, "conversations", min(CHUNK, need - start), tag)
        create_seconds += time.perf_counter() - t
        requests += count(host, partial(index.add_many, ids)).requests
    requests += count(host, index.compact).requests
    return {
        "children": need,
        "seconds": time.perf_counter() - started,
        "create_seconds": create_seconds,
        "index_requests": int(requests),
    }


def _measure(host: Host, index: ThreadIndex, cycles: int) -> dict[str, Any]:
    client = host.client()
    out: dict[str, Any] = {}
    opened = count(host, lambda: ThreadIndex.open(client, index.root_id, settings=SETTINGS))
    reader = opened.value
    out["open"] = opened.requests
    out["len"] = count(host, reader.__len__).requests
    out["n"] = count(host, reader.__len__).value
    stats = reader.stats()
    out["pages"], out["directories"] = stats.pages, stats.directories
    out["tail_entries"] = stats.tail_entries
    out["journal_page_bytes"] = journal_page_bytes(host.base_url, "conversations", index.root_id)
    listed = count(host, lambda: peak_memory(lambda: _drain(reader.all())))
    out["all"] = {
        "requests": listed.requests,
        "ids": listed.value[0],
        "peak_bytes_after_bulk": listed.value[1],
        "seconds": listed.seconds,
    }
    reader.close()
    out["create_child"] = _lone_creates(host, index, cycles)
    reader = ThreadIndex.open(client, index.root_id, settings=SETTINGS)
    again = count(host, lambda: peak_memory(lambda: _drain(reader.all())))
    out["all"]["peak_bytes_after_lone"] = again.value[1]
    out["all"]["requests_after_lone"] = again.requests
    counted = count(host, reader.__len__)
    out["len_after_lone"], out["n_after_lone"] = counted.requests, counted.value
    reader.close()
    client.close()
    return out


def _lone_creates(host: Host, index: ThreadIndex, cycles: int) -> dict[str, Any]:
    """Lone ``create_child`` over ``cycles`` whole compaction cycles: a writer whose first
    append runs its compaction check (``first_compaction_after=1``; that call is not
    counted), then ``cycles`` x ``compact_every`` calls, which hold exactly ``cycles`` checks
    (each lone append counts 1 toward the next, docs/design.md 7.2) and the pages and
    directories their compactions wrote. Counted: every request of those calls, over the
    calls."""
    client = host.client()
    settings = replace(SETTINGS, first_compaction_after=1)
    writer = ThreadIndex.open(client, index.root_id, settings=settings)
    writer.create_child()  # runs the check: a cycle starts after it
    every = settings.compact_every
    ops = cycles * every
    made = count(host, lambda: [writer.create_child().id for _ in range(ops)])
    writer.close()
    client.close()
    return {
        "ops": ops,
        "cycles": cycles,
        "compact_every": every,
        "warm_up_calls": 1,
        "per_op": made.requests / ops,
    }


def run(sizes: tuple[int, ...], cycles: int) -> dict[str, Any]:
    results: dict[str, Any] = {
        "meta": run_meta("python -m benchmarks.scale " + " ".join(sys.argv[1:])),
        "sizes": {},
    }
    started = time.perf_counter()
    with Host(seed=1) as host:
        client = host.client()
        index = ThreadIndex.create(client, backend="conversations", settings=SETTINGS)
        results["codec"], results["page_capacity"] = index.codec, index.page_capacity
        for n in sizes:
            log(f"scale: growing to {n:,}")
            figures: dict[str, Any] = {"growth": _grow(host, index, n)}
            log(f"scale: measuring at {n:,} ({figures['growth']['seconds']:.0f} s to grow)")
            figures.update(_measure(host, index, cycles))
            results["sizes"][str(n)] = figures
            _save(results, started)
        index.close()
        client.close()
    return _save(results, started)


def _save(results: dict[str, Any], started: float) -> dict[str, Any]:
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


def _mib(b: float) -> str:
    return f"{b / 2**20:.1f}"


def markdown(results: dict[str, Any], latency: Latency | None = None) -> str:
    """The scale table (and the seconds of each figure at the modelled latency)."""
    lat = latency or Latency()
    meta, d = results["meta"], results["page_capacity"]
    rows = []
    within = True
    for n, s in results["sizes"].items():
        a = s["all"]
        bound = math.ceil(int(n) / d) + 3
        # After the lone writes the index holds their children too: its bound is its own.
        lone_bound = math.ceil(s.get("n_after_lone", int(n)) / d) + 3
        within = within and a["requests"] <= bound and a["requests_after_lone"] <= lone_bound
        rounds = lat.all_rounds(s["pages"], s["directories"], 8)
        # A list endpoint of 100 objects a page, one page after another (not measured here:
        # its figures at 100,000 are in the tables above; at least N / 100 requests).
        endpoint = lat.seconds(float(math.ceil(int(n) / 100)))
        rows.append(
            f"| {int(n):,} | {a['requests']:,} / {a['requests_after_lone']:,} "
            f"(≤ {bound:,} / {lone_bound:,}) | "
            f"{_mib(a['peak_bytes_after_bulk'])} / {_mib(a['peak_bytes_after_lone'])} | "
            f"{s['open']} | {s['len']} / {s['len_after_lone']} | "
            f"{s['create_child']['per_op']:.3f} ({s['create_child']['ops']:,} calls) | "
            f"{lat.seconds(rounds):,.1f} s | "
            f"{endpoint:,.0f} s | {s['growth']['seconds']:,.0f} s "
            f"({s['growth']['create_seconds']:,.0f} s of creates) |"
        )
    lone = [s["all"]["peak_bytes_after_lone"] for s in results["sizes"].values()]
    bulk = [s["all"]["peak_bytes_after_bulk"] for s in results["sizes"].values()]
    both = lone + bulk
    creates = [s["create_child"]["per_op"] for s in results["sizes"].values()]
    flat = max(both) <= 16 * 2**20 and max(both) - min(both) <= FLAT_MIB * 2**20
    return (
        f"Run {meta['date']} (`{meta['command'].strip()}`, {meta['seconds'] / 60:.0f} minutes; "
        f"load average {meta['load_average_at_start'][0]} at the start, "
        f"{meta['load_average_at_end'][0]} at the end, on {meta['cpus']} CPUs shared with "
        f"other work). One conversations index, codec {results['codec']}, d = {d} IDs a page; "
        "raw: [results/scale.json](results/scale.json). `all()` memory: tracemalloc's peak "
        "right after the growth by bulk calls / after the lone writes (the index then holds "
        "their children too: its own bound). Seconds: the modelled "
        f"latency ({lat.describe()}), `all()` at `read_concurrency` 8.\n\n"
        "| N | `all()`: requests after bulk / lone writes (target) | `all()`: peak MiB, "
        "after bulk / lone writes | `open` | `len` after bulk / lone writes | lone "
        "`create_child`, whole compaction cycles | `all()`: seconds at the modelled latency | "
        "a list endpoint of 100 a page: at least, modelled | time the growth took |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"`all()` within ceil(N / d) + 3 requests at every size: "
        f"{'met' if within else '**not met**'}. Peak memory of `all()`: "
        f"{_mib(min(both))} to {_mib(max(both))} MiB over the sizes, after bulk and after "
        "lone writes alike (target: at most 16 MiB, and flat: every figure within "
        f"{FLAT_MIB} MiB of the others: {'met' if flat else '**not met**'}). "
        "It is mostly one journal answer, the newest 100 entries, which the SDK decodes "
        "whole whatever they cover: writers split `add`, `rm` and `at` records into entries "
        "of at most 100 IDs (about 3,200 characters), so that answer stays about 0.5 million "
        "characters at most after any history (docs/design.md, 6.3); what grows with N is "
        "the list of the base's page IDs, about 150 bytes a page (0.2 MiB at 1,000,000), and "
        "the directories read with it. Lone `create_child`: "
        f"{min(creates):.3f} to {max(creates):.3f} requests a call (target 2.02).\n"
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000,1000000",
        help="index sizes, comma-separated (default 1000,10000,100000,1000000)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        default=12,
        help="compaction cycles of lone create_child calls a size (default 12: 768 calls, "
        "more than a page of 718 IDs)",
    )


def _run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = tuple(sorted(int(s.replace("_", "")) for s in args.sizes.split(",")))
    results = run(sizes, args.cycles)
    log(f"scale: done in {results['meta']['seconds']} s")
    return results


def main(argv: list[str] | None = None) -> int:
    return standalone(
        argv,
        module="benchmarks.scale",
        doc=__doc__,
        add_options=_options,
        run=_run,
        markdown=markdown,
    )


if __name__ == "__main__":
    raise SystemExit(main())
