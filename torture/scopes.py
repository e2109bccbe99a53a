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
switched on by the configuration. Every call is logged as in ``torture.worker``, with its scope
and, after a write, the root the scope resolved to.

The checks after a run are ``torture.scope_checks``; the standard runs are
``torture.configs.scope_config``.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from linkedthreads import LinkedThreadsError, ThreadIndex

from .configs import ScopeRunConfig
from .emulator import quiet_faults, raw_client, start_emulator
from .history import read_logs
from .objects import create_raw
from .report import ScopeReport
from .scope_checks import check
from .settings import INFLIGHT_SLACK_S, torture_settings
from .worker import OpLog, _error_text, make_client, perform, process_context

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
        try:
            result = perform(ix, kind, ids, n, tag)
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
            report.count_requests(stats)
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
