"""The standard runs at CI size (``LINKEDTHREADS_TORTURE_SCALE`` repeats them), the
variants of a run (a small-entry server, a server that mangles metadata keys), and the races
for new scopes (``torture.scopes``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .settings import SCALE


@dataclass
class RunConfig:
    """A concurrent or crash run (sizes before scaling are CI sizes)."""

    name: str
    backend: str = "conversations"
    codec: str = "ascii"
    processes: int = 8
    threads: int = 1
    ops: int = 40
    seconds: float = 60.0
    seed: int = 1
    seeded: int = 0  # fabricated IDs listed (and compacted into pages) before the run
    shared_raw: int = 6
    own_raw: int = 4
    fault_rate: float = 0.0
    lost_response_rate: float = 0.0
    fault_weights: dict[str, float] | None = None
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    kills: int = 0  # crash runs: external SIGKILLs
    self_kill: tuple[float, float] | None = None  # crash runs: P(kill before/after a request)
    settings: dict[str, Any] = field(default_factory=dict)
    page_ids: int | None = 32
    pause_s: float = 0.0
    destroy: bool = False
    entry_limit: int | None = None  # the server's max_text_chars: a small-entry server
    # Emulator settings switched on once the index is made and seeded: a server that differs
    # where the record is silent, under an index made where it did not (see keys_mangled).
    server_change: dict[str, Any] = field(default_factory=dict)


BACKENDS = ("conversations", "threads")
CODECS = {"conversations": "ascii", "threads": "auto"}  # both alphabets get written


def repeats() -> int:
    """How many independent trials each run makes: the scale, rounded (at least 1).

    Scaling by repetition (fresh index, emulator and seeds each time) rather than by longer
    trials keeps each trial's list, garbage and time bounded, so ten times the scale is ten
    times the operations, kills and interleavings, at ten times the cost.
    """
    return max(1, round(SCALE))


def concurrent_config(backend: str, *, faults: bool, trial: int = 0) -> RunConfig:
    """Eight writers; with ``faults``: 20% of requests fail (429 with retry-after, 500, 503,
    cut connections) and 20% of writes lose their answer after being applied, and the
    writers are 4 processes of 2 threads sharing one index instance (group commit)."""
    if not faults:
        return RunConfig(
            name="concurrent",
            backend=backend,
            codec=CODECS[backend],
            processes=8,
            threads=1,
            ops=36,
            seconds=60,
            seed=7 + 100 * trial,
            seeded=100,
            destroy=True,
        )
    return RunConfig(
        name="faults",
        backend=backend,
        codec=CODECS[backend],
        processes=4,
        threads=2,
        ops=30,
        seconds=60,
        seed=8 + 100 * trial,
        seeded=100,
        fault_rate=0.2,
        lost_response_rate=0.2,
    )


def crash_config(backend: str, trial: int = 0) -> RunConfig:
    """Four writers at a time, replaced as they die: the parent SIGKILLs one every 0.05-0.5
    s (requests take 3-13 ms of injected latency, so most kills land mid-request), and each
    writer kills itself just before or just after 0.3% of its requests."""
    return RunConfig(
        name="crashes",
        backend=backend,
        codec=CODECS[backend],
        processes=4,
        ops=100_000,
        seconds=40,
        seed=11 + 100 * trial,
        seeded=60,
        kills=12,
        latency_ms=3.0,
        latency_jitter_ms=10.0,
        self_kill=(0.003, 0.003),
    )


SMALL_ENTRIES = 3_000
"""A server that takes journal entries of at most this many characters (design 4.6); the
index settings stay at their default (max_record_chars 64,000), so each process must learn
the limit from a refusal, and checkpoints (128 nonces alone are about 2,800 characters) go
out in body objects."""


def small_entries(cfg: RunConfig) -> RunConfig:
    """The same run on a server with a small entry limit."""
    return dataclasses.replace(cfg, name=f"{cfg.name}/small-entries", entry_limit=SMALL_ENTRIES)


def entry_limit_settings(cfg: RunConfig) -> dict[str, Any]:
    return {} if cfg.entry_limit is None else {"max_text_chars": cfg.entry_limit}


def keys_mangled(cfg: RunConfig) -> RunConfig:
    """``cfg`` on a server that replaces each non-ASCII character of a metadata key by ``?``
    (issue 16, finding 1): the index is made and seeded with dense pages while the server
    keeps keys, then every page written during the run must fall back to ASCII, in every
    process, with nothing lost (docs/design.md 5.4)."""
    return dataclasses.replace(
        cfg,
        name=f"{cfg.name}, keys mangled",
        codec="auto",
        server_change={"metadata_keys": "ascii_replace"},
    )


@dataclass
class ScopeRunConfig:
    """A race for new scopes (sizes before scaling are CI sizes)."""

    name: str
    backend: str = "conversations"
    processes: int = 4
    rounds: int = 3  # new scope names, one a round
    round_s: float = 1.5
    ops: int = 1_000  # per worker; the rounds end the run first
    min_ops: int = 6  # calls each worker makes in a round, however long they take
    seed: int = 1
    own_raw: int = 3
    fault_rate: float = 0.0
    lost_response_rate: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    kills: int = 0  # SIGKILLs by the parent (workers are replaced)
    self_kill: tuple[float, float] | None = None  # P(kill just before / after a request)
    destroy: bool = False
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.rounds * self.round_s


SCOPE_MODES = ("plain", "faults", "crashes", "chaos")


def scope_config(backend: str, mode: str, trial: int = 0, *, long: bool = False) -> ScopeRunConfig:
    """The standard runs, 4 processes each:

    - ``plain``: no faults; the root's destroy() at the end;
    - ``faults``: 20% of requests fail (429, 500, 503, cut connections), 20% of writes lose
      their answer after being applied;
    - ``crashes``: SIGKILLs by the parent (mid-request: requests take 3-13 ms) and by the
      workers themselves, just before or just after 0.5% of their requests;
    - ``chaos`` (the normal suite's short run): 10% failed requests, 10% lost answers and
      the SIGKILLs of ``crashes``, together.

    ``long``: 6 rounds (new scopes to race for) instead of 2.
    """
    rounds = 6 if long else 2
    seed = {"plain": 31, "faults": 32, "crashes": 33, "chaos": 34}[mode] + 100 * trial
    cfg = ScopeRunConfig(f"scopes/{mode}", backend, processes=4, rounds=rounds, seed=seed)
    if mode == "plain":
        cfg.destroy = True
    if mode in ("faults", "chaos"):
        rate = 0.2 if mode == "faults" else 0.1
        cfg.fault_rate, cfg.lost_response_rate, cfg.round_s = rate, rate, 2.0
    if mode in ("crashes", "chaos"):
        cfg.kills, cfg.round_s = 3 * rounds, 2.0
        cfg.latency_ms, cfg.latency_jitter_ms = 3.0, 10.0
        cfg.self_kill = (0.005, 0.005)
    return cfg
