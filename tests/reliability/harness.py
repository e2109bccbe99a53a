"""The torture harness: worker processes, their operation logs, and the history checker.

Used by the tests in this folder and by ``scripts/torture.py``. Nothing here is part of
the library; it drives the public API (and reads the journal with the library's pure
parser, to tell index pages from orphans).

How a run works:

1. The parent starts an emulator, creates an index, seeds it (optionally) and creates raw
   objects for the workers to ``add``.
2. Worker processes (forked from a ``forkserver`` that preloaded the library, so a worker
   starts in milliseconds) open the index and run a seeded random mix of operations. Each
   operation is logged twice, one JSON line each, to the worker's own file: ``begin``
   (before the first request) and ``end`` (after the call returned or raised), with
   ``time.monotonic()`` stamps (one clock for every process on Linux).
3. The checker reads the logs and judges every observation (every ``all()`` and ``in``
   result, and the final list) against the history: a per-ID linearizability check, since
   the protocol's semantics make each ID an independent register ("listed iff the last
   record naming it is an add", docs/design.md 6.2). An acknowledged operation took effect
   somewhere inside its interval; a failed or interrupted one maybe did, inside its interval.
4. Objects alive in the emulator but known to nobody are orphans; each must be explained by
   the documented window (docs/design.md 8.2): a create call that did not record it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import openai

from linkedthreads import (
    IndexSettings,
    LinkedThreadsError,
    RetryPolicy,
    ThreadIndex,
)

SCALE = float(os.environ.get("LINKEDTHREADS_TORTURE_SCALE", "1") or "1")
OP_TAG = "torture_op"  # metadata key naming the create call that made an object
RAW_TAG = "torture_raw"  # metadata key of objects made with the raw SDK
INF = math.inf
INFLIGHT_SLACK_S = 1.5  # a killed worker's last request may still land this long after
PUBLIC_ERRORS = frozenset(
    {
        "APIRequestError",
        "BackendUnavailableError",
        "ConcurrentChangeError",
        "CorruptIndexError",
        "IndexNotFoundError",
        "InvalidIdError",
        "MetadataError",
        "NotAnIndexError",
        "UnsupportedFormatError",
    }
)


def scaled(n: float, minimum: int = 1) -> int:
    """``n`` times the torture scale (``LINKEDTHREADS_TORTURE_SCALE``), at least ``minimum``."""
    return max(minimum, round(n * SCALE))


# -- the emulator -------------------------------------------------------------------------


def start_emulator(**settings: Any) -> Any:
    """Start an emulator on 127.0.0.1 with ``settings``.

    The harness once worked around an emulator bug here (no TCP_NODELAY on accepted
    connections: every answer waited ~40 ms for the client's delayed ACK); the emulator now
    sets it itself (``emulator/_server.py``), and ``nodelay`` stays as a harmless guard.
    """
    from linkedthreads.testing import Emulator

    return nodelay(Emulator(**settings).start())


def nodelay(emu: Any) -> Any:
    """Set TCP_NODELAY on a running emulator's listening socket (see ``start_emulator``)."""
    sock = getattr(getattr(emu, "_server", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return emu


def quiet_faults(emu: Any) -> None:
    """Switch off every fault and delay (for setup and for the final checks)."""
    emu.update_settings(
        fault_rate=0.0, lost_response_rate=0.0, latency_ms=0.0, latency_jitter_ms=0.0
    )


def raw_client(base_url: str, api_key: str = "torture-key", **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 5)
    return openai.OpenAI(base_url=base_url, api_key=api_key, **kw)


def fake_ids(backend: str, n: int, rng: random.Random) -> list[str]:
    """IDs of the right shape that name no object (``add`` does not check existence)."""
    if backend == "threads":
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return ["thread_" + "".join(rng.choice(alphabet) for _ in range(24)) for _ in range(n)]
    return ["conv_" + "".join(rng.choice("0123456789abcdef") for _ in range(48)) for _ in range(n)]


def create_raw(client: openai.OpenAI, backend: str, n: int, label: str) -> list[str]:
    """``n`` objects made with the raw SDK (not children of any index)."""
    out = []
    for i in range(n):
        md = {RAW_TAG: f"{label}:{i}"}
        if backend == "threads":
            out.append(client.beta.threads.create(metadata=md).id)
        else:
            out.append(client.conversations.create(metadata=md).id)
    return out


def retrieve_metadata(client: openai.OpenAI, backend: str, id_: str) -> dict[str, str] | None:
    """An object's metadata, or None if it does not exist."""
    try:
        if backend == "threads":
            obj = client.beta.threads.retrieve(id_)
        else:
            obj = client.conversations.retrieve(id_)
    except openai.NotFoundError:
        return None
    return dict(obj.metadata or {})


def read_journal_texts(client: openai.OpenAI, backend: str, root_id: str) -> list[tuple[str, str]]:
    """Every journal entry of the root, oldest first: (entry ID, text)."""
    out: list[tuple[str, str]] = []
    after: str | None = None
    for _ in range(100_000):
        kw: dict[str, Any] = {"order": "asc", "limit": 100}
        if after is not None:
            kw["after"] = after
        if backend == "threads":
            page = client.beta.threads.messages.list(root_id, **kw)
            for m in page.data:
                text = "".join(p.text.value for p in m.content if getattr(p, "text", None))
                out.append((m.id, text))
        else:
            page = client.conversations.items.list(root_id, **kw)
            for it in page.data:
                parts = getattr(it, "content", None) or []
                out.append((it.id, "".join(p.text for p in parts if isinstance(p.text, str))))
        if not page.has_more or not page.data:
            break
        after = page.data[-1].id
    return out


def append_text(client: openai.OpenAI, backend: str, root_id: str, text: str) -> str:
    """Append one message/item to ``root_id`` by hand; its ID."""
    if backend == "threads":
        return client.beta.threads.messages.create(root_id, role="user", content=text).id
    page = client.conversations.items.create(
        root_id,
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        ],
    )
    return page.data[0].id


def delete_entry(client: openai.OpenAI, backend: str, root_id: str, entry_id: str) -> None:
    if backend == "threads":
        client.beta.threads.messages.delete(entry_id, thread_id=root_id)
    else:
        client.conversations.items.delete(entry_id, conversation_id=root_id)


def update_metadata(client: openai.OpenAI, backend: str, id_: str, md: dict[str, str]) -> None:
    if backend == "threads":
        client.beta.threads.update(id_, metadata=md)
    else:
        client.conversations.update(id_, metadata=md)


def delete_object(client: openai.OpenAI, backend: str, id_: str) -> None:
    if backend == "threads":
        client.beta.threads.delete(id_)
    else:
        client.conversations.delete(id_)


def checkpoints(client: openai.OpenAI, backend: str, root_id: str) -> list[tuple[str, Any]]:
    """Every checkpoint record of the journal, oldest first: (entry ID, Checkpoint)."""
    from linkedthreads._journal import parse_entry

    out = []
    for entry_id, text in read_journal_texts(client, backend, root_id):
        for record in parse_entry(entry_id, text).records:
            if record.checkpoint is not None:
                out.append((entry_id, record.checkpoint))
    return out


def referenced_index_objects(client: openai.OpenAI, backend: str, root_id: str) -> set[str]:
    """Pages and directories that any checkpoint of the journal names (live or retired)."""
    from linkedthreads._codec import bits_to_ids, decode_slots
    from linkedthreads._journal import parse_entry

    refs: set[str] = set()
    dirs: set[str] = set()
    for entry_id, text in read_journal_texts(client, backend, root_id):
        for record in parse_entry(entry_id, text).records:
            ck = record.checkpoint
            if ck is None:
                continue
            refs |= ck.referenced()
            ck = loaded_checkpoint(client, backend, ck)
            refs |= ck.referenced()
            dirs |= set(ck.dirs)
            for ids, _ in ck.garbage:
                refs.update(ids)
    for d in dirs:
        md = retrieve_metadata(client, backend, d)
        if md is not None:
            refs.update(bits_to_ids(*decode_slots(md)))
    return refs


def loaded_checkpoint(client: openai.OpenAI, backend: str, ck: Any) -> Any:
    """A checkpoint carried in body objects (design 4.6), read from them (as it is if they
    are gone: collected)."""
    from linkedthreads._journal import parse_checkpoint_text
    from linkedthreads._spill import body_text

    if ck.loaded:
        return ck
    bodies = [retrieve_metadata(client, backend, b) for b in ck.body]
    if any(md is None for md in bodies):
        return ck
    return parse_checkpoint_text(ck, body_text(bodies), "checkpoint body")  # type: ignore[arg-type]


def is_index_object(metadata: dict[str, str]) -> bool:
    """A page or directory: only slot keys (A-P or a-p marks), no tags."""
    return bool(metadata) and all(
        k[:1] in "ABCDEFGHIJKLMNOPabcdefghijklmnop" and k != "linkedthreads" for k in metadata
    )


# -- settings -----------------------------------------------------------------------------

GRACE_S = 4.0


def torture_settings(**changes: Any) -> IndexSettings:
    """Settings that make compaction, collection and rebuilds happen all the time.

    compact_every=8 (a compaction every few appends), bulk_batch=4 (bulk calls span
    batches), max_overlay=24 (removals of paged IDs soon force a page rebuild),
    gc_grace_seconds=GRACE_S (retired pages are collected during the run: operations take
    well under half of it, see ``Report.max_op_s``), instant retries (12 attempts).
    """
    base: dict[str, Any] = {
        "compact_every": 8,
        "bulk_batch": 4,
        "max_overlay": 24,
        "read_concurrency": 4,
        "write_concurrency": 4,
        "gc_grace_seconds": GRACE_S,
        "retry": RetryPolicy.instant(attempts=12),
    }
    base.update(changes)
    return IndexSettings(**base)


# -- worker processes ---------------------------------------------------------------------

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
        result: Any = None
        try:
            if kind == "create_child":
                result = [ix.create_child(metadata={OP_TAG: tag}).id]
            elif kind == "create_children":
                result = [c.id for c in ix.create_children(n, metadata={OP_TAG: tag})]
            elif kind == "add":
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
                result = list(ix.all())
            elif kind == "contains":
                result = ids[0] in ix
            elif kind == "len":
                result = len(ix)
            elif kind == "compact":
                ix.compact()
            elif kind == "compact_full":
                ix.compact(full=True)
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


def shrink_pages(index: ThreadIndex, page_ids: int | None) -> None:
    """Make this instance write pages of about ``page_ids`` IDs (white box, as the unit tests
    do): small pages make page writes, rebuilds, directories and collection frequent with
    lists of a few hundred IDs. Readers need nothing: pages say what they hold."""
    if page_ids:
        per_id = 143 if index.backend == "threads" else 192
        index._core.capacity = 57 + per_id * page_ids


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
    index = ThreadIndex.open(
        client, cfg["root_id"], settings=torture_settings(**cfg.get("settings", {}))
    )
    shrink_pages(index, cfg.get("page_ids"))
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


# -- reading the logs ---------------------------------------------------------------------

WRITE_KINDS = frozenset(
    {
        "create_child",
        "create_children",
        "add",
        "add_many",
        "remove",
        "remove_many",
        "delete",
        "delete_many",
    }
)
ADD_KINDS = frozenset({"create_child", "create_children", "add", "add_many", "seed"})


@dataclass
class Op:
    """One logged operation. ``status``: ok, failed, or inflight (its process was killed)."""

    worker: str
    seq: int
    kind: str
    ids: list[str]
    tag: str
    t0: float
    t1: float = INF
    status: str = "inflight"
    err: str | None = None
    result: Any = None
    n: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def is_write(self) -> bool:
        return self.kind in WRITE_KINDS


def read_logs(log_dir: str, deaths: dict[str, float] | None = None) -> list[Op]:
    """Every operation in ``log_dir``. An operation without an ``end`` line is in flight:
    its process died (at ``deaths[process]``), so it may have taken effect until shortly
    after (a request already sent can still be applied)."""
    deaths = deaths or {}
    ops: list[Op] = []
    for path in sorted(Path(log_dir).glob("*.jsonl")):
        worker = path.stem
        by_seq: dict[int, Op] = {}
        for line in path.read_text().splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by SIGKILL
            if ev["ev"] == "begin":
                by_seq[ev["seq"]] = Op(
                    worker, ev["seq"], ev["op"], ev["ids"], ev["tag"], ev["t0"], n=ev.get("n", 0)
                )
            elif ev["ev"] == "end" and ev["seq"] in by_seq:
                op = by_seq[ev["seq"]]
                op.t1 = ev["t1"]
                op.status = "ok" if ev["ok"] else "failed"
                op.err = ev.get("err")
                op.result = ev.get("result")
        process = worker.split(".")[0]
        for op in by_seq.values():
            if op.status == "inflight":
                died = deaths.get(process)
                op.t1 = died + INFLIGHT_SLACK_S if died is not None else INF
        ops.extend(by_seq.values())
    return ops


# -- the checker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """An operation's possible effect on one ID: ``add`` True lists it, False unlists it."""

    add: bool
    t0: float
    t1: float
    ok: bool
    op: str


class History:
    """Per-ID effects, and the judgement of observations against them.

    An observation made during [s, e] sees the state at some instant p in [s, e]. The state
    at p is the effect of the last operation that took effect before p (unlisted if none).
    Operation O can be that last one iff O started before e and no acknowledged operation B
    must fall between O and p: B.t0 > O.t1 (B after O) and B.t1 < s (B before p). The
    initial state is possible iff no acknowledged operation ended before s. For the final
    state, s = e = infinity. This is exact for independent registers with blind writes.
    """

    def __init__(self, ops: Sequence[Op], seeded: Sequence[str] = ()) -> None:
        self.effects: dict[str, list[Effect]] = {}
        self.ops = list(ops)
        self.by_tag = {op.tag: op for op in ops if op.tag}
        for i, id_ in enumerate(seeded):  # listed in this order before anything else ran
            t = -1.0 + i * 1e-7
            self._effect(id_, Effect(True, t, t, True, "seed"))
        for op in ops:
            if op.kind in ("create_child", "create_children"):
                if op.ok:
                    for id_ in op.result:
                        self._effect(id_, Effect(True, op.t0, op.t1, True, op.tag))
            elif op.kind in ("add", "add_many"):
                for id_ in op.ids:
                    self._effect(id_, Effect(True, op.t0, op.t1, op.ok, op.tag))
            elif op.kind in ("remove", "remove_many", "delete", "delete_many"):
                for id_ in op.ids:
                    self._effect(id_, Effect(False, op.t0, op.t1, op.ok, op.tag))

    def _effect(self, id_: str, effect: Effect) -> None:
        self.effects.setdefault(id_, []).append(effect)

    def known(self, id_: str) -> bool:
        return id_ in self.effects

    def adopt_unknown(self, id_: str, tag: str | None) -> str | None:
        """An ID listed somewhere that no log names: only a create call that failed or was
        interrupted (so never returned it) may have listed it. Returns a problem or None."""
        op = self.by_tag.get(tag or "")
        if op is None or op.kind not in ("create_child", "create_children"):
            return f"{id_} is listed but no operation added it (tag {tag!r})"
        if op.ok:
            return (
                f"{id_} is listed but its create call {tag} returned other IDs "
                f"{op.result} (a retried create listed twice?)"
            )
        self._effect(id_, Effect(True, op.t0, op.t1, False, op.tag))
        return None

    def possible(self, id_: str, s: float, e: float) -> set[bool]:
        effects = self.effects.get(id_, [])
        acked = [f for f in effects if f.ok]
        states: set[bool] = set()
        if not any(b.t1 < s for b in acked):
            states.add(False)
        for o in effects:
            if o.add in states or o.t0 >= e:
                continue
            if not any(b.t0 > o.t1 and b.t1 < s for b in acked):
                states.add(o.add)
        return states

    def listing_window(self, id_: str, s: float, e: float) -> tuple[float, float] | None:
        """When the add that made ``id_`` listed (its position) was appended, as seen at
        some instant in [s, e]: the union of the intervals of every add that may be it."""
        effects = self.effects.get(id_, [])
        removes = [f for f in effects if not f.add]
        adds = [f for f in effects if f.add]
        lo, hi = INF, -INF
        for o in adds:
            if o.t0 >= e:
                continue
            if any(r.ok and r.t0 > o.t1 and r.t1 < s for r in removes):
                continue  # a remove surely came after it: a later add made it listed
            if any(
                a.ok and a.t1 < o.t0 and not any(r.t1 > a.t0 and r.t0 < o.t1 for r in removes)
                for a in adds
            ):
                continue  # surely listed already when it landed: a no-op
            lo, hi = min(lo, o.t0), max(hi, o.t1)
        return None if lo == INF else (lo, hi)

    def judge_list(
        self, listed: Sequence[str], s: float, e: float, what: str
    ) -> dict[str, list[str]]:
        """Problems of one observed list: duplicates, ghosts (listed, impossible), lost
        (missing, must be listed), and order inversions."""
        out: dict[str, list[str]] = {"duplicates": [], "ghosts": [], "lost": [], "order": []}
        counts = Counter(listed)
        out["duplicates"] = [f"{what}: {i} listed {c} times" for i, c in counts.items() if c > 1]
        present = set(listed)
        for id_ in present:
            if True not in self.possible(id_, s, e):
                out["ghosts"].append(f"{what}: {id_} listed; history {self.describe(id_)}")
        for id_ in self.effects:
            if id_ not in present and False not in self.possible(id_, s, e):
                out["lost"].append(f"{what}: {id_} missing; history {self.describe(id_)}")
        best_lo, best_id = -INF, ""
        for id_ in listed:
            window = self.listing_window(id_, s, e)
            if window is None:
                continue
            lo, hi = window
            if hi < best_lo:
                out["order"].append(
                    f"{what}: {id_} (added by {hi:.3f}) listed after {best_id} "
                    f"(added from {best_lo:.3f})"
                )
            if lo > best_lo:
                best_lo, best_id = lo, id_
        return out

    def describe(self, id_: str) -> str:
        return ", ".join(
            f"{'add' if f.add else 'rm'}[{f.op} {f.t0:.3f}-{f.t1:.3f} {'ok' if f.ok else '?'}]"
            for f in sorted(self.effects.get(id_, []), key=lambda f: f.t0)
        )


# -- a whole run ------------------------------------------------------------------------------


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


def _ingest_errors(report: Report, ops: Sequence[Op], faulty: bool) -> None:
    errors: Counter[str] = Counter()
    for op in ops:
        if op.status != "failed":
            continue
        cls = (op.err or "?").split(":", 1)[0].split("[", 1)[0]
        errors[cls] += 1
        if op.worker.startswith("chk"):
            report.bad_errors.append(f"a fresh process could not read the index: {op.err}")
        elif cls not in PUBLIC_ERRORS:
            report.bad_errors.append(f"{op.worker} {op.kind} {op.ids[:2]} raised {op.err}")
        elif cls == "ConcurrentChangeError":
            report.concurrent_change += 1
            if op.t1 - op.t0 < GRACE_S / 2:
                report.bad_errors.append(
                    f"{op.worker} {op.kind} took {op.t1 - op.t0:.2f}s < grace/2 and still "
                    f"met a collected page: {op.err}"
                )
        elif not faulty:
            report.bad_errors.append(f"{op.worker} {op.kind} failed without faults: {op.err}")
    report.errors_by_class = dict(errors)


def judge(
    report: Report,
    history: History,
    ops: Sequence[Op],
    final: list[str],
    client: openai.OpenAI,
    backend: str,
) -> None:
    """Judge every observation and the final list; fills the report's problem lists."""
    observed: set[str] = set(final)
    for op in ops:
        if op.ok and op.kind == "all":
            observed.update(op.result)
    for id_ in sorted(observed):
        if not history.known(id_):
            md = retrieve_metadata(client, backend, id_)
            problem = history.adopt_unknown(id_, (md or {}).get(OP_TAG))
            if problem:
                report.ghosts.append(problem)
    for op in ops:
        if not op.ok:
            continue
        if op.kind == "all":
            report.observations += 1
            found = history.judge_list(op.result, op.t0, op.t1, f"{op.worker}#{op.seq} all()")
            for key, problems in found.items():
                getattr(report, key).extend(problems)
        elif op.kind == "contains":
            report.observations += 1
            if op.result not in history.possible(op.ids[0], op.t0, op.t1):
                report.ghosts.append(
                    f"{op.worker}#{op.seq}: {op.ids[0]} in index -> {op.result}; history "
                    f"{history.describe(op.ids[0])}"
                )
    found = history.judge_list(final, INF, INF, "final all()")
    for key, problems in found.items():
        getattr(report, key).extend(problems)


def account_orphans(
    report: Report,
    history: History,
    ops: Sequence[Op],
    emu: Any,
    client: openai.OpenAI,
    backend: str,
    root_id: str,
    known_objects: set[str],
    listed: Sequence[str],
    max_pages: int,
) -> None:
    """Orphans: live objects nobody knows. A child orphan names (in its metadata) the create
    call that made it, which must not have recorded it: a call that failed or was killed
    (the window), or a call that succeeded after a lost response made it retry (its first
    object is the orphan). Pages no checkpoint names are counted apart."""
    live = emu.live_ids(backend)
    unknown = live - known_objects - set(history.effects) - set(listed) - {root_id}
    refs = referenced_index_objects(client, backend, root_id) if unknown else set()
    lost_responses = emu.stats()["faults"].get("lost_response", 0)
    per_op: Counter[str] = Counter()
    child_tag = f"in:{root_id}"
    page_orphans = 0
    for id_ in sorted(unknown):
        found = retrieve_metadata(client, backend, id_)
        if found is None:
            report.unexplained.append(f"live object {id_} cannot be read (404)")
            continue
        md = found
        if md.get("linkedthreads") == child_tag:
            report.orphans += 1
            tag = md.get(OP_TAG, "")
            op = history.by_tag.get(tag)
            if op is None:
                report.unexplained.append(f"orphan {id_}: no create call has tag {tag!r}")
                continue
            per_op[tag] += 1
            window = op.n if op.kind == "create_children" else 1
            if op.ok and lost_responses == 0:
                report.unexplained.append(
                    f"orphan {id_}: made by {tag}, which succeeded and returned {op.result}, "
                    "and no response was lost"
                )
            elif not op.ok and per_op[tag] > window and lost_responses == 0:
                report.unexplained.append(
                    f"orphan {id_}: {per_op[tag]} orphans from {tag} ({op.kind}, "
                    f"{op.status}), more than its window of {window}"
                )
            else:
                report.orphans_explained += 1
        elif is_index_object(md):
            if id_ not in refs:
                page_orphans += 1
        else:
            # (An object without metadata here once meant an emulator bug, now fixed and
            # tested in tests/emulator/test_http.py: a POST whose client died before its
            # body arrived was applied as if its body were empty. It is a failure now.)
            report.unexplained.append(f"live object {id_} of unknown origin: {md}")
    report.page_orphans = page_orphans
    interrupted = sum(1 for op in ops if op.status != "ok" and op.kind != "all")
    budget = lost_responses + interrupted * max_pages
    report.page_orphans_explained = min(page_orphans, budget)
    if page_orphans > budget:
        report.unexplained.append(
            f"{page_orphans} unreferenced pages, but only {lost_responses} lost responses "
            f"and {interrupted} interrupted operations (up to {max_pages} pages each)"
        )


def _prepare(cfg: RunConfig, emu: Any, log_dir: str) -> dict[str, Any]:
    """Create the index and the raw objects; the base of every worker's configuration."""
    client = raw_client(emu.base_url)
    index = ThreadIndex.create(
        client, backend=cfg.backend, codec=cfg.codec, settings=torture_settings(**cfg.settings)
    )
    rng = random.Random(cfg.seed)
    seeded: list[str] = []
    shrink_pages(index, cfg.page_ids)
    if cfg.seeded:
        seeded = fake_ids(cfg.backend, cfg.seeded, rng)
        index.add_many(seeded)
        index.compact()
    if cfg.server_change:
        emu.update_settings(**cfg.server_change)
    shared = create_raw(client, cfg.backend, cfg.shared_raw, "shared")
    root_id = index.root_id
    index.close()
    return {
        "base_url": emu.base_url,
        "root_id": root_id,
        "log_dir": log_dir,
        "shared": shared,
        "seeded": seeded,
        "own_raw": {},
        "ops": cfg.ops,
        "seconds": cfg.seconds,
        "bulk_batch": torture_settings(**cfg.settings).bulk_batch,
        "settings": cfg.settings,
        "threads": cfg.threads,
        "pause_s": cfg.pause_s,
        "self_kill": cfg.self_kill,
        "page_ids": cfg.page_ids,
        "client": client,
    }


def _worker_cfg(base: dict[str, Any], cfg: RunConfig, name: str, seed: int) -> dict[str, Any]:
    client = base["client"]
    own = {
        f"{name}.{t}": create_raw(client, cfg.backend, cfg.own_raw, f"{name}.{t}")
        for t in range(cfg.threads)
    }
    out = {k: v for k, v in base.items() if k != "client"}
    out.update(name=name, seed=seed, own_raw=own)
    return out


def _apply_faults(emu: Any, cfg: RunConfig) -> None:
    changes: dict[str, Any] = {
        "fault_rate": cfg.fault_rate,
        "lost_response_rate": cfg.lost_response_rate,
        "latency_ms": cfg.latency_ms,
        "latency_jitter_ms": cfg.latency_jitter_ms,
    }
    if cfg.fault_weights is not None:
        changes["fault_weights"] = cfg.fault_weights
    emu.update_settings(**changes)


def _finish(
    report: Report,
    cfg: RunConfig,
    emu: Any,
    base: dict[str, Any],
    ops: list[Op],
    started: float,
    deaths: int,
) -> Report:
    """Final checks with faults off: a fresh open lists, counts and looks up consistently;
    then the history, orphans, dangling IDs (and, if asked, destroy)."""
    stats = emu.stats()
    quiet_faults(emu)
    client: openai.OpenAI = base["client"]
    root_id = base["root_id"]
    report.seconds = time.monotonic() - started
    report.faults = {k: v for k, v in stats["faults"].items()}
    report.requests = stats["total"]
    report.seed = cfg.seed
    report.deletes = sum(n for k, n in stats["requests"].items() if k.startswith("DELETE"))
    report.creates = sum(
        n
        for k, n in stats["requests"].items()
        if k in ("POST /v1/threads", "POST /v1/conversations")
    )
    if os.environ.get("TORTURE_DEBUG"):
        print(json.dumps(stats["requests"], indent=1), file=sys.stderr)
    report.crashes = deaths
    report.ops = sum(1 for op in ops if not op.worker.startswith("chk"))
    report.ops_failed = sum(1 for op in ops if op.status != "ok")
    report.max_op_s = max((op.t1 - op.t0 for op in ops if op.t1 < INF), default=0.0)
    faulty = bool(cfg.fault_rate or cfg.lost_response_rate or cfg.kills or cfg.self_kill)
    _ingest_errors(report, ops, faulty)
    history = History(ops, base["seeded"])
    index = ThreadIndex.open(client, root_id, settings=torture_settings(**cfg.settings))
    try:
        final = list(index.all())
    except LinkedThreadsError as exc:
        report.lost.append(f"the index is unreadable after the run: {_error_text(exc)}")
        index.close()
        return report
    report.listed_final = len(final)
    if len(index) != len(final):
        report.lost.append(f"len() is {len(index)} but all() lists {len(final)}")
    # A fresh instance counts from the journal alone where writers stated placement (design
    # 4.4), else from the pages: either way the length of the list.
    counter = ThreadIndex.open(client, root_id, settings=torture_settings(**cfg.settings))
    if len(counter) != len(final):
        report.lost.append(f"a fresh len() is {len(counter)} but all() lists {len(final)}")
    counter.close()
    rng = random.Random(cfg.seed)
    for probe in rng.sample(final, min(10, len(final))):
        if probe not in index:
            report.lost.append(f"{probe} is listed but `in` says no")
    unlisted = [i for i in history.effects if i not in set(final)]
    for probe in rng.sample(unlisted, min(10, len(unlisted))):
        if probe in index:
            report.ghosts.append(f"{probe} is not listed but `in` says yes")
    judge(report, history, ops, final, client, cfg.backend)
    known_objects = set(base["shared"])
    for op in ops:
        known_objects.update(op.ids)
        if op.ok and op.kind in ("create_child", "create_children"):
            known_objects.update(op.result)
    for path in Path(base["log_dir"]).glob("*.cfg.json"):
        for ids in json.loads(path.read_text())["own_raw"].values():
            known_objects.update(ids)
    limit = torture_settings(**cfg.settings).max_record_chars
    longest = max((len(t) for _, t in read_journal_texts(client, cfg.backend, root_id)), default=0)
    cks = checkpoints(client, cfg.backend, root_id)
    report.checkpoints = len(cks)
    report.dropped_checkpoints = sum(1 for _, ck in cks if ck.upto is None)
    report.ascii_checkpoints = sum(1 for _, ck in cks if ck.ascii)
    if longest > limit:
        report.unexplained.append(
            f"a journal entry of {longest} characters, over max_record_chars={limit}"
        )
    page_cap = index.page_capacity
    max_pages = max(2, math.ceil(max(len(final), 1) / page_cap) + 1)
    account_orphans(
        report, history, ops, emu, client, cfg.backend, root_id, known_objects, final, max_pages
    )
    live = emu.live_ids(cfg.backend)
    fabricated = set(base["seeded"])
    dangling = [i for i in final if i not in live and i not in fabricated]
    report.dangling = len(dangling)
    for id_ in dangling:
        if not any(not f.add and not f.ok for f in history.effects.get(id_, [])):
            report.unexplained.append(
                f"dangling {id_} (listed, object gone) without an interrupted delete: "
                f"{history.describe(id_)}"
            )
    if cfg.destroy:
        _check_destroy(report, index, emu, cfg.backend, root_id, final, client)
    index.close()
    return report


def _check_destroy(
    report: Report,
    index: ThreadIndex,
    emu: Any,
    backend: str,
    root_id: str,
    final: list[str],
    client: openai.OpenAI,
) -> None:
    refs = referenced_index_objects(client, backend, root_id)
    index.destroy()
    live = emu.live_ids(backend)
    left = (live & set(final)) | (live & refs) | (live & {root_id})
    if left:
        report.unexplained.append(f"destroy() left {len(left)} index objects: {sorted(left)[:5]}")


def run_concurrent(cfg: RunConfig) -> Report:
    """P writer processes on one index through one emulator; then judge the history."""
    report = Report(cfg.name, cfg.backend, writers=cfg.processes * cfg.threads)
    ctx = process_context()
    emu = start_emulator(seed=cfg.seed, **entry_limit_settings(cfg))
    try:
        with tempfile.TemporaryDirectory(prefix="lt-torture-") as log_dir:
            base = _prepare(cfg, emu, log_dir)
            cfgs = []
            for p in range(cfg.processes):
                wcfg = _worker_cfg(base, cfg, f"w{p}", cfg.seed * 100 + p)
                Path(log_dir, f"w{p}.cfg.json").write_text(json.dumps(wcfg))
                cfgs.append(wcfg)
            emu.reset_stats()
            _apply_faults(emu, cfg)
            started = time.monotonic()
            procs = [ctx.Process(target=worker_main, args=(c,)) for c in cfgs]
            for p in procs:
                p.start()
            deadline = started + cfg.seconds + 60
            for p in procs:
                p.join(max(0.1, deadline - time.monotonic()))
            for p in procs:
                if p.is_alive():
                    report.bad_errors.append(f"worker {p.pid} did not finish in time")
                    p.kill()
                    p.join()
                elif p.exitcode != 0:
                    report.bad_errors.append(f"worker {p.pid} exited with {p.exitcode}")
            ops = read_logs(log_dir)
            try:
                return _finish(report, cfg, emu, base, ops, started, 0)
            finally:
                base["client"].close()
    finally:
        emu.stop()


def run_crashes(cfg: RunConfig) -> Report:
    """Writers killed with SIGKILL at random moments (by the parent, mid-request thanks to
    injected latency, and by themselves just before or after a request); after each death a
    fresh process opens the root and lists it; the history judges every observation."""
    report = Report(cfg.name, cfg.backend, writers=0)
    ctx = process_context()
    emu = start_emulator(seed=cfg.seed, **entry_limit_settings(cfg))
    rng = random.Random(cfg.seed)
    try:
        with tempfile.TemporaryDirectory(prefix="lt-crash-") as log_dir:
            base = _prepare(cfg, emu, log_dir)
            stop_file = os.path.join(log_dir, "STOP")
            base["stop_file"] = stop_file
            emu.reset_stats()
            started = time.monotonic()
            running: dict[str, Any] = {}
            deaths: dict[str, float] = {}
            counter = 0
            kills_done = 0
            checks = 0

            def spawn() -> None:
                nonlocal counter
                name = f"w{counter}"
                counter += 1
                quiet_faults(emu)  # raw objects are made without faults
                wcfg = _worker_cfg(base, cfg, name, cfg.seed * 1000 + counter)
                _apply_faults(emu, cfg)
                Path(log_dir, f"{name}.cfg.json").write_text(json.dumps(wcfg))
                p = ctx.Process(target=worker_main, args=(wcfg,))
                p.start()
                running[name] = p
                report.writers += 1

            def check() -> None:
                nonlocal checks
                name = f"chk{checks}"
                checks += 1
                c = ctx.Process(
                    target=checker_main,
                    args=(
                        {
                            **{k: v for k, v in base.items() if k != "client"},
                            "name": name,
                            "seed": cfg.seed + checks,
                        },
                    ),
                )
                c.start()
                c.join(60)
                if c.is_alive():
                    c.kill()
                    c.join()
                    report.bad_errors.append(f"checker {name} hung")

            def reap() -> int:
                dead = 0
                for name, p in list(running.items()):
                    if not p.is_alive():
                        p.join()
                        del running[name]
                        if p.exitcode == -signal.SIGKILL:
                            deaths[name] = time.monotonic()
                            dead += 1
                return dead

            budget_end = started + cfg.seconds
            while kills_done < cfg.kills and time.monotonic() < budget_end:
                while len(running) < cfg.processes:
                    spawn()
                time.sleep(rng.uniform(0.05, 0.5))
                dead = reap()
                if not dead and running:
                    victim = rng.choice(sorted(running))
                    p = running.pop(victim)
                    p.kill()
                    p.join()
                    deaths[victim] = time.monotonic()
                    dead = 1
                kills_done += dead
                check()
            Path(stop_file).write_text("stop")
            for name, p in list(running.items()):
                p.join(60)
                if p.is_alive():
                    p.kill()
                    p.join()
                    deaths[name] = time.monotonic()
                elif p.exitcode == -signal.SIGKILL:
                    deaths[name] = time.monotonic()
            kills_done += sum(1 for n, p in running.items() if p.exitcode == -signal.SIGKILL)
            time.sleep(INFLIGHT_SLACK_S)  # requests of dead workers have landed by now
            check()
            ops = read_logs(log_dir, deaths)
            try:
                report = _finish(report, cfg, emu, base, ops, started, len(deaths))
                _check_repair(report, cfg, base)
            finally:
                base["client"].close()
            return report
    finally:
        emu.stop()


def _check_repair(report: Report, cfg: RunConfig, base: dict[str, Any]) -> None:
    """verify(repair=True) after the crashes forgets every dangling ID and changes nothing
    else; a second verify finds nothing to mend."""
    client: openai.OpenAI = base["client"]
    index = ThreadIndex.open(client, base["root_id"], settings=torture_settings(**cfg.settings))
    before = list(index.all())
    first = index.verify(repair=True)
    after = list(index.all())
    expected = [i for i in before if i not in set(first.dangling)]
    if after != expected:
        report.lost.append(
            f"verify(repair=True) changed the list beyond dangling IDs: "
            f"{len(before)} -> {len(after)}, expected {len(expected)}"
        )
    second = index.verify()
    if not second.ok:
        report.unexplained.append(f"after repair, verify still finds {second}")
    index.close()


def iter_problems(reports: Iterable[Report]) -> Iterator[str]:
    for r in reports:
        for p in r.problems:
            yield f"{r.name}: {p}"


# -- the standard runs (CI sizes; LINKEDTHREADS_TORTURE_SCALE repeats them) ---------------------

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


def merge(reports: Sequence[Report]) -> Report:
    """One report for the trials of a run: counts added, problems concatenated."""
    first = reports[0]
    out = Report(first.name, first.backend, writers=first.writers)
    out.trials = len(reports)
    for r in reports:
        for name in (
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
        ):
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
