"""Tracked clients (``index.track(client)``): the requests a create through one costs, lone
and from concurrent threads of one process, measured as ``create_child`` is (``_ours``).

``python -m benchmarks._tracked [--quick]`` runs this measurement alone, on a fresh index of
each backend, and prints its figures as JSON (the full run records them at every size).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import warnings
from functools import partial
from typing import Any

import openai

from linkedthreads import ThreadIndex

from ._config import QUICK, Config
from ._host import Host
from ._measure import count, log, per_op

__all__ = ["tracked_figures"]


def _create(tracked: openai.OpenAI, backend: str) -> str:
    if backend == "conversations":
        return tracked.conversations.create().id
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return tracked.beta.threads.create().id


def tracked_figures(
    host: Host, client: openai.OpenAI, index: ThreadIndex, cfg: Config, made: list[str]
) -> dict[str, Any]:
    """Lone tracked creates (``cfg.lone_ops``, compaction upkeep included), then ``cfg.threads``
    and ``cfg.many_threads`` threads creating at once through one tracked client; the IDs
    made are appended to ``made``."""
    tracked = index.track(client)
    create = partial(_create, tracked, index.backend)
    out: dict[str, Any] = {
        "tracked_create": per_op(host, [lambda: made.append(create())] * cfg.lone_ops)
    }
    lock = threading.Lock()

    def run_threads(callers: int, into: list[str]) -> None:
        per_thread = max(16, cfg.bulk // callers // 2)

        def caller() -> None:
            for _ in range(per_thread):
                object_id = create()
                with lock:
                    into.append(object_id)

        workers = [threading.Thread(target=caller) for _ in range(callers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    for name, callers in (
        ("tracked_create_threads", cfg.threads),
        ("tracked_create_many_threads", cfg.many_threads),
    ):
        batch: list[str] = []
        done = count(host, partial(run_threads, callers, batch))
        out[name] = {
            "threads": callers,
            "children": len(batch),
            "requests": done.requests,
            "per_child": done.requests / len(batch),
            "routes": done.routes,
        }
        made.extend(batch)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._tracked", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick run's sample sizes")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    results: dict[str, Any] = {}
    for backend in cfg.backends:
        with Host(seed=cfg.seed) as host:
            client = host.client()
            index = ThreadIndex.create(client, backend=backend)  # type: ignore[arg-type]
            log(f"{backend}: tracked creates")
            made: list[str] = []
            figures = tracked_figures(host, client, index, cfg, made)
            assert sorted(index.all()) == sorted(made), "a tracked create is not listed"
            results[backend] = {
                name: {k: v for k, v in f.items() if k != "routes"} for name, f in figures.items()
            }
            index.close()
            client.close()
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
