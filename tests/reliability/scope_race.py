"""The torture of scopes: processes racing to make and write the same new scopes.

A run: the parent makes an index (the root) and starts P worker processes at one instant.
Time is cut in rounds of ``round_s`` seconds; round k brings a new scope name ``s<k>``, and
each worker's first operation in a round is a write into ``s<k>``, so every round is a race
of P processes to make the same new scope (and ``s<k>/inner``, a scope of a scope, is raced
for too). The rest is a seeded random mix in the current and earlier scopes: create_child,
create_children, add, remove, delete, all, in, len, compact, and ``scopes()`` of the root
or of a scope; each worker sometimes drops its scope instances, so that the next call finds
the scope by name from nothing. Faults (failed requests, lost answers) and SIGKILLs (by the
parent, mid-request, and by the workers themselves, just before or after a request) are
switched on by the configuration. Every call is logged as in ``harness.py``, with its scope
and, after a write, the root the scope resolved to.

The checks (faults off), against docs/design.md (4.8 and 8.2):

- one scope per name: every ``scopes()`` seen during the run and at the end lists a name
  once, always with the same root; every write that returned went into that root;
- each scope's list is judged against its own history (``harness.History``): 0 lost, 0
  ghosts, 0 duplicates, order kept, and ``len``/``in`` agree with it;
- every object alive at the end is accounted for: a listed child, a raw object, a scope's
  root, a page some checkpoint names, or one of the windows of 8.2: a child whose create
  call did not return (or lost an answer), and the roots of the losing side of a race:
  each named by a ``scope`` record of its parent (garbage its compactions collect) or made
  by a call that did not return (a crash between the create and the append); a losing root
  holds nothing (it never got a journal entry nor a child). Deleted losers are counted;
- optionally the root's ``destroy()`` leaves nothing of the tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from linkedthreads import LinkedThreadsError, ThreadIndex

try:  # the harness as the package ``torture`` (work-17a moves it there)
    from torture.checks import _ingest_errors, judge
    from torture.emulator import quiet_faults, raw_client, start_emulator
    from torture.history import History, Op, read_logs
    from torture.journal import checkpoints, is_index_object, referenced_index_objects
    from torture.objects import create_raw, read_journal_texts, retrieve_metadata
    from torture.report import Report
    from torture.settings import INF, INFLIGHT_SLACK_S, OP_TAG, torture_settings
    from torture.worker import OpLog, _error_text, make_client, process_context
except ModuleNotFoundError:  # the harness as one module of this folder
    from .harness import (  # type: ignore[assignment, no-redef]
        INF,
        INFLIGHT_SLACK_S,
        OP_TAG,
        History,
        Op,
        OpLog,
        Report,
        _error_text,
        _ingest_errors,
        checkpoints,
        create_raw,
        is_index_object,
        judge,
        make_client,
        process_context,
        quiet_faults,
        raw_client,
        read_journal_texts,
        read_logs,
        referenced_index_objects,
        retrieve_metadata,
        start_emulator,
        torture_settings,
    )

PARENT_KEY = "lt_parent"  # on a scope's root: its parent's root ID (docs/design.md 4.8)
NAME_KEY = "lt_scope"  # on a scope's root: its name
INNER = "inner"

WEIGHTS: dict[str, int] = {
    "create_child": 22,
    "create_children": 4,
    "add": 14,
    "add_many": 3,
    "remove": 8,
    "delete": 8,
    "all": 12,
    "contains": 5,
    "len": 2,
    "scopes": 8,
    "compact": 2,
}
WRITES = frozenset({"create_child", "create_children", "add", "add_many", "remove", "delete"})


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


# -- the worker -------------------------------------------------------------------------------


def path_key(path: Sequence[str]) -> str:
    return "/".join(path)


class ScopeWorker:
    """One worker: its operations in the scopes of one root instance, every call logged."""

    def __init__(self, cfg: dict[str, Any], root: ThreadIndex) -> None:
        self.cfg = cfg
        self.root = root
        self.rng = random.Random(cfg["seed"])
        self.log = OpLog(os.path.join(cfg["log_dir"], f"{cfg['name']}.jsonl"))
        self.raw: list[str] = list(cfg["own_raw"])
        self.children: dict[str, list[str]] = {}
        self.instances: dict[str, ThreadIndex] = {}
        self.entered: set[int] = set()  # rounds whose scope this worker wrote into first
        self.kinds = list(WEIGHTS)
        self.weights = [WEIGHTS[k] for k in self.kinds]

    def scope(self, path: Sequence[str]) -> ThreadIndex:
        key = path_key(path)
        if key not in self.instances:
            ix = self.root
            for name in path:
                ix = ix.scope(name)
            self.instances[key] = ix
        return self.instances[key]

    def run(self) -> None:
        cfg = self.cfg
        round_s, rounds = cfg["round_s"], cfg["rounds"]
        start_at = wait_for_start(cfg["log_dir"], cfg["name"])
        time.sleep(max(0.0, start_at - time.monotonic()))  # every worker starts at once
        stop_file = cfg.get("stop_file")
        # This worker's round (a replacement joins the current one), and its calls in it.
        k = min(rounds - 1, max(0, int((time.monotonic() - start_at) / round_s)))
        done = 0
        for seq in range(cfg["ops"]):
            # The clock moves the rounds on, one at a time, and not before this worker made
            # its ``min_ops`` calls in the current one (a loaded machine still races for
            # every scope: the workers lag alike).
            on_time = int((time.monotonic() - start_at) / round_s)
            if on_time > k and done >= cfg["min_ops"]:
                k, done = k + 1, 0
            if k >= rounds or (stop_file and os.path.exists(stop_file)):
                break
            done += 1
            if k not in self.entered:  # the race: the round's new scope, at once
                self.entered.add(k)
                path: tuple[str, ...] = (f"s{k}",) if self.rng.random() < 0.7 else (f"s{k}", INNER)
                self.one(seq, "create_child", path)
                continue
            if self.rng.random() < 0.05:
                self.instances.clear()  # find the scopes again from nothing
            self.one(seq, self.rng.choices(self.kinds, self.weights)[0], self.pick_path(k))
        self.log.close()

    def pick_path(self, k: int) -> tuple[str, ...]:
        j = k if self.rng.random() < 0.6 else self.rng.randint(0, k)
        return (f"s{j}",) if self.rng.random() < 0.75 else (f"s{j}", INNER)

    def one(self, seq: int, kind: str, path: tuple[str, ...]) -> None:
        rng = self.rng
        key = path_key(path)
        mine = self.children.setdefault(key, [])
        ids: list[str] = []
        if kind == "add":
            ids = rng.sample(self.raw, 1)
        elif kind == "add_many":
            ids = rng.sample(self.raw, min(2, len(self.raw)))
        elif kind in ("remove", "contains"):
            ids = rng.sample(mine + self.raw, 1) if mine or self.raw else []
        elif kind == "delete":
            ids = rng.sample(mine, 1) if mine else []
        if kind in ("remove", "contains", "delete", "add", "add_many") and not ids:
            kind = "create_child"
        n = rng.randint(2, 5) if kind == "create_children" else 0
        target = path[:-1] if kind == "scopes" and rng.random() < 0.6 else path
        tag = f"{self.cfg['name']}:{seq}"
        self.log.write(
            ev="begin",
            seq=seq,
            op=kind,
            ids=ids,
            tag=tag,
            n=n,
            t0=time.monotonic(),
            scope=path_key(target if kind == "scopes" else path),
        )
        ix = self.scope(target if kind == "scopes" else path)
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
            elif kind == "delete":
                ix.delete(ids[0])
            elif kind == "all":
                result = list(ix.all())
            elif kind == "contains":
                result = ids[0] in ix
            elif kind == "len":
                result = len(ix)
            elif kind == "scopes":
                result = [list(pair) for pair in ix.scopes()]
            elif kind == "compact":
                ix.compact()
        except BaseException as exc:  # every failure is data for the checker
            self.log.write(ev="end", seq=seq, ok=False, err=_error_text(exc), t1=time.monotonic())
            if kind == "delete":
                mine.remove(ids[0])
            return
        root: str | None = None
        with contextlib.suppress(LinkedThreadsError):  # a scope not found nor made yet
            root = ix.root_id
        self.log.write(ev="end", seq=seq, ok=True, result=result, t1=time.monotonic(), root=root)
        if kind in ("create_child", "create_children"):
            mine.extend(result)
        elif kind == "delete":
            mine.remove(ids[0])


def wait_for_start(log_dir: str, name: str) -> float:
    """Say this worker is ready, then wait for the parent's start time (``GO``): the first
    workers start at one instant, whatever their start-up took."""
    Path(log_dir, f"{name}.ready").write_text("")
    go = Path(log_dir, "GO")
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    return float(go.read_text() or 0) if go.exists() else time.monotonic()


def scope_worker_main(cfg: dict[str, Any]) -> None:
    """Entry point of a worker process."""
    warnings.simplefilter("ignore")
    client = make_client(cfg, cfg["seed"])
    root = ThreadIndex.open(client, cfg["root_id"], settings=torture_settings(**cfg["settings"]))
    try:
        ScopeWorker(cfg, root).run()
    finally:
        root.close()


# -- the run ----------------------------------------------------------------------------------


def _log_extras(log_dir: str) -> dict[tuple[str, int], dict[str, Any]]:
    """The fields ``harness.read_logs`` does not keep: each call's scope and root."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for path in Path(log_dir).glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by SIGKILL
            slot = out.setdefault((path.stem, ev["seq"]), {})
            if ev["ev"] == "begin":
                slot["scope"] = ev.get("scope", "")
            elif "root" in ev:
                slot["root"] = ev["root"]
    return out


