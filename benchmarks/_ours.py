"""The figures of ``ThreadIndex`` at one size of index: reads, lone and bulk writes, round
trips. Every request count is the emulator's counter delta around the operation."""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import openai

from linkedthreads import CHILD_TAG_KEY, IndexSettings, ThreadIndex

from ._config import Config
from ._host import Host, Recorder
from ._measure import count, log, object_creates, object_reads, peak_memory, per_op, round_trips
from ._populate import create_objects, journal_page_bytes
from ._tracked import tracked_figures

__all__ = [
    "SETTINGS",
    "destroy_figures",
    "grow",
    "random_absent_id",
    "read_figures",
    "round_trip_figures",
    "write_figures",
]

SETTINGS = IndexSettings(gc_grace_seconds=0)
"""The defaults, but retired pages are collected at once, so that their deletion is charged
to the operation that retired them (with the default grace, a later compaction pays it)."""

COLD = replace(SETTINGS, page_cache_ids=0)
"""An instance that holds no page (design 7.5): what a process that neither wrote nor read
the pages pays. The index the benchmark grows is the warm case: it wrote every page."""


def random_absent_id(backend: str) -> str:
    """An ID of the backend's shape that no object has."""
    if backend == "threads":
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "thread_" + "".join(secrets.choice(alphabet) for _ in range(24))
    return "conv_" + secrets.token_hex(24)


def _drain(ids: Iterator[str]) -> int:
    n = 0
    for _ in ids:
        n += 1
    return n


def _lister(index: ThreadIndex) -> Callable[[], int]:
    return lambda: _drain(index.all())


def _settle(host: Host, index: ThreadIndex, phase: dict[str, Any]) -> dict[str, Any]:
    """Pay what a phase of writes left due, so that the next phase is not charged for it:

    - removals of paged IDs wait (hidden) for a rebuild that reads every page and rewrites
      the pages that changed: if anything waits, a full compaction;
    - pages a rebuild replaced are deleted by the compaction after it (the checkpoint that
      still names them must be superseded first): if the phase or the full compaction read
      pages, or the full compaction wrote some, one more compaction.
    """
    waiting = index.stats().waiting
    requests = 0
    rebuilt = object_reads(phase.get("routes", {})) > 0
    if waiting:
        done = count(host, lambda: index.compact(full=True))
        requests += done.requests
        # A rebuild reads the pages it does not hold and writes new ones; a full compaction
        # by the writer, which holds them all (design 7.5), only writes.
        rebuilt = rebuilt or done.object_reads > 0 or object_creates(done.routes) > 0
    if rebuilt:
        requests += count(host, index.compact).requests
    return {"waiting": waiting, "rebuilt": rebuilt, "requests": requests}


def grow(host: Host, index: ThreadIndex, target: int, cfg: Config) -> dict[str, Any]:
    """Grow the index to ``target`` children; what that cost, per child."""
    need = target - len(index)
    if need <= 0:
        return {"method": "none", "children": 0}
    if target <= cfg.create_max:
        done = count(host, lambda: index.create_children(need))
        # Page what the bulk calls left unpaged (a compaction every 64 appends of 100 IDs
        # can leave thousands), so that the next phase is not charged for it.
        paged = count(host, index.compact)
        return {
            "method": "create_children + compact()",
            "children": need,
            "requests": done.requests + paged.requests,
            "compact_requests": paged.requests,
            "per_child": (done.requests + paged.requests) / need,
            "seconds": done.seconds + paged.seconds,
        }
    tag = {CHILD_TAG_KEY: "in:" + index.root_id}
    requests, seconds = 0, 0.0
    chunk = 2_000
    for start in range(0, need, chunk):
        ids = create_objects(host.base_url, index.backend, min(chunk, need - start), tag)
        added = count(host, partial(index.add_many, ids))
        requests += added.requests
        seconds += added.seconds
    settle = count(host, lambda: index.compact())
    return {
        "method": "raw creates (setup) + add_many in chunks of 2000 + compact()",
        "children": need,
        "requests": requests + settle.requests,
        "compact_requests": settle.requests,
        "per_child": (requests + settle.requests) / need,
        "seconds": seconds + settle.seconds,
    }


