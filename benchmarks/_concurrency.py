"""The same concurrent-writers test for every design: ``workers`` processes, started
together (a barrier), each make ``per_worker`` children one at a time (a lone create each)
on one list; then the list is read back and the children it lacks are counted as lost.

It runs on an emulator of its own with the injected latency on, so that requests of
different writers overlap as they would over the Internet.
"""

from __future__ import annotations

import multiprocessing
import secrets
import time
from collections.abc import Callable
from multiprocessing.pool import Pool
from multiprocessing.synchronize import Barrier
from typing import Any

import openai

from linkedthreads import CHILD_TAG_KEY, ThreadIndex

from ._config import Config
from ._host import Host
from ._listing import ListEndpoint
from ._measure import count, log
from ._naive import NaiveChain
from ._ours import SETTINGS
from ._sdk import Objects

__all__ = ["Writers", "concurrency_test"]

_barrier: Barrier | None = None


def _init(barrier: Barrier) -> None:
    global _barrier
    _barrier = barrier


def _task(args: tuple[str, str, str, str, int]) -> tuple[list[str], list[str], float]:
    """One writer: make ``k`` children one at a time once every writer is ready."""
    design, base_url, backend, handle, k = args
    client = openai.OpenAI(base_url=base_url, api_key="bench-key", max_retries=0)
    made: list[str] = []
    errors: list[str] = []
    op: Callable[[], str]
    index: ThreadIndex | None = None
    if design == "ours":
        index = ThreadIndex.open(client, handle, settings=SETTINGS)
        op = lambda: str(index.create_child().id)  # noqa: E731
    elif design == "naive":
        op = NaiveChain(Objects(client, backend), handle).create_child
    else:
        op = ListEndpoint(Objects(client, backend), CHILD_TAG_KEY, handle).create_child
    assert _barrier is not None
    _barrier.wait()
    start = time.perf_counter()
    for _ in range(k):
        try:
            made.append(op())
        except Exception as exc:  # a failed call is reported, not fatal
            errors.append(f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    if index is not None:
        index.close()
    client.close()
    return made, errors, seconds


class Writers:
    """``n`` writer processes, started once (spawning costs seconds) and reused."""

    def __init__(self, n: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.n = n
        self._pool: Pool = ctx.Pool(n, initializer=_init, initargs=(ctx.Barrier(n),))

    def run(self, design: str, base_url: str, backend: str, handle: str, k: int) -> dict[str, Any]:
        """Every writer makes ``k`` children at once; one task each (each blocks at the
        barrier until all have started, so no process can take two)."""
        outcomes = self._pool.map(
            _task, [(design, base_url, backend, handle, k)] * self.n, chunksize=1
        )
        return {
            "made": [i for m, _, _ in outcomes for i in m],
            "errors": [e for _, es, _ in outcomes for e in es],
            "seconds": max(t for _, _, t in outcomes),
        }

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


def concurrency_test(cfg: Config, writers: Writers, backend: str, listing: bool) -> dict[str, Any]:
    """Run the test for ours, the naive chain and (if served) the list endpoint."""
    out: dict[str, Any] = {
        "workers": writers.n,
        "per_worker": cfg.per_worker,
        "latency_ms": cfg.latency_ms,
    }
    with Host(seed=cfg.seed, **({"list_endpoints": True} if listing else {})) as host:
        client = host.client()
        objects = Objects(client, backend)
        designs: list[tuple[str, str, Callable[[], set[str]]]] = []
        index = ThreadIndex.create(client, backend=backend, settings=SETTINGS)  # type: ignore[arg-type]
        designs.append(("ours", index.root_id, lambda: set(index.all())))
        chain = NaiveChain.create(objects)
        designs.append(("naive", chain.root_id, lambda: set(chain.all())))
        tag = "in:concurrency-" + secrets.token_hex(4)
        endpoint = ListEndpoint(objects, CHILD_TAG_KEY, tag)
        if listing:
            designs.append(("listing", tag, lambda: set(endpoint.all())))
        for design, handle, read in designs:
            log(f"  concurrency: {backend}, {design}, {writers.n} processes")
            host.update(latency_ms=cfg.latency_ms, latency_jitter_ms=0)
            try:
                run = count(
                    host,
                    lambda d=design, h=handle: writers.run(  # type: ignore[misc]
                        d, host.base_url, backend, h, cfg.per_worker
                    ),
                )
            finally:
                host.update(latency_ms=0)
            made = set(run.value["made"])
            endpoint.objects_seen = 0
            listed = read()
            figures: dict[str, Any] = {
                "made": len(made),
                "listed": len(made & listed),
                "lost": len(made - listed),
                "errors": run.value["errors"][:5],
                "requests_per_child": run.requests / max(1, len(made)),
                "seconds": run.value["seconds"],
            }
            if design == "listing":
                figures["objects_listed"] = endpoint.objects_seen
            out[design] = figures
        index.close()
        client.close()
    return out
