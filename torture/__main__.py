"""Run the reliability suite's workloads outside pytest and print their figures.

    python -m torture                   # CI size (what `pytest tests/reliability` runs)
    python -m torture --scale 10        # the published run (docs/reliability.md)
    python -m torture --backend threads --only concurrent,crashes --out figures.md

Every run is the one the tests make (``tests/reliability/``), scaled: concurrent writers
(8 processes, no faults), the same under faults (20% failed requests, 20% lost answers; 4
processes of 2 threads), crashes (SIGKILLs), and the model-based state machine (faults on);
the concurrent and crash runs again on a server that takes journal entries of at most 3,000
characters ("small": the limit is learned, design 4.6); and concurrent writers and crashes
again on a server that mangles non-ASCII metadata keys (``keys-``: the index made dense,
then every key's non-ASCII characters replaced by ``?``, design 5.4); and the races for new
scopes (``scopes``: 4 processes racing to make and write the same new scopes, 6 of them, in
four modes: plain, faults, crashes, and all at once, "chaos"; ``torture.scopes``). Prints a
Markdown table (also written to --out), with a second one of what the scope races did, and
exits 1 if any run found a lost entry, ghost, duplicate, order inversion, bad error or
unexplained orphan.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .configs import RunConfig
    from .report import Report

RUNS = (
    "concurrent",
    "faults",
    "crashes",
    "model",
    "small",
    "keys-concurrent",
    "keys-crashes",
    "scopes",
)


def _model_run(backend: str) -> Report:
    """The state machine of ``torture.model``, counted like the other runs."""
    from hypothesis.stateful import invariant, run_state_machine_as_test

    from .emulator import start_emulator
    from .model import FAULTS, examples, machine_for, model_settings
    from .report import Report

    report = Report("model", backend, writers=1)
    emu = start_emulator(seed=5, **FAULTS)
    steps = [0]

    class Counted(machine_for(emu, backend)):  # type: ignore[misc]
        @invariant()
        def lists_the_model(self) -> None:
            super().lists_the_model()
            steps[0] += 1

    started = time.monotonic()
    try:
        run_state_machine_as_test(Counted, settings=model_settings())
    except AssertionError as exc:
        report.lost.append(f"the index disagreed with the model: {exc}")
    finally:
        stats = emu.stats()
        emu.stop()
    report.ops = report.observations = steps[0]
    report.trials = examples()  # hypothesis examples
    report.requests = stats["total"]
    report.faults = dict(stats["faults"])
    report.seconds = time.monotonic() - started
    return report


def _reports(run: str, backend: str) -> list[Report]:
    """The reports of one run on one backend, its trials merged (two for ``small``, one a
    mode for ``scopes``)."""
    from . import configs
    from .report import merge
    from .runs import run_concurrent, run_crashes

    trials = range(configs.repeats())

    def concurrent(faults: bool) -> Callable[[int], RunConfig]:
        return lambda i: configs.concurrent_config(backend, faults=faults, trial=i)

    def crashes(i: int) -> RunConfig:
        return configs.crash_config(backend, trial=i)

    def each(runner: Callable[[RunConfig], Report], make: Callable[[int], RunConfig]) -> Report:
        return merge([runner(make(i)) for i in trials])

    def small(make: Callable[[int], RunConfig]) -> Callable[[int], RunConfig]:
        return lambda i: configs.small_entries(make(i))

    def mangled(make: Callable[[int], RunConfig]) -> Callable[[int], RunConfig]:
        return lambda i: configs.keys_mangled(make(i))

    if run == "concurrent":
        return [each(run_concurrent, concurrent(False))]
    if run == "faults":
        return [each(run_concurrent, concurrent(True))]
    if run == "crashes":
        return [each(run_crashes, crashes)]
    if run == "small":  # the concurrent and crash runs on a small-entry server
        return [
            each(run_concurrent, small(concurrent(False))),
            each(run_crashes, small(crashes)),
        ]
    if run == "keys-concurrent":
        return [each(run_concurrent, mangled(concurrent(False)))]
    if run == "keys-crashes":
        return [each(run_crashes, mangled(crashes))]
    if run == "scopes":  # each mode of the race for new scopes, at the slow tests' size
        from .scopes import run_scope_race

        return [
            merge(
                [run_scope_race(configs.scope_config(backend, mode, i, long=True)) for i in trials]
            )
            for mode in configs.SCOPE_MODES
        ]
    return [_model_run(backend)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m torture", description=(__doc__ or "").split("\n\n")[0]
    )
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
    only = [r.strip() for r in args.only.split(",") if r.strip()]
    unknown = set(only) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}")
    # The scale is read when the harness is imported (and by the worker processes).
    os.environ["LINKEDTHREADS_TORTURE_SCALE"] = str(args.scale)
    warnings.simplefilter("ignore")
    from .configs import BACKENDS
    from .report import scope_table, table

    backends = BACKENDS if args.backend == "both" else (args.backend,)
    reports: list[Report] = []
    started = time.monotonic()
    for run in only:
        for backend in backends:
            print(
                f"[{time.monotonic() - started:6.0f}s] {run} / {backend} ...",
                file=sys.stderr,
                flush=True,
            )
            for report in _reports(run, backend):
                reports.append(report)
                if args.verbose or report.problems:
                    print(report.summary(), file=sys.stderr, flush=True)
    command = "python -m torture " + " ".join(argv if argv is not None else sys.argv[1:])
    scopes = scope_table(reports)
    text = (
        f"Command: `{command.strip()}` (scale {args.scale:g}, "
        f"{time.monotonic() - started:.0f} s)\n\n{table(reports)}\n"
        + (f"\nThe races for new scopes:\n\n{scopes}\n" if scopes else "")
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    return 1 if any(r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
