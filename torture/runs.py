"""A whole run: prepare the index, start the workers (and kill them, in a crash run), then
the final checks with faults off."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from linkedthreads import (
    LinkedThreadsError,
    ThreadIndex,
)

from .checks import _ingest_errors, account_orphans, judge
from .configs import RunConfig, entry_limit_settings
from .emulator import quiet_faults, raw_client, start_emulator
from .history import History, Op, read_logs
from .journal import checkpoints, referenced_index_objects
from .objects import create_raw, fake_ids, read_journal_texts
from .report import Report
from .settings import INF, INFLIGHT_SLACK_S, torture_settings
from .worker import _error_text, checker_main, process_context, worker_main


def _prepare(cfg: RunConfig, emu: Any, log_dir: str) -> dict[str, Any]:
    """Create the index and the raw objects; the base of every worker's configuration."""
    client = raw_client(emu.base_url)
    index = ThreadIndex.create(
        client,
        backend=cfg.backend,  # type: ignore[arg-type]
        codec=cfg.codec,  # type: ignore[arg-type]
        settings=torture_settings(page_ids=cfg.page_ids, **cfg.settings),
    )
    rng = random.Random(cfg.seed)
    seeded: list[str] = []
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
    report.count_requests(stats)
    report.seed = cfg.seed
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
