"""``results.md`` (every table of a run) and the headline that ``benchmarks/README.md``
shows."""

from __future__ import annotations

from ._format import R, _largest, fmt
from ._seconds_tables import seconds_tables
from ._tables import (
    _all_table,
    _alt_table,
    _alt_tables,
    _concurrency_table,
    _density_table,
    _ours_tables,
)
from ._targets import _targets_table


def markdown(results: R) -> str:
    meta, cfg = results["meta"], results["config"]
    out = [
        "# Benchmark results\n\n",
        f"Run {meta['date']}, `{meta['command']}`, {meta['seconds']:.0f} s; linkedthreads "
        f"{meta['linkedthreads']}, Python {meta['python']}, {meta['cpus']} CPUs, "
        f"{meta['platform']}. Sizes {', '.join(f'{n:,}' for n in cfg['sizes'])}; latency "
        f"{fmt(cfg['latency_ms'])} ms for round trips. Raw figures: `results.json`. Method: "
        "`benchmarks/README.md`.\n",
    ]
    if not meta["list_endpoints"]:
        out.append(
            "\n> The emulator of this run did not serve list endpoints "
            "(`list_endpoints=True`): alternatives (b) and (c) are not measured.\n"
        )
    out += ["\n## Targets (issue 5)\n\n", _targets_table(results)]
    out += ["\n## Listing every ID\n\n", _all_table(results)]
    out += ["\n## Density\n\n", _density_table(results)]
    for backend, b in results["backends"].items():
        f = b["dense"]
        out.append(
            f"\n{backend}: {fmt(f['children'])} children in {f['index_objects']} index "
            f"objects (root + pages + directories): "
            f"{f['children'] / f['index_objects']:.1f} IDs per index object.\n"
        )
    out += ["\n## Concurrent writers\n\n", _concurrency_table(results)]
    out.append(
        "\n## Against the alternatives, operation by operation\n\n"
        "† every request of the naive design waits for the one before (one request at a "
        "time by construction): its round trips equal its requests.\n\n"
    )
    for backend, b in results["backends"].items():
        out.append(_alt_tables(backend, b))
    out += ["## Seconds at the modelled latency\n\n", seconds_tables(results, "every")]
    out.append("## linkedthreads, every figure\n\n")
    for backend, b in results["backends"].items():
        out.append(_ours_tables(backend, b) + "\n")
    return "".join(out)


def headline(results: R) -> str:
    """The tables ``benchmarks/README.md`` shows (between its result markers)."""
    meta = results["meta"]
    out = [
        f"Run {meta['date']} (`{meta['command'].strip()}`, {meta['seconds'] / 60:.1f} minutes; "
        f"load average {meta.get('load_average_at_start', ['?'])[0]} at the start, "
        f"{meta.get('load_average_at_end', ['?'])[0]} at the end, on {meta['cpus']} CPUs). "
        "Every figure, per size and backend: [results/results.md](results/results.md); raw: "
        "[results/results.json](results/results.json).\n\n",
        "![requests](results/requests.png)\n\n![round trips](results/round_trips.png)\n\n",
        "### Listing every ID\n\n",
        _all_table(results),
        "\n### Operation by operation, at the largest N\n\n"
        "† every request of the naive design waits for the one before: its round trips equal "
        "its requests.\n\n",
    ]
    for backend, b in results["backends"].items():
        out.append(_alt_table(backend, *_largest(b)))
    out += ["### Seconds at the modelled latency, at the largest N\n\n", seconds_tables(results)]
    out += ["### Density\n\n", _density_table(results)]
    out += ["\n### Concurrent writers\n\n", _concurrency_table(results)]
    out += ["\n### Targets of issue 5\n\n", _targets_table(results)]
    return "".join(out)
