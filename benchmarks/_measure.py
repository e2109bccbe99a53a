"""Measuring: requests are counted by the emulator (exact); sequential round trips under an
injected latency, from when each request was sent and answered; peak memory is
``tracemalloc``'s peak while the work runs."""

from __future__ import annotations

import heapq
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._host import Host, Recorder

__all__ = [
    "Counted",
    "chain_depth",
    "count",
    "log",
    "object_creates",
    "object_reads",
    "peak_memory",
    "per_op",
    "round_trips",
]

T = TypeVar("T")


def run_meta(command: str) -> dict[str, Any]:
    """What a run records of itself first: when, what, where and how it was started."""
    import datetime
    import os
    import platform

    from linkedthreads import __version__

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "linkedthreads": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "command": command,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Counted(Generic[T]):
    """What one measured piece of work cost."""

    requests: int
    seconds: float
    value: T
    routes: dict[str, int]
    """Requests by route (``"GET /v1/threads/{thread_id}"``...)."""

    @property
    def object_reads(self) -> int:
        return object_reads(self.routes)


def object_reads(routes: dict[str, int]) -> int:
    """Reads of whole objects (pages, directories, children), not of a journal."""
    return sum(
        n
        for route, n in routes.items()
        if route.startswith("GET /")
        and route.endswith("}")
        and "/messages" not in route
        and "/items" not in route
    )


def object_creates(routes: dict[str, int]) -> int:
    """Creates of whole objects (pages, directories, children), not of journal entries."""
    return sum(
        n for route, n in routes.items() if route in ("POST /v1/conversations", "POST /v1/threads")
    )


def count(host: Host, work: Callable[[], T]) -> Counted[T]:
    """Run ``work`` and count the requests the emulator answered meanwhile."""
    before = host.stats()["requests"]
    start = time.perf_counter()
    value = work()
    seconds = time.perf_counter() - start
    after = host.stats()["requests"]
    routes = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    return Counted(sum(routes.values()), seconds, value, routes)


def per_op(host: Host, ops: list[Callable[[], Any]]) -> dict[str, Any]:
    """Run lone operations one after another; requests per operation, amortised."""
    done = count(host, lambda: [op() for op in ops])
    return {
        "ops": len(ops),
        "requests": done.requests,
        "per_op": done.requests / len(ops) if ops else None,
        "seconds": done.seconds,
        "routes": done.routes,
    }


def peak_memory(work: Callable[[], T]) -> tuple[T, int]:
    """Run ``work`` under ``tracemalloc``; its result and the peak of traced bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        value = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, peak


def chain_depth(intervals: list[tuple[float, float]]) -> int:
    """The longest sequence of requests each sent after the previous one was answered:
    the round trips that could not overlap. ``intervals``: (sent, answered) times."""
    answered: list[tuple[float, int]] = []  # heap of (answered, depth) not yet passed
    best = 0  # deepest chain among requests answered before the current one was sent
    deepest = 0
    for sent, done in sorted(intervals):
        while answered and answered[0][0] <= sent:
            best = max(best, heapq.heappop(answered)[1])
        heapq.heappush(answered, (done, best + 1))
        deepest = max(deepest, best + 1)
    return deepest


def round_trips(
    host: Host,
    recorder: Recorder,
    latency_ms: float,
    make_op: Callable[[], Callable[[], Any]],
    repeat: int,
) -> dict[str, float]:
    """Sequential round trips of an operation under ``latency_ms`` of injected latency (no
    jitter), mean of ``repeat`` runs (``make_op`` gives a fresh operation each time).

    ``round_trips``: the longest chain of its requests each sent after the previous one was
    answered (the client records when each request is sent and answered), so the client's
    own CPU time between requests does not count. ``wall_over_latency``: the wall time over
    the latency, which does count it.
    """
    depths: list[int] = []
    walls: list[float] = []
    requests: list[int] = []
    host.update(latency_ms=latency_ms, latency_jitter_ms=0)
    try:
        for _ in range(repeat):
            op = make_op()
            with recorder.recording() as intervals:
                start = time.perf_counter()
                op()
                walls.append(time.perf_counter() - start)
            depths.append(chain_depth(intervals))
            requests.append(len(intervals))
    finally:
        host.update(latency_ms=0)
    return {
        "round_trips": statistics.mean(depths),
        "max": max(depths),
        "requests": statistics.mean(requests),
        "wall_over_latency": statistics.mean(walls) / (latency_ms / 1000),
        "repeat": repeat,
    }
