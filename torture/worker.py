"""Worker processes: a seeded random mix of operations on one index, every call logged
before and after (``OpLog``), killed at random moments in the crash runs."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import threading
import time
import warnings
from collections.abc import Iterable
from typing import Any

import httpx2
import openai

from linkedthreads import (
    ThreadIndex,
)

from .settings import OP_TAG, PUBLIC_ERRORS, torture_settings

WEIGHTS: dict[str, int] = {
    "create_child": 20,
    "create_children": 4,
    "add": 18,
    "add_many": 5,
    "remove": 12,
    "remove_many": 3,
    "delete": 9,
    "delete_many": 3,
    "all": 10,
    "contains": 5,
    "len": 2,
    "compact": 3,
    "compact_full": 1,
}


class OpLog:
    """One JSON line per event, appended with one ``write`` each (survives SIGKILL)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, **event: Any) -> None:
        os.write(self._fd, (json.dumps(event, separators=(",", ":")) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


class CrashTransport(httpx2.BaseTransport):
    """Kills its own process with SIGKILL just before a request is sent, or just after its
    answer arrived (the server applied it; the library never learns): crash points that
    land exactly between requests."""

    def __init__(self, inner: httpx2.BaseTransport, seed: int, before: float, after: float) -> None:
        self._inner = inner
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._before, self._after = before, after

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._draw() < self._before:
            os.kill(os.getpid(), signal.SIGKILL)
        response = self._inner.handle_request(request)
        if self._draw() < self._after:
            response.read()
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    def close(self) -> None:
        self._inner.close()


def _error_text(exc: BaseException) -> str:
    """``Class: message``, the class being the most specific public error class the
    exception is an instance of (an internal subclass is named in brackets), or its own
    class if it is not a public error at all."""
    own = type(exc).__name__
    public = next(
        (
            c.__name__
            for c in type(exc).__mro__
            if c.__name__ in PUBLIC_ERRORS and c.__module__.startswith("linkedthreads")
        ),
        None,
    )
    name = own if public is None else public if public == own else f"{public}[{own}]"
    return f"{name}: {str(exc)[:300]}"


class Worker:
    """One writer thread: a seeded random mix of operations on one index, all logged."""

    def __init__(self, cfg: dict[str, Any], name: str, index: ThreadIndex, seed: int) -> None:
        self.cfg = cfg
        self.name = name
        self.index = index
        self.rng = random.Random(seed)
        self.log = OpLog(os.path.join(cfg["log_dir"], f"{name}.jsonl"))
        self.own_raw: list[str] = list(cfg["own_raw"].get(name, []))
        self.children: list[str] = []
        self.shared: list[str] = list(cfg["shared"])
        self.seeded: list[str] = list(cfg["seeded"])
        self.kinds = list(cfg.get("weights", WEIGHTS))
        self.weights = [cfg.get("weights", WEIGHTS)[k] for k in self.kinds]

    def _candidates(self) -> list[str]:
        return self.own_raw + self.children + self.shared + self.seeded

    def _deletable(self) -> list[str]:
        return self.own_raw + self.children

    def _pick(self, pool: list[str], k: int = 1) -> list[str]:
        if not pool:
            return []
        return self.rng.sample(pool, min(k, len(pool)))

    def _forget(self, ids: Iterable[str]) -> None:
        gone = set(ids)
        self.own_raw = [i for i in self.own_raw if i not in gone]
        self.children = [i for i in self.children if i not in gone]

    def run(self) -> None:
        deadline = time.monotonic() + self.cfg["seconds"]
        stop_file = self.cfg.get("stop_file")
        pause = self.cfg.get("pause_s", 0.0)
        for seq in range(self.cfg["ops"]):
            if time.monotonic() > deadline or (stop_file and os.path.exists(stop_file)):
                break
            kind = self.rng.choices(self.kinds, self.weights)[0]
            self.one(seq, kind)
            if pause:
                time.sleep(self.rng.uniform(0, pause))
        self.log.close()

    def one(self, seq: int, kind: str) -> None:
        ix, rng = self.index, self.rng
        tag = f"{self.name}:{seq}"
        ids: list[str] = []
        if kind in ("add", "remove", "contains"):
            ids = self._pick(self._candidates())
        elif kind in ("add_many", "remove_many"):
            ids = self._pick(self._candidates(), rng.randint(2, 6))
        elif kind == "delete":
            ids = self._pick(self._deletable())
        elif kind == "delete_many":
            ids = self._pick(self._deletable(), rng.randint(2, 5))
        if (
            kind
            in ("add", "remove", "contains", "delete", "add_many", "remove_many", "delete_many")
            and not ids
        ):
            kind, ids = "create_child", []
        n = rng.randint(2, 2 * self.cfg["bulk_batch"]) if kind == "create_children" else 0
        self.log.write(ev="begin", seq=seq, op=kind, ids=ids, tag=tag, n=n, t0=time.monotonic())
        try:
            result = perform(ix, kind, ids, n, tag)
        except BaseException as exc:  # every failure is data for the checker
            self.log.write(ev="end", seq=seq, ok=False, err=_error_text(exc), t1=time.monotonic())
            if kind in ("delete", "delete_many"):
                self._forget(ids)
            return
        self.log.write(ev="end", seq=seq, ok=True, result=result, t1=time.monotonic())
        if kind in ("create_child", "create_children"):
            self.children.extend(result)
        elif kind in ("delete", "delete_many"):
            self._forget(ids)


def perform(ix: ThreadIndex, kind: str, ids: list[str], n: int, tag: str) -> Any:
    """One operation of a worker's mix on ``ix``, with its result as the log keeps it (the
    IDs made, the list, the answer of ``in``, the count, the scopes' (name, root) pairs) or
    None. A child made is tagged with ``tag``, the call that made it."""
    if kind == "create_child":
        return [ix.create_child(metadata={OP_TAG: tag}).id]
    if kind == "create_children":
        return [c.id for c in ix.create_children(n, metadata={OP_TAG: tag})]
    if kind == "add":
        ix.add(ids[0])
    elif kind == "add_many":
        ix.add_many(ids)
    elif kind == "remove":
        ix.remove(ids[0])
    elif kind == "remove_many":
        ix.remove_many(ids)
    elif kind == "delete":
        ix.delete(ids[0])
    elif kind == "delete_many":
        ix.delete_many(ids)
    elif kind == "all":
        return list(ix.all())
    elif kind == "contains":
        return ids[0] in ix
    elif kind == "len":
        return len(ix)
    elif kind == "scopes":
        return [list(pair) for pair in ix.scopes()]
    elif kind == "compact":
        ix.compact()
    elif kind == "compact_full":
        ix.compact(full=True)
    return None


def make_client(cfg: dict[str, Any], seed: int) -> openai.OpenAI:
    transport: httpx2.BaseTransport = httpx2.HTTPTransport()
    kill = cfg.get("self_kill")
    if kill:
        transport = CrashTransport(transport, seed, kill[0], kill[1])
    http = httpx2.Client(transport=transport, timeout=30.0)
    return openai.OpenAI(
        base_url=cfg["base_url"],
        api_key=cfg.get("api_key", "torture-key"),
        http_client=http,
        max_retries=0,
    )


def worker_main(cfg: dict[str, Any]) -> None:
    """Entry point of a worker process: ``cfg["threads"]`` writer threads share one index
    instance (so group commit and the shared pending checkpoint are exercised too)."""
    warnings.simplefilter("ignore")
    seed = cfg["seed"]
    client = make_client(cfg, seed)
    settings = torture_settings(page_ids=cfg.get("page_ids"), **cfg.get("settings", {}))
    index = ThreadIndex.open(client, cfg["root_id"], settings=settings)
    workers = [
        Worker(cfg, f"{cfg['name']}.{t}", index, seed * 1000 + t)
        for t in range(cfg.get("threads", 1))
    ]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index.close()


def checker_main(cfg: dict[str, Any]) -> None:
    """Entry point of a fresh checker process (crash test): open the root, list it, count
    it, look a few IDs up; every result is logged as an observation."""
    warnings.simplefilter("ignore")
    log = OpLog(os.path.join(cfg["log_dir"], f"{cfg['name']}.jsonl"))
    client = make_client({**cfg, "self_kill": None}, cfg["seed"])
    t0 = time.monotonic()
    log.write(ev="begin", seq=0, op="all", ids=[], tag="", n=0, t0=t0)
    try:
        index = ThreadIndex.open(
            client, cfg["root_id"], settings=torture_settings(**cfg.get("settings", {}))
        )
        listed = list(index.all())
    except BaseException as exc:
        log.write(ev="end", seq=0, ok=False, err=_error_text(exc), t1=time.monotonic())
        return
    log.write(ev="end", seq=0, ok=True, result=listed, t1=time.monotonic())
    log.write(ev="begin", seq=1, op="len", ids=[], tag="", n=0, t0=time.monotonic())
    try:
        log.write(ev="end", seq=1, ok=True, result=len(index), t1=time.monotonic())
    except BaseException as exc:
        log.write(ev="end", seq=1, ok=False, err=_error_text(exc), t1=time.monotonic())
    rng = random.Random(cfg["seed"])
    for seq, probe in enumerate(rng.sample(listed, min(3, len(listed))), start=2):
        log.write(ev="begin", seq=seq, op="contains", ids=[probe], tag="", n=0, t0=time.monotonic())
        try:
            log.write(ev="end", seq=seq, ok=True, result=probe in index, t1=time.monotonic())
        except BaseException as exc:
            log.write(ev="end", seq=seq, ok=False, err=_error_text(exc), t1=time.monotonic())
    index.close()


_CTX: Any = None


def process_context() -> Any:
    """A forkserver context whose server preloaded the library (a worker starts in ms)."""
    global _CTX
    if _CTX is None:
        ctx = multiprocessing.get_context("forkserver")
        package = __name__.rpartition(".")[0]
        ctx.set_forkserver_preload(
            [
                "openai",
                "httpx2",
                "linkedthreads",
                __name__,
                f"{package}._preload" if package else "_preload",
            ]
        )
        _CTX = ctx
    return _CTX