def run_scope_race(cfg: ScopeRunConfig) -> ScopeReport:
    """The race (see the module's docstring); the report's problem lists must be empty."""
    report = ScopeReport(cfg.name, cfg.backend, writers=cfg.processes)
    ctx = process_context()
    emu = start_emulator(seed=cfg.seed)
    rng = random.Random(cfg.seed)
    client = raw_client(emu.base_url)
    try:
        with tempfile.TemporaryDirectory(prefix="lt-scopes-") as log_dir:
            settings = torture_settings(**cfg.settings)
            root = ThreadIndex.create(client, backend=cfg.backend, settings=settings)  # type: ignore[arg-type]
            root_id = root.root_id
            root.close()
            stop_file = os.path.join(log_dir, "STOP")
            base = {
                "base_url": emu.base_url,
                "root_id": root_id,
                "log_dir": log_dir,
                "ops": cfg.ops,
                "rounds": cfg.rounds,
                "round_s": cfg.round_s,
                "min_ops": cfg.min_ops,
                "settings": cfg.settings,
                "self_kill": cfg.self_kill,
                "stop_file": stop_file,
            }
            raw_known: set[str] = set()
            counter = 0
            running: dict[str, Any] = {}
            deaths: dict[str, float] = {}

            def spawn() -> None:
                nonlocal counter
                name = f"w{counter}"
                counter += 1
                quiet_faults(emu)  # raw objects are made without faults
                raw = create_raw(client, cfg.backend, cfg.own_raw, name)
                raw_known.update(raw)
                apply_faults(emu, cfg)
                wcfg = {
                    **base,
                    "name": name,
                    "seed": cfg.seed * 1000 + counter,
                    "own_raw": raw,
                }
                p = ctx.Process(target=scope_worker_main, args=(wcfg,))
                p.start()
                running[name] = p
                report.writers = counter

            emu.reset_stats()
            for _ in range(cfg.processes):
                spawn()
            ready_by = time.monotonic() + 60
            while time.monotonic() < ready_by and len(list(Path(log_dir).glob("*.ready"))) < len(
                running
            ):
                time.sleep(0.01)
            started = time.monotonic() + 0.05
            go = Path(log_dir, "GO.tmp")
            go.write_text(repr(started))
            go.rename(Path(log_dir, "GO"))
            end = started + cfg.seconds
            kills_left = cfg.kills
            while time.monotonic() < end:
                time.sleep(min(rng.uniform(0.1, 0.4), max(0.0, end - time.monotonic())))
                for name, p in list(running.items()):  # self-killed workers
                    if not p.is_alive():
                        p.join()
                        del running[name]
                        if p.exitcode == -signal.SIGKILL:
                            deaths[name] = time.monotonic()
                            report.crashes += 1
                if kills_left and running and rng.random() < 0.5:
                    victim = rng.choice(sorted(running))
                    p = running.pop(victim)
                    p.kill()
                    p.join()
                    deaths[victim] = time.monotonic()
                    report.crashes += 1
                    kills_left -= 1
                if cfg.kills or cfg.self_kill:
                    while len(running) < cfg.processes and time.monotonic() < end - 0.2:
                        spawn()  # a replacement joins the current round's race
            for name, p in running.items():
                p.join(max(5.0, cfg.seconds + 30 - (time.monotonic() - started)))
                if p.is_alive():
                    Path(stop_file).write_text("stop")
                    p.join(30)
                if p.is_alive():
                    report.bad_errors.append(f"worker {name} did not finish in time")
                    p.kill()
                    p.join()
                    deaths[name] = time.monotonic()
                elif p.exitcode == -signal.SIGKILL:
                    deaths[name] = time.monotonic()
                    report.crashes += 1
                elif p.exitcode != 0:
                    report.bad_errors.append(f"worker {name} exited with {p.exitcode}")
            if deaths:
                time.sleep(INFLIGHT_SLACK_S)  # requests of dead workers have landed by now
            stats = emu.stats()
            quiet_faults(emu)
            report.seconds = time.monotonic() - started
            report.faults = dict(stats["faults"])
            report.requests = stats["total"]
            report.deletes = sum(n for k, n in stats["requests"].items() if k.startswith("DELETE"))
            report.creates = sum(
                n
                for k, n in stats["requests"].items()
                if k in ("POST /v1/threads", "POST /v1/conversations")
            )
            report.seed = cfg.seed
            ops = read_logs(log_dir, deaths)
            extras = _log_extras(log_dir)
            check(report, cfg, emu, client, root_id, ops, extras, raw_known)
            return report
    finally:
        client.close()
        emu.stop()


