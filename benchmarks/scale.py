"""``python -m benchmarks.scale``: one conversations index (dense codec) grown to 1,000,000.

At each size (default 1k, 10k, 100k, 1M) it reports ``open`` and ``len`` (requests),
``all()`` (requests against ceil(N / d) + 3, and tracemalloc's peak twice: right after the
growth by bulk calls, whose entries are the largest, and after lone writes), lone
``create_child`` (requests a call) and the seconds the growth took. The children are made
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


def _measure(host: Host, index: ThreadIndex, lone: int) -> dict[str, Any]:
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
    made = count(host, lambda: [index.create_child().id for _ in range(lone)])
    out["create_child"] = {"ops": lone, "per_op": made.requests / lone}
    reader = ThreadIndex.open(client, index.root_id, settings=SETTINGS)
    again = count(host, lambda: peak_memory(lambda: _drain(reader.all())))
    out["all"]["peak_bytes_after_lone"] = again.value[1]
    out["all"]["requests_after_lone"] = again.requests
    out["len_after_lone"] = count(host, reader.__len__).requests
    reader.close()
    client.close()
    return out


def run(sizes: tuple[int, ...], lone: int) -> dict[str, Any]:
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
            figures.update(_measure(host, index, lone))
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
        within = within and max(a["requests"], a["requests_after_lone"]) <= bound
        rounds = lat.all_rounds(s["pages"], s["directories"], 8)
        # A list endpoint of 100 objects a page, one page after another (not measured here:
        # its figures at 100,000 are in the tables above; at least N / 100 requests).
        endpoint = lat.seconds(float(math.ceil(int(n) / 100)))
        rows.append(
            f"| {int(n):,} | {a['requests']:,} / {a['requests_after_lone']:,} (≤ {bound:,}) | "
            f"{_mib(a['peak_bytes_after_bulk'])} / {_mib(a['peak_bytes_after_lone'])} | "
            f"{s['open']} | {s['len']} / {s['len_after_lone']} | "
            f"{s['create_child']['per_op']:.2f} | {lat.seconds(rounds):,.1f} s | "
            f"{endpoint:,.0f} s | {s['growth']['seconds']:,.0f} s "
            f"({s['growth']['create_seconds']:,.0f} s of creates) |"
        )
    lone = [s["all"]["peak_bytes_after_lone"] for s in results["sizes"].values()]
    bulk = [s["all"]["peak_bytes_after_bulk"] for s in results["sizes"].values()]
    return (
        f"Run {meta['date']} (`{meta['command'].strip()}`, {meta['seconds'] / 60:.0f} minutes; "
        f"load average {meta['load_average_at_start'][0]} at the start, "
        f"{meta['load_average_at_end'][0]} at the end, on {meta['cpus']} CPUs shared with "
        f"other work). One conversations index, codec {results['codec']}, d = {d} IDs a page; "
        "raw: [results/scale.json](results/scale.json). `all()` memory: tracemalloc's peak "
        "right after the growth by bulk calls / after lone writes. Seconds: the modelled "
        f"latency ({lat.describe()}), `all()` at `read_concurrency` 8.\n\n"
        "| N | `all()`: requests after bulk / lone writes (target) | `all()`: peak MiB, "
        "after bulk / lone writes | `open` | `len` after bulk / lone writes | lone "
        "`create_child` | `all()`: seconds at the modelled latency | a list endpoint of 100 "
        "a page: at least, modelled | time the growth took |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"`all()` within ceil(N / d) + 3 requests at every size: "
        f"{'met' if within else '**not met**'}. Peak memory of `all()` after lone writes: "
        f"{_mib(min(lone))} to {_mib(max(lone))} MiB over the sizes (what grows is the list "
        "of the base's page IDs, about 150 bytes a page: 0.2 MiB at 1,000,000, and the "
        "directories read with it). Right after growth by "
        f"bulk calls ({_mib(min(bulk))} to {_mib(max(bulk))} MiB) it is one journal answer: "
        "the newest 50 entries, which the SDK decodes whole whatever they cover (here entries "
        "of `add_many` calls of 2,000 IDs, about 60,000 characters each, nearly all before "
        "the base); it grows with how many of those 50 are bulk entries, up to about 9 MiB "
        "(50 x `max_record_chars`), not with N (docs/design.md, 6.3).\n"
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000,1000000",
        help="index sizes, comma-separated (default 1000,10000,100000,1000000)",
    )
    parser.add_argument("--lone", type=int, default=64, help="lone create_child calls a size")


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results = run(tuple(sorted(int(s.replace("_", "")) for s in args.sizes.split(","))), args.lone)
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