def read_figures(
    host: Host, client: openai.OpenAI, index: ThreadIndex, ids: list[str], cfg: Config
) -> dict[str, Any]:
    """open, len, in, stats, all() (requests, peak memory), verify."""
    rng = random.Random(cfg.seed)
    out: dict[str, Any] = {}
    opened = count(host, lambda: ThreadIndex.open(client, index.root_id, settings=SETTINGS))
    opened.value.close()
    out["open"] = {"requests": opened.requests}
    length = count(host, lambda: peak_memory(lambda: len(index)))
    out["len"] = {
        "requests": length.requests,
        "value": length.value[0],
        "peak_bytes": length.value[1],
    }
    out["journal_page_bytes"] = journal_page_bytes(host.base_url, index.backend, index.root_id)
    stats = count(host, index.stats)
    out["stats"] = {"requests": stats.requests, **vars(stats.value)}
    listed = count(host, lambda: peak_memory(lambda: _drain(index.all())))
    n, peak = listed.value
    out["all"] = {
        "requests": listed.requests,
        "ids": n,
        "peak_bytes": peak,
        "pages": stats.value.pages,
        "directories": stats.value.directories,
        "seconds": listed.seconds,
    }
    recent = ids[-1]
    paged = ids[: stats.value.page_slots] or ids
    out["in_recent"] = {"requests": count(host, lambda: recent in index).requests}
    samples = [rng.choice(paged) for _ in range(5)]
    found = count(host, lambda: [s in index for s in samples])
    out["in_paged_warm"] = {
        "requests": found.requests / len(samples),
        "samples": len(samples),
        "all_found": all(found.value),
    }
    cold = ThreadIndex.open(client, index.root_id, settings=COLD)  # keeps no page
    found = count(host, lambda: [s in cold for s in samples])
    out["in_paged"] = {
        "requests": found.requests / len(samples),
        "samples": len(samples),
        "all_found": all(found.value),
        "cache": "off",
    }
    absent = random_absent_id(index.backend)
    out["in_absent"] = {"requests": count(host, lambda: absent in cold).requests, "cache": "off"}
    cold.close()
    out["in_absent_warm"] = {"requests": count(host, lambda: absent in index).requests}
    if len(ids) <= cfg.verify_max:
        verified = count(host, index.verify)
        out["verify"] = {
            "requests": verified.requests,
            "ok": verified.value.ok,
            "seconds": verified.seconds,
        }
    return out