def apply_faults(emu: Any, cfg: ScopeRunConfig) -> None:
    emu.update_settings(
        fault_rate=cfg.fault_rate,
        lost_response_rate=cfg.lost_response_rate,
        latency_ms=cfg.latency_ms,
        latency_jitter_ms=cfg.latency_jitter_ms,
    )


# -- the checks -------------------------------------------------------------------------------


def scope_records(client: openai.OpenAI, backend: str, parent: str) -> list[tuple[str, str]]:
    """Every ``scope`` record of a parent's journal, oldest first: (name, root ID)."""
    from linkedthreads._journal import parse_entry

    out = []
    for entry_id, text in read_journal_texts(client, backend, parent):
        for record in parse_entry(entry_id, text).records:
            if record.op == "scope":
                out.append((str(getattr(record, "name", "")), str(getattr(record, "target", ""))))
    return out


def check(
    report: ScopeReport,
    cfg: ScopeRunConfig,
    emu: Any,
    client: openai.OpenAI,
    root_id: str,
    ops: list[Op],
    extras: dict[tuple[str, int], dict[str, Any]],
    raw_known: set[str],
) -> None:
    settings = torture_settings(**cfg.settings)
    faulty = bool(cfg.fault_rate or cfg.lost_response_rate or cfg.kills or cfg.self_kill)
    report.ops = len(ops)
    report.ops_failed = sum(1 for op in ops if op.status != "ok")
    report.max_op_s = max((op.t1 - op.t0 for op in ops if op.t1 < INF), default=0.0)
    _ingest_errors(report, ops, faulty)
    scope_of = {
        (op.worker, op.seq): extras.get((op.worker, op.seq), {}).get("scope", "") for op in ops
    }

    # One scope per name: the final tree, and every listing seen during the run.
    fresh = ThreadIndex.open(client, root_id, settings=settings)
    tree: dict[str, str] = {}  # path -> root
    parents: dict[str, str] = {"": root_id}  # path of an index -> its root
    for parent_path in ["", *(f"s{k}" for k in range(cfg.rounds))]:
        if parent_path not in parents:
            continue
        ix = fresh if not parent_path else fresh.scope(parent_path)
        try:
            listed = list(ix.scopes())
        except LinkedThreadsError as exc:
            report.lost.append(f"scopes() of {parent_path or 'the root'!r}: {_error_text(exc)}")
            continue
        names = Counter(name for name, _ in listed)
        report.duplicates.extend(
            f"final scopes() of {parent_path or 'the root'!r}: {n!r} listed {c} times"
            for n, c in names.items()
            if c > 1
        )
        for name, scope_root in listed:
            path = f"{parent_path}/{name}" if parent_path else name
            tree.setdefault(path, scope_root)
            parents[path] = scope_root
    report.scopes_made = len(tree)
    for op in ops:
        if not op.ok or op.kind != "scopes":
            continue
        report.observations += 1
        where = scope_of[(op.worker, op.seq)]
        seen = Counter(name for name, _ in op.result)
        report.duplicates.extend(
            f"{op.worker}#{op.seq} scopes() of {where!r}: {n!r} listed {c} times"
            for n, c in seen.items()
            if c > 1
        )
        for name, scope_root in op.result:
            path = f"{where}/{name}" if where else name
            if tree.get(path) != scope_root:
                report.ghosts.append(
                    f"{op.worker}#{op.seq} scopes() of {where!r}: {name!r} -> {scope_root}, "
                    f"but the scope is {tree.get(path)}"
                )
    for op in ops:
        written = extras.get((op.worker, op.seq), {}).get("root")
        path = scope_of[(op.worker, op.seq)]
        if written is None and op.kind in ("remove", "delete"):
            continue  # the scope did not exist for that instance: nothing to forget
        if op.ok and op.kind in WRITES and path and written != tree.get(path):
            report.lost.append(
                f"{op.worker}#{op.seq} {op.kind} in {path!r} went into {written}, but the "
                f"scope is {tree.get(path)}"
            )

    # Each scope's list against its own history.
    known: set[str] = set(raw_known) | {root_id} | set(tree.values())
    listed: set[str] = set()
    for path in sorted({p for p in scope_of.values() if p} | set(tree)):
        path_ops = [
            op for op in ops if scope_of[(op.worker, op.seq)] == path and op.kind != "scopes"
        ]
        history = History(path_ops)
        ix = fresh
        for name in path.split("/"):
            ix = ix.scope(name)
        try:
            final = list(ix.all())
            count = len(ix)
        except LinkedThreadsError as exc:
            report.lost.append(f"scope {path!r} is unreadable after the run: {_error_text(exc)}")
            continue
        report.listed_final += len(final)
        if count != len(final):
            report.lost.append(f"scope {path!r}: len() is {count} but all() lists {len(final)}")
        for probe in rng_sample(final, 5, cfg.seed):
            if probe not in ix:
                report.lost.append(f"scope {path!r}: {probe} is listed but `in` says no")
        judge(report, history, path_ops, final, client, cfg.backend)
        known.update(final)
        listed.update(final)
        known.update(history.effects)
        for op in path_ops:
            known.update(op.ids)
    for r in {root_id, *tree.values()}:
        cks = checkpoints(client, cfg.backend, r)
        report.checkpoints += len(cks)
        report.dropped_checkpoints += sum(1 for _, ck in cks if ck.upto is None)
    account(report, cfg, emu, client, root_id, tree, parents, ops, scope_of, known)
    if cfg.destroy:
        check_destroy(report, fresh, emu, client, cfg.backend, {root_id, *tree.values()}, listed)
    fresh.close()


