"""``python -m benchmarks [--quick] [--out DIR]``: run every benchmark, write the results.

Writes ``DIR/results.json`` (raw), ``DIR/results.md`` (tables, targets) and
``DIR/requests.png`` and ``DIR/round_trips.png``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from linkedthreads import ThreadIndex

from . import _alternatives, _concurrency, _density, _docs, _ours, _report
from ._config import QUICK, Config
from ._host import Host, Recorder, list_endpoints_supported
from ._measure import log, run_meta

DEFAULT_OUT = Path(__file__).parent / "results"


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(sorted(int(s.replace("_", "")) for s in text.split(",") if s.strip()))
    if not sizes or sizes[0] < 100:
        raise argparse.ArgumentTypeError("sizes are integers of at least 100, comma-separated")
    return sizes


def parse_args(argv: list[str] | None) -> tuple[Config, Path, bool]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="where to write the results (the default also updates benchmarks/README.md)",
    )
    parser.add_argument("--sizes", type=_sizes, help="index sizes N, e.g. 1000,10000,100000")
    parser.add_argument("--backends", help="conversations,threads (default both)")
    for name, doc in (
        ("lone_ops", "lone create_child calls at each size"),
        ("recent_ops", "lone deletes and removes of recent children, each"),
        ("random_ops", "lone deletes and removes of random old children, each (default: L)"),
        ("bulk", "children of each measured bulk call"),
        ("create_max", "grow with create_children up to this N (beyond: add_many)"),
        ("verify_max", "run verify up to this N"),
        ("destroy_max", "run destroy up to this N"),
        ("rt_repeat", "repetitions of each round-trip measure"),
        ("naive_ops", "lone appends to the naive chain"),
        ("walk_ops", "deletes and membership tests on the naive chain"),
        ("workers", "processes of the concurrency test"),
        ("per_worker", "children each process makes in the concurrency test"),
    ):
        parser.add_argument("--" + name.replace("_", "-"), type=int, help=doc)
    parser.add_argument("--latency-ms", type=float, help="latency injected for round trips")
    parser.add_argument(
        "--model-latency-ms", type=float, help="latency of the real service, for seconds (150)"
    )
    parser.add_argument(
        "--model-jitter-ms", type=float, help="its jitter, uniform on +/- this (50)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite results.md and the README tables from results.json (no run, no plots)",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    changes: dict[str, Any] = {}
    names = ("sizes", "latency_ms", *(f.name for f in cfg.__dataclass_fields__.values()))
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if args.backends:
        changes["backends"] = tuple(b.strip() for b in args.backends.split(","))
    return replace(cfg, **changes), args.out, args.report_only


def run_backend(
    cfg: Config, backend: str, listing: bool, writers: _concurrency.Writers
) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": {}}
    with Host(seed=cfg.seed, **({"list_endpoints": True} if listing else {})) as host:
        recorder = Recorder()
        client = host.client(recorder)
        index = ThreadIndex.create(client, backend=backend, settings=_ours.SETTINGS)  # type: ignore[arg-type]
        out["codec"] = index.codec
        out["page_capacity"] = index.page_capacity
        ids: list[str] = []
        for n in cfg.sizes:
            log(f"{backend} N={n}: growing")
            figures: dict[str, Any] = {"growth": _ours.grow(host, index, n, cfg)}
            ids = list(index.all())
            figures["n"] = len(ids)
            log(f"{backend} N={n}: reads")
            figures["reads"] = _ours.read_figures(host, client, index, ids, cfg)
            log(f"{backend} N={n}: round trips")
            figures["round_trips"] = _ours.round_trip_figures(host, recorder, client, index, cfg)
            ids = list(index.all())
            log(f"{backend} N={n}: (a) naive chain")
            figures["naive"] = _alternatives.naive_figures(
                host, recorder, client, backend, ids, cfg
            )
            if listing:
                log(f"{backend} N={n}: list endpoint")
                figures["listing"] = _alternatives.listing_figures(
                    host, recorder, client, backend, index.root_id, len(ids), cfg
                )
            log(f"{backend} N={n}: writes")
            figures["writes"] = _ours.write_figures(host, client, index, ids, cfg)
            if n <= cfg.destroy_max:
                figures["destroy"] = _ours.destroy_figures(host, client, backend, n)
            out["sizes"][str(n)] = figures
        stats = index.stats()
        out["dense"] = {
            "codec": index.codec,
            "pages": stats.pages,
            "page_slots": stats.page_slots,
            "per_page": stats.page_slots / stats.pages if stats.pages else None,
            "children": len(ids),
            "index_objects": 1 + stats.pages + stats.directories,
        }
        log(f"{backend}: ASCII density")
        out["ascii"] = _density.ascii_density(host, client, backend, ids)
        out["emulator_stats"] = host.stats()
        index.close()
        client.close()
    log(f"{backend}: concurrency test")
    out["concurrency"] = _concurrency.concurrency_test(cfg, writers, backend, listing)
    return out


def _write_readmes(results: dict[str, Any], out_dir: Path) -> None:
    """The default output also rewrites every figure of the docs from ``results`` (the
    blocks between markers in the README, benchmarks/README.md, docs/design.md:
    ``_docs.BLOCKS``)."""
    if out_dir.resolve() != DEFAULT_OUT.resolve():
        return
    for path in _docs.write(results):
        log(f"figures rewritten in {path}")


def report_only(cfg: Config, out_dir: Path) -> int:
    """Regenerate the tables of a finished run from its ``results.json``; the modelled
    latency may be changed (``--model-latency-ms``, ``--model-jitter-ms``)."""
    results = json.loads((out_dir / "results.json").read_text())
    results.setdefault("config", {}).update(
        model_latency_ms=cfg.model_latency_ms, model_jitter_ms=cfg.model_jitter_ms
    )
    (out_dir / "results.md").write_text(_report.markdown(results))
    _write_readmes(results, out_dir)
    log(f"tables rewritten from {out_dir / 'results.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    cfg, out_dir, only_report = parse_args(argv)
    if only_report:
        return report_only(cfg, out_dir)
    started = time.perf_counter()
    listing = list_endpoints_supported()
    if not listing:
        log("this emulator has no list_endpoints setting: alternatives (b) and (c) skipped")
    results: dict[str, Any] = {
        "meta": {
            **run_meta("python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)),
            "list_endpoints": listing,
        },
        "config": cfg.to_json(),
        "limits": {
            f"{b}/{c}": _density.limits(b, c)
            for b in ("threads", "conversations")
            for c in ("ascii", "dense")
        },
        "backends": {},
    }
    writers = _concurrency.Writers(cfg.workers)
    try:
        for backend in cfg.backends:
            results["backends"][backend] = run_backend(cfg, backend, listing, writers)
    finally:
        writers.close()
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out_dir / "results.md").write_text(_report.markdown(results))
    from . import _plot  # matplotlib: imported only here (spawned workers re-import this module)

    _plot.plot(results, out_dir)
    _write_readmes(results, out_dir)
    log(f"done in {results['meta']['seconds']} s: {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
