"""``python -m benchmarks.startup``: how fast the command line and the package start.

Wall time of fresh processes: ``python -c pass`` (the interpreter itself),
``linkedthreads --help``, ``python -c "import linkedthreads"``, and
``linkedthreads ls --local`` on an index of 1,000 children (a local emulator's state, set up
first; not measured). The commands run in turns (one of each, then again), so that the load
of a shared machine weighs on all alike; each figure is the median of ``--runs`` turns.
Writes ``results/startup.json`` and the table between the start-up markers of
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._docs import standalone
from ._measure import log

__all__ = ["main", "markdown"]

OUT = Path(__file__).parent / "results"
HELP_WITHIN = 0.3
IMPORT_WITHIN = 0.4


def _script() -> str:
    found = Path(sys.executable).parent / "linkedthreads"
    if not found.exists():
        raise SystemExit(f"the linkedthreads console script is not installed next to {found}")
    return str(found)


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the process and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=env, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed: {proc.stderr.decode()[-500:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu


def run(runs: int, children: int) -> dict[str, Any]:
    script = _script()
    with tempfile.TemporaryDirectory() as state:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINKEDTHREADS_")}
        env.update({"LINKEDTHREADS_STATE_DIR": state, "NO_COLOR": "1"})
        log(f"startup: a local index of {children:,} children")
        root = subprocess.run(
            [script, "init", "--local"], capture_output=True, text=True, env=env, check=True
        ).stdout.strip()
        subprocess.run(
            [script, "create", "--local", "--root", root, "-n", str(children)],
            capture_output=True,
            env=env,
            check=True,
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "linkedthreads --help": [script, "--help"],
            'python -c "import linkedthreads"': [sys.executable, "-c", "import linkedthreads"],
            f"linkedthreads ls --local ({children:,} children)": [
                script,
                "ls",
                "--local",
                "--root",
                root,
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        load_start = os.getloadavg()
        for turn in range(runs):
            for name, argv in commands.items():
                wall, cpu = _run(argv, env)
                times[name].append(wall)
                cpus[name].append(cpu)
            log(f"startup: turn {turn + 1} of {runs}")
        load_end = os.getloadavg()
    base = statistics.median(times["python -c pass"])
    base_cpu = statistics.median(cpus["python -c pass"])
    return {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "runs": runs,
            "load_average_at_start": [round(x, 2) for x in load_start],
            "load_average_at_end": [round(x, 2) for x in load_end],
        },
        "commands": {
            name: {
                "median": statistics.median(t),
                "min": min(t),
                "max": max(t),
                "over_pass": statistics.median(t) - base,
                "ratio": statistics.median(t) / base,
                "runs": t,
                "cpu_median": statistics.median(cpus[name]),
                "cpu_over_pass": statistics.median(cpus[name]) - base_cpu,
                "cpu_ratio": statistics.median(cpus[name]) / base_cpu,
                "cpu_runs": cpus[name],
            }
            for name, t in times.items()
        },
    }


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    rows = []
    targets = {
        "linkedthreads --help": HELP_WITHIN,
        'python -c "import linkedthreads"': IMPORT_WITHIN,
    }
    for name, c in results["commands"].items():
        target = targets.get(name)
        verdict = ""
        if target is not None:
            wall = "met" if c["over_pass"] <= target else "**not met**"
            cpu = "met" if c.get("cpu_over_pass", 1e9) <= target else "**not met**"
            verdict = f"within {target} s of `python -c pass`: wall {wall}, CPU {cpu}"
        cpu_cells = (
            f"{c['cpu_median']:.3f} s | +{c['cpu_over_pass']:.3f} s (×{c['cpu_ratio']:.1f})"
            if "cpu_median" in c
            else "— | —"
        )
        rows.append(
            f"| `{name}` | {c['median']:.3f} s | {c['min']:.3f} to {c['max']:.3f} s | "
            f"+{c['over_pass']:.3f} s (×{c['ratio']:.1f}) | {cpu_cells} | {verdict} |"
        )
    return (
        f"Run {meta['date']}: median of {meta['runs']} turns (the commands in turn), Python "
        f"{meta['python']}, {meta['cpus']} CPUs; load average {meta['load_average_at_start'][0]}"
        f" at the start, {meta['load_average_at_end'][0]} at the end (the machine was shared). "
        "Wall time is what a user waits; on a loaded machine it counts the time the process "
        "waited for a CPU, so the CPU time each process used (user + system, its children "
        "included) is given beside it: on an idle machine the wall time is about that. "
        "Raw: [results/startup.json](results/startup.json).\n\n"
        "| command | wall, median | wall, range | wall over `python -c pass` (ratio) | "
        "CPU, median | CPU over `python -c pass` (ratio) | target |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=15, help="turns (default 15)")
    parser.add_argument("--children", type=int, default=1_000, help="children of the ls index")


def main(argv: list[str] | None = None) -> int:
    return standalone(
        argv,
        module="benchmarks.startup",
        doc=__doc__,
        add_options=_options,
        run=lambda args: run(args.runs, args.children),
        markdown=markdown,
    )


if __name__ == "__main__":
    raise SystemExit(main())