def _scope(extras: dict[tuple[str, int], dict[str, Any]], op: Op) -> str:
    return str(extras.get((op.worker, op.seq), {}).get("scope", ""))


def rng_sample(ids: list[str], k: int, seed: int) -> list[str]:
    return random.Random(seed).sample(ids, min(k, len(ids)))


def account(
    report: ScopeReport,
    cfg: ScopeRunConfig,
    emu: Any,
    client: openai.OpenAI,
    root_id: str,
    tree: dict[str, str],
    parents: dict[str, str],
    ops: list[Op],
    scope_of: dict[tuple[str, int], str],
    known: set[str],
) -> None:
    """Every live object nobody knows, and every root made for a scope, accounted for."""
    backend = cfg.backend
    lost_responses = emu.stats()["faults"].get("lost_response", 0)
    by_tag = {op.tag: op for op in ops}
    cut_paths = Counter(
        scope_of[(op.worker, op.seq)] for op in ops if op.status != "ok" and op.kind in WRITES
    )
    winners = set(tree.values())
    roots_of_tree = {root_id} | winners
    # The scope records of every parent: winners and losers alike.
    recorded: dict[str, str] = {}  # scope root -> path
    for path, parent_root in parents.items():
        for name, target in scope_records(client, backend, parent_root):
            recorded[target] = f"{path}/{name}" if path else name
    live = emu.live_ids(backend)
    refs: set[str] = set()
    for r in roots_of_tree:
        refs |= referenced_index_objects(client, backend, r)
    unknown = sorted(live - known)
    scope_roots_live: set[str] = set()
    page_orphans = 0
    per_op: Counter[str] = Counter()
    for id_ in unknown:
        md = retrieve_metadata(client, backend, id_)
        if md is None:
            continue  # deleted since (a loser deleting its own root)
        if PARENT_KEY in md:
            scope_roots_live.add(id_)
            continue
        tag = md.get("linkedthreads", "")
        if tag.startswith("in:"):
            owner = tag[3:]
            if owner not in roots_of_tree:
                report.unexplained.append(
                    f"child {id_} was made in {owner}, the root of no scope: the losing side "
                    "of a race was written to"
                )
                continue
            report.orphans += 1
            op_tag = md.get(OP_TAG, "")
            op = by_tag.get(op_tag)
            if op is None:
                report.unexplained.append(f"orphan {id_}: no create call has tag {op_tag!r}")
                continue
            per_op[op_tag] += 1
            window = op.n if op.kind == "create_children" else 1
            if op.ok and lost_responses == 0:
                report.unexplained.append(
                    f"orphan {id_}: made by {op_tag}, which returned {op.result}, and no "
                    "answer was lost"
                )
            elif not op.ok and per_op[op_tag] > window and lost_responses == 0:
                report.unexplained.append(
                    f"orphan {id_}: {per_op[op_tag]} orphans from {op_tag}, over its window"
                )
            else:
                report.orphans_explained += 1
        elif is_index_object(md):
            if id_ not in refs:
                page_orphans += 1
        else:
            report.unexplained.append(f"live object {id_} of unknown origin: {md}")
    report.page_orphans = page_orphans
    interrupted = sum(1 for op in ops if op.status != "ok")
    budget = lost_responses + interrupted * 4
    report.page_orphans_explained = min(page_orphans, budget)
    if page_orphans > budget:
        report.unexplained.append(
            f"{page_orphans} unreferenced pages, but only {lost_responses} lost answers and "
            f"{interrupted} interrupted calls"
        )
    # The roots made for scopes: winners, losers recorded, losers unrecorded.
    losers_recorded = set(recorded) - winners
    report.losers_collected = sum(1 for r in losers_recorded if r not in live)
    report.losers_listed = sum(1 for r in losers_recorded if r in live)
    unrecorded = scope_roots_live - set(recorded)
    report.losers_unrecorded = len(unrecorded)
    report.losers = len(losers_recorded) + len(unrecorded)
    roots_made: Counter[str] = Counter(recorded.values())
    for r in unrecorded:
        md = retrieve_metadata(client, backend, r) or {}
        roots_made[f"{md.get(PARENT_KEY, '')}:{md.get(NAME_KEY, '')}"] += 1
    report.races = sum(1 for c in roots_made.values() if c > 1)
    report.scope_roots = len(winners) + report.losers
    for r in sorted(unrecorded):
        md = retrieve_metadata(client, backend, r) or {}
        parent = md.get(PARENT_KEY, "")
        if parent not in roots_of_tree:
            report.unexplained.append(f"scope root {r} names a parent {parent} of no scope")
            continue
        parent_path = next((p for p, pr in parents.items() if pr == parent), "")
        path = f"{parent_path}/{md.get(NAME_KEY, '')}" if parent_path else md.get(NAME_KEY, "")
        cut = sum(n for p, n in cut_paths.items() if p == path or p.startswith(f"{path}/"))
        if cut == 0 and lost_responses == 0:
            report.unexplained.append(
                f"scope root {r} of {path!r} is alive and named by no record, but no write "
                "into that scope was cut and no answer was lost"
            )
    for r in sorted((losers_recorded & live) | unrecorded):
        if read_journal_texts(client, backend, r):
            report.unexplained.append(f"the losing root {r} has journal entries: it was written")
    pending = {recorded[r].rpartition("/")[0] for r in losers_recorded & live}
    if pending:
        collect_losers(report, cfg, client, root_id, pending, losers_recorded & live)


