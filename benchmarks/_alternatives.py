"""The figures of the alternatives at one size, on the same emulator and the same IDs."""

from __future__ import annotations

import random
from functools import partial
from typing import Any

import openai

from linkedthreads import CHILD_TAG_KEY

from ._config import Config
from ._host import Host, Recorder
from ._listing import ListEndpoint
from ._measure import count, peak_memory, per_op, round_trips
from ._naive import NaiveChain, naive_capacity
from ._ours import random_absent_id
from ._sdk import Objects

__all__ = ["listing_figures", "naive_figures"]


def _drain(it: Any) -> int:
    return sum(1 for _ in it)


def naive_figures(
    host: Host,
    recorder: Recorder,
    client: openai.OpenAI,
    backend: str,
    ids: list[str],
    cfg: Config,
) -> dict[str, Any]:
    """(a): the naive chain holding ``ids``."""
    rng = random.Random(cfg.seed)
    objects = Objects(client, backend)
    chain = NaiveChain.create(objects)
    per_object = naive_capacity(len(ids[0]))
    load = count(host, lambda: chain.bulk_load(ids, per_object))
    out: dict[str, Any] = {"per_object": per_object, "setup_requests": load.requests}
    opened = count(host, partial(NaiveChain.open, objects, chain.root_id))
    out["open"] = {"requests": opened.requests}
    listed = count(host, lambda: peak_memory(lambda: _drain(chain.all())))
    out["all"] = {
        "requests": listed.requests,
        "ids": listed.value[0],
        "peak_bytes": listed.value[1],
        "seconds": listed.seconds,
    }
    out["len"] = {"requests": listed.requests}
    samples = [rng.choice(ids) for _ in range(cfg.walk_ops)]
    found = count(host, lambda: [s in chain for s in samples])
    out["in_random"] = {"requests": found.requests / len(samples), "samples": len(samples)}
    absent = random_absent_id(backend)
    out["in_absent"] = {"requests": count(host, lambda: absent in chain).requests}
    made: list[str] = []
    out["create_child"] = per_op(host, [lambda: made.append(chain.create_child())] * cfg.naive_ops)
    recent = made[-cfg.walk_ops :]
    out["delete_recent"] = per_op(host, [partial(chain.delete, i) for i in recent])
    # Old IDs belong to our index's children too: remove them from the chain (the walk and
    # the rewrite) and count the object's DELETE as the one request it is for every design.
    old = [rng.choice(ids) for _ in range(cfg.walk_ops)]
    removed = per_op(host, [partial(chain.remove, i) for i in old])
    out["remove_random_old"] = removed
    out["delete_random_old"] = {
        **removed,
        "per_op": removed["per_op"] + 1,
        "note": "remove + the object's DELETE (1 request)",
    }
    out["rt_all"] = round_trips(
        host, recorder, cfg.latency_ms, lambda: lambda: _drain(chain.all()), 1
    )
    out["rt_create_child"] = round_trips(
        host, recorder, cfg.latency_ms, lambda: chain.create_child, cfg.rt_repeat
    )
    return out


def listing_figures(
    host: Host,
    recorder: Recorder,
    client: openai.OpenAI,
    backend: str,
    root_id: str,
    n: int,
    cfg: Config,
) -> dict[str, Any]:
    """(b) or (c): a list endpoint, filtered by the tag our children carry."""
    endpoint = ListEndpoint(Objects(client, backend), CHILD_TAG_KEY, "in:" + root_id)
    listed = count(host, lambda: peak_memory(lambda: _drain(endpoint.all())))
    out: dict[str, Any] = {
        "name": endpoint.name,
        "all": {
            "requests": listed.requests,
            "ids": listed.value[0],
            "objects_listed": endpoint.objects_seen,
            "peak_bytes": listed.value[1],
            "seconds": listed.seconds,
        },
        "len": {"requests": listed.requests},
        "open": {"requests": 0, "note": "nothing to open"},
    }
    made: list[str] = []
    out["create_child"] = per_op(host, [lambda: made.append(endpoint.create_child())] * cfg.alt_ops)
    out["in"] = {"requests": count(host, lambda: made[0] in endpoint).requests}
    out["delete"] = per_op(host, [partial(endpoint.delete, i) for i in made])
    out["rt_all"] = round_trips(
        host, recorder, cfg.latency_ms, lambda: lambda: _drain(endpoint.all()), 1
    )
    out["rt_create_child"] = round_trips(
        host, recorder, cfg.latency_ms, lambda: endpoint.create_child, cfg.rt_repeat
    )
    out["ids_expected"] = n
    return out
