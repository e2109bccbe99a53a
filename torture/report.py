"""What a run found (``Report``; ``ScopeReport`` for a race for new scopes), the trials of a
run merged, and the Markdown tables of several runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar


@dataclass
class Report:
    """What a run did and what the checker found. Every list must be empty."""

    name: str
    backend: str
    writers: int = 0
    ops: int = 0
    ops_failed: int = 0
    observations: int = 0
    crashes: int = 0
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    max_op_s: float = 0.0
    listed_final: int = 0
    lost: list[str] = field(default_factory=list)
    ghosts: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    bad_errors: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    orphans: int = 0
    orphans_explained: int = 0
    page_orphans: int = 0
    page_orphans_explained: int = 0
    dangling: int = 0
    checkpoints: int = 0
    dropped_checkpoints: int = 0
    deletes: int = 0
    creates: int = 0
    trials: int = 1
    seed: int = 0
    concurrent_change: int = 0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    ascii_checkpoints: int = 0  # checkpoints that say pages go out in ASCII (design 5.4)

    COUNTS: ClassVar[tuple[str, ...]] = (  # added up when trials are merged
        "ops",
        "ops_failed",
        "observations",
        "crashes",
        "requests",
        "orphans",
        "orphans_explained",
        "page_orphans",
        "page_orphans_explained",
        "dangling",
        "concurrent_change",
        "listed_final",
        "checkpoints",
        "dropped_checkpoints",
        "deletes",
        "creates",
        "ascii_checkpoints",
    )

    def count_requests(self, stats: dict[str, Any]) -> None:
        """The emulator's counts of the run (``Emulator.stats()``): requests, faults injected,
        deletes and creates."""
        self.faults = dict(stats["faults"])
        self.requests = stats["total"]
        self.deletes = sum(n for k, n in stats["requests"].items() if k.startswith("DELETE"))
        self.creates = sum(
            n
            for k, n in stats["requests"].items()
            if k in ("POST /v1/threads", "POST /v1/conversations")
        )

    @property
    def problems(self) -> list[str]:
        return (
            self.lost
            + self.ghosts
            + self.duplicates
            + self.order
            + self.bad_errors
            + self.unexplained
        )

    def summary(self) -> str:
        head = (
            f"{self.name} [{self.backend}] x{self.trials}: {self.ops} ops "
            f"({self.ops_failed} failed), "
            f"{self.observations} observations, {self.writers} writers, "
            f"{self.crashes} crashes, {self.requests} requests, faults {self.faults}, "
            f"{self.seconds:.1f}s (slowest op {self.max_op_s:.2f}s), "
            f"final list {self.listed_final}, lost {len(self.lost)}, ghosts "
            f"{len(self.ghosts)}, duplicates {len(self.duplicates)}, order "
            f"{len(self.order)}, bad errors {len(self.bad_errors)}, orphans {self.orphans} "
            f"({self.orphans_explained} explained), page orphans {self.page_orphans} "
            f"({self.page_orphans_explained} explained), dangling {self.dangling}, "
            f"checkpoints {self.checkpoints} "
            f"({self.dropped_checkpoints} dropped as too old), {self.creates} creates, "
            f"{self.deletes} deletes, errors {self.errors_by_class}"
        )
        problems = self.problems
        if problems:
            head += "\n  " + "\n  ".join(problems[:40])
            if len(problems) > 40:
                head += f"\n  ... and {len(problems) - 40} more"
        return head


@dataclass
class ScopeReport(Report):
    """``Report`` plus what the races did."""

    races: int = 0  # scopes (names) that two or more processes wrote into first
    scope_roots: int = 0  # scope roots created (winners and losers)
    scopes_made: int = 0  # winners: one per name
    losers: int = 0  # roots of the losing side
    losers_collected: int = 0  # ... deleted by the run's end (by the loser or a compaction)
    losers_listed: int = 0  # ... alive, named by a ``scope`` record: garbage to collect
    losers_unrecorded: int = 0  # ... alive, never recorded: a call killed or failed between
    losers_collected_later: int = 0  # listed ones deleted by two compactions after the run

    COUNTS: ClassVar[tuple[str, ...]] = (
        *Report.COUNTS,
        "races",
        "scope_roots",
        "scopes_made",
        "losers",
        "losers_collected",
        "losers_listed",
        "losers_unrecorded",
        "losers_collected_later",
    )

    def summary(self) -> str:
        head, _, problems = super().summary().partition("\n")
        return f"{head}\n  [scopes] {self._scope_line()}" + (f"\n{problems}" if problems else "")

    def _scope_line(self) -> str:
        return (
            f"{self.scopes_made} scopes made in {self.races} races, {self.scope_roots} roots "
            f"created, {self.losers} on the losing side: {self.losers_collected} collected, "
            f"{self.losers_listed} listed as garbage ({self.losers_collected_later} of them "
            f"collected by two compactions after the run), {self.losers_unrecorded} unrecorded "
            "(a create cut or retried before its record)"
        )


def iter_problems(reports: Iterable[Report]) -> Iterator[str]:
    for r in reports:
        for p in r.problems:
            yield f"{r.name}: {p}"


R = TypeVar("R", bound=Report)


def merge(reports: Sequence[R]) -> R:
    """One report for the trials of a run (of one class): counts added, problems
    concatenated."""
    first = reports[0]
    out = type(first)(first.name, first.backend, writers=first.writers)
    out.trials = len(reports)
    for r in reports:
        for name in first.COUNTS:
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.seconds += r.seconds
        out.max_op_s = max(out.max_op_s, r.max_op_s)
        for key, value in r.faults.items():
            out.faults[key] = out.faults.get(key, 0) + value
        for key, value in r.errors_by_class.items():
            out.errors_by_class[key] = out.errors_by_class.get(key, 0) + value
        for name in ("lost", "ghosts", "duplicates", "order", "bad_errors", "unexplained"):
            getattr(out, name).extend(f"[trial seed {r.seed}] {p}" for p in getattr(r, name))
    return out


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


def table(reports: Sequence[Report]) -> str:
    """The Markdown table of the runs, with a total row."""
    rows = [_row(list(COLUMNS)), "|" + "---|" * len(COLUMNS)]
    for r in reports:
        objects = r.name != "model"  # the model run checks the list, not the objects
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
                    f"{r.orphans} ({r.orphans_explained})" if objects else "n/a",
                    f"{r.page_orphans} ({r.page_orphans_explained})" if objects else "n/a",
                    r.dangling if objects else "n/a",
                    f"{r.checkpoints} ({r.dropped_checkpoints})" if objects else "n/a",
                    f"{r.deletes} / {r.creates}" if objects else "n/a",
                    f"{r.seconds:.0f}",
                ]
            )
        )

    def total(get: Callable[[Report], float]) -> int:
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
                " / ".join(str(sum(r.faults.get(k, 0) for r in reports)) for k in FAULT_KINDS),
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


SCOPE_COLUMNS = (
    "run",
    "backend",
    "trials",
    "scopes made",
    "races",
    "roots made",
    "losers: collected / listed (collected after) / unrecorded",
    "lost / ghosts / duplicates",
)


def scope_table(reports: Sequence[Report]) -> str:
    """The Markdown table of what the races for new scopes did ("" if none ran): the roots
    made for scopes, one per name won, and the losing side accounted for (design 8.2)."""
    scoped = [r for r in reports if isinstance(r, ScopeReport)]
    if not scoped:
        return ""
    rows = [_row(list(SCOPE_COLUMNS)), "|" + "---|" * len(SCOPE_COLUMNS)]
    rows.extend(
        _row(
            [
                r.name,
                r.backend,
                r.trials,
                r.scopes_made,
                r.races,
                r.scope_roots,
                f"{r.losers_collected} / {r.losers_listed} ({r.losers_collected_later}) / "
                f"{r.losers_unrecorded}",
                f"{len(r.lost)} / {len(r.ghosts)} / {len(r.duplicates)}",
            ]
        )
        for r in scoped
    )
    return "\n".join(rows)