def collect_losers(
    report: ScopeReport,
    cfg: ScopeRunConfig,
    client: openai.OpenAI,
    root_id: str,
    parent_paths: set[str],
    listed: set[str],
) -> None:
    """Losing roots listed as garbage are collected by their parent's compactions: two
    compactions by an instance with no grace (the first retires them, the second deletes)
    leave none of them."""
    settings = torture_settings(**{**cfg.settings, "gc_grace_seconds": 0})
    index = ThreadIndex.open(client, root_id, settings=settings)
    for path in sorted(parent_paths):
        ix = index
        for name in filter(None, path.split("/")):
            ix = ix.scope(name)
        for _ in range(2):
            ix.compact()
    left = [r for r in sorted(listed) if retrieve_metadata(client, cfg.backend, r) is not None]
    report.losers_collected_later = len(listed) - len(left)
    if left:
        report.unexplained.append(
            f"{len(left)} losing roots listed as garbage are still alive after two "
            f"compactions of their parent: {left[:3]}"
        )
    index.close()


def check_destroy(
    report: ScopeReport,
    fresh: ThreadIndex,
    emu: Any,
    client: openai.OpenAI,
    backend: str,
    roots: set[str],
    listed: set[str],
) -> None:
    """The root's destroy() removes every scope: nothing of the tree is left: no root of
    a scope (won or lost), no page, no listed child. (A child removed from its list, not
    deleted, is no longer the index's: it stays, as remove() promises.)"""
    refs: set[str] = set()
    for r in roots:
        refs |= referenced_index_objects(client, backend, r)
    fresh.destroy()
    left = []
    for id_ in sorted(emu.live_ids(backend)):
        md = retrieve_metadata(client, backend, id_) or {}
        if PARENT_KEY in md or is_index_object(md) or id_ in roots | listed | refs:
            left.append(f"{id_} {md}")
    if left:
        report.unexplained.append(f"destroy() left {len(left)} objects of the tree: {left[:5]}")


def merge_scope_reports(reports: Sequence[ScopeReport]) -> ScopeReport:
    """One report for several trials: counts added, problems concatenated."""
    out = ScopeReport(reports[0].name, reports[0].backend, writers=reports[0].writers)
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
            "listed_final",
            "races",
            "scope_roots",
            "scopes_made",
            "losers",
            "losers_collected",
            "losers_listed",
            "losers_unrecorded",
            "losers_collected_later",
            "creates",
            "deletes",
            "checkpoints",
            "dropped_checkpoints",
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
