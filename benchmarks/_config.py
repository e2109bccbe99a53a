"""What a run measures: sizes and sample sizes (command-line options)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = ["QUICK", "Config"]


@dataclass(frozen=True)
class Config:
    """Sizes and samples of a run; the defaults take about 14 minutes on 2 cores."""

    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    backends: tuple[str, ...] = ("conversations", "threads")
    lone_ops: int = 640
    """Lone ``create_child`` calls at each size (10 compaction cycles of 64)."""
    recent_ops: int = 320
    """Lone ``delete`` and lone ``remove`` of the children just created, each."""
    random_ops: int | None = None
    """Lone ``delete`` and lone ``remove`` of random old (paged) children at each size, each,
    capped at N / 4. None: the index's overlay limit L, i.e. one whole cycle (the removals
    that make one rebuild due), so that the figure with its rebuild is the steady state."""
    bulk: int = 1_000
    """Children of each bulk call measured at each size."""
    threads: int = 16
    """Threads of one process calling ``create_child`` on one shared instance."""
    many_threads: int = 64
    """The same with more callers: a call returns once its record is appended, so an append
    carries at most one record per caller and the floor is 1 + 1 / callers requests a child."""
    create_max: int = 10_000
    """Grow with ``create_children`` up to this size; beyond it, objects are created with
    raw HTTP (setup) and listed with ``add_many`` (measured)."""
    verify_max: int = 1_000
    """``verify`` reads every child (N requests): run it up to this size."""
    destroy_max: int = 1_000
    """``destroy`` deletes every child (N requests): run it up to this size."""
    latency_ms: float = 20.0
    model_latency_ms: float = 150.0
    """The latency of the real service the seconds are computed at (``_seconds.py``)."""
    model_jitter_ms: float = 50.0
    """Its jitter: uniform on +/- this, per request."""
    rt_repeat: int = 5
    naive_ops: int = 100
    """Lone appends to the naive chain at each size."""
    walk_ops: int = 2
    """Deletes and membership tests on the naive chain (each walks the chain)."""
    alt_ops: int = 20
    """Lone creates and deletes with a list endpoint."""
    workers: int = 4
    per_worker: int = 50
    seed: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


QUICK = replace(
    Config(),
    sizes=(300, 3_000),
    lone_ops=64,
    recent_ops=32,
    random_ops=60,
    bulk=100,
    threads=8,
    many_threads=32,
    create_max=1_000,
    verify_max=300,
    destroy_max=300,
    rt_repeat=2,
    naive_ops=20,
    walk_ops=2,
    alt_ops=5,
    workers=3,
    per_worker=15,
)