def write_figures(
    host: Host, client: openai.OpenAI, index: ThreadIndex, ids: list[str], cfg: Config
) -> dict[str, Any]:
    """Lone and bulk writes on top of the index; ``ids`` is its list (updated in place)."""
    rng = random.Random(cfg.seed + len(ids))
    out: dict[str, Any] = {}
    made: list[str] = []

    def create() -> None:
        made.append(index.create_child().id)

    def phase(name: str, ops: list[Callable[[], Any]]) -> dict[str, Any]:
        figures = per_op(host, ops)
        figures["settle"] = _settle(host, index, figures)
        out[name] = figures
        return figures

    phase("create_child", [create] * cfg.lone_ops)
    ids.extend(made)
    # Recent children: those not yet in a page (a compaction pages the oldest of them as
    # soon as they fill one: d IDs), i.e. the newest ``unpaged`` of the list. If fewer than
    # the sample wait unpaged, top them up (setup, not counted); the sample stays under d,
    # so no compaction pages any of them while they are deleted.
    want = min(2 * cfg.recent_ops, index.page_capacity - 1)
    unpaged = index.stats().unpaged
    if unpaged < want:
        ids.extend(c.id for c in index.create_children(want - unpaged))
        unpaged = want
    recent = ids[len(ids) - unpaged :][-want:]
    rng.shuffle(recent)
    half = len(recent) // 2
    to_delete, to_remove = recent[:half], recent[half:]
    phase("delete_recent", [partial(index.delete, i) for i in to_delete])
    phase("remove_recent", [partial(index.remove, i) for i in to_remove])
    gone = set(recent)
    ids[:] = [i for i in ids if i not in gone]

    # Random old children: IDs in pages. Removing them hides them until a rebuild.
    paged = ids[: index.stats().page_slots]
    cycle = index.overlay_limit  # removals that wait before a rebuild (design 7.2)
    k = min(cfg.random_ops or cycle, len(ids) // 4)
    picked = rng.sample(paged, min(2 * k, len(paged)))
    old_delete, old_remove = picked[:k], picked[k:]
    # Deletes by the instance that wrote the pages (its rebuild reads none: design 7.5);
    # removals by one that holds none (cache off), as a process that never read them.
    cold = ThreadIndex.open(client, index.root_id, settings=COLD)
    ops: list[tuple[str, list[str], ThreadIndex, Callable[[str], None]]] = [
        ("delete_random_old", old_delete, index, index.delete),
        ("remove_random_old", old_remove, cold, cold.remove),
    ]
    for name, victims, by, op in ops:
        figures = per_op(host, [partial(op, i) for i in victims])
        figures["cache"] = "off" if by is cold else "the writer's"
        # Another process's count right after the removals: 1 request when the remover held
        # the pages and so stated where the IDs were (design 4.4), else a read of the pages,
        # after which that reader says what they hold (4.5) and the next reader pays 1.
        for key in ("len_cold_reader", "len_next_reader"):
            reader = ThreadIndex.open(client, index.root_id, settings=COLD)
            figures[key] = count(host, reader.__len__).requests
            reader.close()
        figures["len_while_waiting"] = count(host, partial(len, by)).requests
        # What that len() learned of the pages (design 7.4): the same instance's next count,
        # then another instance's once this one's next write has recorded it.
        figures["len_again"] = count(host, partial(len, by)).requests
        ids.append(by.create_child().id)
        other = ThreadIndex.open(client, index.root_id, settings=COLD)
        figures["len_other_after_next_write"] = count(host, other.__len__).requests
        other.close()
        figures["settle"] = _settle(host, by, figures)
        settled = figures["requests"] + figures["settle"]["requests"]
        figures["per_op_settled"] = settled / len(victims) if victims else None
        out[name] = figures
    cold.close()
    dropped = set(picked)
    ids[:] = [i for i in ids if i not in dropped]

    # Concurrent callers in one process: one shared instance, group commit.
    threads_made: list[str] = []
    lock = threading.Lock()

    def run_threads(callers: int) -> None:
        per_thread = max(16, cfg.bulk // callers // 2)

        def caller() -> None:
            for _ in range(per_thread):
                child = index.create_child().id
                with lock:
                    threads_made.append(child)

        workers = [threading.Thread(target=caller) for _ in range(callers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    for name, callers, latency in (
        ("create_child_threads", cfg.threads, 0.0),
        ("create_child_threads_latency", cfg.threads, cfg.latency_ms),
        ("create_child_many_threads", cfg.many_threads, 0.0),
        ("create_child_many_threads_latency", cfg.many_threads, cfg.latency_ms),
    ):
        threads_made.clear()
        host.update(latency_ms=latency, latency_jitter_ms=0)
        try:
            concurrent = count(host, partial(run_threads, callers))
        finally:
            host.update(latency_ms=0)
        out[name] = {
            "threads": callers,
            "latency_ms": latency,
            "children": len(threads_made),
            "requests": concurrent.requests,
            "per_child": concurrent.requests / len(threads_made),
            "routes": concurrent.routes,
        }
        ids.extend(threads_made)

    # The same creates through a tracked client (index.track): lone, then concurrent threads.
    tracked_made: list[str] = []
    out.update(tracked_figures(host, client, index, cfg, tracked_made))
    ids.extend(tracked_made)

    # Bulk calls, each followed by what it leaves due.
    def bulk(name: str, work: Callable[[], Any], n: int) -> Any:
        done = count(host, work)
        settle = _settle(host, index, {"routes": done.routes})
        out[name] = {
            "n": n,
            "requests": done.requests,
            "per_child": done.requests / n,
            "settle": settle,
            "per_child_settled": (done.requests + settle["requests"]) / n,
            "routes": done.routes,
        }
        return done.value

    made_in_bulk = bulk("create_children", lambda: index.create_children(cfg.bulk), cfg.bulk)
    bulk("delete_many", partial(index.delete_many, [c.id for c in made_in_bulk]), cfg.bulk)
    tag = {CHILD_TAG_KEY: "in:" + index.root_id}
    elsewhere = create_objects(host.base_url, index.backend, cfg.bulk, tag)
    bulk("add_many", partial(index.add_many, elsewhere), cfg.bulk)
    bulk("remove_many", partial(index.remove_many, elsewhere), cfg.bulk)

    # Memory again, now that the newest journal entries are those of lone writes (right
    # after growing, they are the large entries of the bulk calls that grew the index).
    _, peak = peak_memory(lambda: _drain(index.all()))
    _, journal_peak = peak_memory(lambda: len(index))
    out["memory_after"] = {
        "all_peak_bytes": peak,
        "len_peak_bytes": journal_peak,
        "journal_page_bytes": journal_page_bytes(host.base_url, index.backend, index.root_id),
    }
    return out


def round_trip_figures(
    host: Host, recorder: Recorder, client: openai.OpenAI, index: ThreadIndex, cfg: Config
) -> dict[str, Any]:
    """Sequential round trips under ``cfg.latency_ms`` of injected latency (``client`` sends
    through ``recorder``)."""
    out: dict[str, Any] = {}
    latency, repeat = cfg.latency_ms, cfg.rt_repeat

    def opener() -> Callable[[], Any]:
        return lambda: ThreadIndex.open(client, index.root_id, settings=SETTINGS).close()

    out["open"] = round_trips(host, recorder, latency, opener, repeat)
    out["len"] = round_trips(host, recorder, latency, lambda: lambda: len(index), repeat)
    for c in (1, 8, 32):
        reader = ThreadIndex.open(
            client, index.root_id, settings=replace(SETTINGS, read_concurrency=c)
        )
        # deterministic: every page read is one request of a batch; one run suffices
        out[f"all_c{c}"] = round_trips(host, recorder, latency, partial(_lister, reader), 1)
        reader.close()
    absent = random_absent_id(index.backend)
    cold = ThreadIndex.open(client, index.root_id, settings=COLD)  # scans every page
    out["in_absent"] = round_trips(host, recorder, latency, lambda: lambda: absent in cold, 1)
    cold.close()
    made: list[str] = []
    out["create_child"] = round_trips(
        host, recorder, latency, lambda: lambda: made.append(index.create_child().id), repeat
    )
    out["delete"] = round_trips(
        host, recorder, latency, lambda: lambda: index.delete(made.pop()), repeat
    )
    return out


def destroy_figures(host: Host, client: openai.OpenAI, backend: str, n: int) -> dict[str, Any]:
    """``destroy`` of a fresh index of ``n`` children: requests, and objects left."""
    index = ThreadIndex.create(client, backend=backend, settings=SETTINGS)  # type: ignore[arg-type]
    tag = {CHILD_TAG_KEY: "in:" + index.root_id}
    before = host.live_count(backend)
    made = create_objects(host.base_url, backend, n, tag)
    for start in range(0, n, 2_000):
        index.add_many(made[start : start + 2_000])
    index.compact()
    pages = index.stats().pages
    log(f"  destroy: {backend} index of {n} children, {pages} pages")
    done = count(host, index.destroy)
    index.close()
    return {
        "children": n,
        "pages": pages,
        "requests": done.requests,
        "seconds": done.seconds,
        "objects_left": host.live_count(backend) - before + 1,  # +1: the root, made before
    }
