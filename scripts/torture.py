#!/usr/bin/env python
"""Run the reliability suite's workloads outside pytest and print their figures.

    python scripts/torture.py                 # CI size (what `pytest tests/reliability` runs)
    python scripts/torture.py --scale 10      # the published run (docs/reliability.md)
    python scripts/torture.py --backend threads --only concurrent,crashes --out figures.md

Every run is the one the tests make (tests/reliability/harness.py), scaled: concurrent
writers (8 processes, no faults), the same under faults (20% failed requests, 20% lost
answers; 4 processes of 2 threads), crashes (SIGKILLs), and the model-based state machine
(faults on); the concurrent and crash runs again on a server that takes journal entries of
at most 3,000 characters ("small": the limit is learned, design 4.6); and concurrent writers
and crashes again on a server that mangles non-ASCII metadata keys (``keys-``: the index
made dense, then every key's non-ASCII characters replaced by ``?``, design 5.4). Prints a
Markdown table (also written to --out) and exits 1 if any run found a lost entry, ghost,
duplicate, order inversion, bad error or unexplained orphan.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("concurrent", "faults", "crashes", "model", "small", "keys-concurrent", "keys-crashes")


def _import_harness() -> Any:
    if (ROOT / "tests" / "__init__.py").exists():
        sys.path.insert(0, str(ROOT))
        from tests.reliability import harness
    else:  # pragma: no cover - depends on the layout
        sys.path.insert(0, str(ROOT / "tests"))
        from reliability import harness  # type: ignore[no-redef]
    return harness


def _model_run(harness: Any, backend: str) -> Any:
    """The state machine of test_state_machine.py, counted like the other runs."""
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import invariant, run_state_machine_as_test

    if (ROOT / "tests" / "__init__.py").exists():
        from tests.reliability import test_state_machine as sm
    else:  # pragma: no cover
        from reliability import test_state_machine as sm  # type: ignore[no-redef]

    report = harness.Report("model", backend, writers=1)
    emu = harness.start_emulator(seed=5, **sm.FAULTS)
    steps = [0]

    class Counted(sm.IndexMachine):  # type: ignore[misc, name-defined]
        @invariant()
        def lists_the_model(self) -> None:
            super().lists_the_model()
            steps[0] += 1

    Counted.emu, Counted.backend = emu, backend
    started = time.monotonic()
    try:
        run_state_machine_as_test(
            Counted,
            settings=settings(
                max_examples=max(8, round(8 * harness.SCALE)),
                stateful_step_count=25,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    except AssertionError as exc:
        report.lost.append(f"the index disagreed with the model: {exc}")
    finally:
        stats = emu.stats()
        emu.stop()
    report.ops = report.observations = steps[0]
    report.trials = max(8, round(8 * harness.SCALE))  # hypothesis examples
    report.requests = stats["total"]
    report.faults = dict(stats["faults"])
    report.seconds = time.monotonic() - started
    return report


COLUMNS = (
    "run",
    "backend",
    "trials",
    "writers",
    "operations",
    "requests",
    "faults injected (429 / 500 / 503 / cut / lost answer)",
    "crashes",
    "entries lost",
    "ghosts",
    "duplicates",
    "order",
    "orphans (explained)",
    "page orphans (explained)",
    "dangling",
    "checkpoints (dropped as too old)",
    "deletes / creates",
    "seconds",
)
FAULT_KINDS = ("429", "500", "503", "drop", "lost_response")


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(reports: list[Any]) -> str:
    """The Markdown table of the runs, with a total row."""
    rows = [_row(list(COLUMNS)), "|" + "---|" * len(COLUMNS)]
    for r in reports:
        counted = r.name != "model"  # the model run checks the list, not the objects
        rows.append(
            _row(
                [
                    r.name,
                    r.backend,
                    r.trials,
                    r.writers,
                    r.ops,
                    r.requests,
                    " / ".join(str(r.faults.get(k, 0)) for k in FAULT_KINDS),
                    r.crashes,
                    len(r.lost),
                    len(r.ghosts),
                    len(r.duplicates),
                    len(r.order),
                    f"{r.orphans} ({r.orphans_explained})" if counted else "n/a",
                    f"{r.page_orphans} ({r.page_orphans_explained})" if counted else "n/a",
                    r.dangling if counted else "n/a",
                    f"{r.checkpoints} ({r.dropped_checkpoints})" if counted else "n/a",
                    f"{r.deletes} / {r.creates}" if counted else "n/a",
                    f"{r.seconds:.0f}",
                ]
            )
        )

    def total(get: Any) -> int:
        return int(sum(get(r) for r in reports))

    counted = [r for r in reports if r.name != "model"]
    rows.append(
        _row(
            [
                "**total**",
                "",
                total(lambda r: r.trials),
                "",
                total(lambda r: r.ops),
                total(lambda r: r.requests),
                " / ".join(str(total(lambda r, k=k: r.faults.get(k, 0))) for k in FAULT_KINDS),
                total(lambda r: r.crashes),
                total(lambda r: len(r.lost)),
                total(lambda r: len(r.ghosts)),
                total(lambda r: len(r.duplicates)),
                total(lambda r: len(r.order)),
                f"{sum(r.orphans for r in counted)} ({sum(r.orphans_explained for r in counted)})",
                f"{sum(r.page_orphans for r in counted)} "
                f"({sum(r.page_orphans_explained for r in counted)})",
                sum(r.dangling for r in counted),
                f"{sum(r.checkpoints for r in counted)} "
                f"({sum(r.dropped_checkpoints for r in counted)})",
                f"{sum(r.deletes for r in counted)} / {sum(r.creates for r in counted)}",
                total(lambda r: r.seconds),
            ]
        )
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the CI sizes (operations, kills, examples); default 1",
    )
    parser.add_argument("--backend", choices=["conversations", "threads", "both"], default="both")
    parser.add_argument(
        "--only", default=",".join(RUNS), help=f"comma-separated runs among {', '.join(RUNS)}"
    )
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    parser.add_argument("--verbose", action="store_true", help="print each run's summary")
    args = parser.parse_args(argv)
    os.environ["LINKEDTHREADS_TORTURE_SCALE"] = str(args.scale)
    warnings.simplefilter("ignore")
    harness = _import_harness()
    backends = harness.BACKENDS if args.backend == "both" else (args.backend,)
    only = [r.strip() for r in args.only.split(",") if r.strip()]
    unknown = set(only) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}")
    reports = []
    started = time.monotonic()
    for run in only:
        for backend in backends:
            print(
                f"[{time.monotonic() - started:6.0f}s] {run} / {backend} ...",
                file=sys.stderr,
                flush=True,
            )
            trials = range(harness.repeats())
            if run == "concurrent":
                report = harness.merge(
                    [
                        harness.run_concurrent(
                            harness.concurrent_config(backend, faults=False, trial=i)
                        )
                        for i in trials
                    ]
                )
            elif run == "faults":
                report = harness.merge(
                    [
                        harness.run_concurrent(
                            harness.concurrent_config(backend, faults=True, trial=i)
                        )
                        for i in trials
                    ]
                )
            elif run == "crashes":
                report = harness.merge(
                    [harness.run_crashes(harness.crash_config(backend, trial=i)) for i in trials]
                )
            elif run == "small":  # the concurrent and crash runs on a small-entry server
                small = [
                    harness.run_concurrent(
                        harness.small_entries(
                            harness.concurrent_config(backend, faults=False, trial=i)
                        )
                    )
                    for i in trials
                ]
                reports.append(harness.merge(small))
                report = harness.merge(
                    [
                        harness.run_crashes(harness.small_entries(harness.crash_config(backend, i)))
                        for i in trials
                    ]
                )
            elif run == "keys-concurrent":
                report = harness.merge(
                    [
                        harness.run_concurrent(
                            harness.keys_mangled(
                                harness.concurrent_config(backend, faults=False, trial=i)
                            )
                        )
                        for i in trials
                    ]
                )
            elif run == "keys-crashes":
                report = harness.merge(
                    [
                        harness.run_crashes(
                            harness.keys_mangled(harness.crash_config(backend, trial=i))
                        )
                        for i in trials
                    ]
                )
            else:
                report = _model_run(harness, backend)
            reports.append(report)
            if args.verbose or report.problems:
                print(report.summary(), file=sys.stderr, flush=True)
    command = "python scripts/torture.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (
        f"Command: `{command.strip()}` (scale {args.scale:g}, "
        f"{time.monotonic() - started:.0f} s)\n\n{table(reports)}\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    return 1 if any(r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
