"""The checks after a race for new scopes (``torture.scopes``), faults off, against
docs/design.md (4.8 and 8.2):

- one scope per name: every ``scopes()`` seen during the run and at the end lists a name
  once, always with the same root; every write that returned went into that root;
- each scope's list is judged against its own history (``torture.history.History``): 0 lost, 0
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

import random
from collections import Counter
from typing import Any

import openai

from linkedthreads import LinkedThreadsError, ThreadIndex

from .checks import _ingest_errors, explain_child_orphan, explain_page_orphans, judge
from .configs import ScopeRunConfig
from .history import History, Op
from .journal import checkpoints, is_index_object, referenced_index_objects, scope_records
from .objects import read_journal_texts, retrieve_metadata
from .report import ScopeReport
from .settings import INF, torture_settings
from .worker import _error_text

PARENT_KEY = "lt_parent"  # on a scope's root: its parent's root ID (docs/design.md 4.8)
NAME_KEY = "lt_scope"  # on a scope's root: its name
WRITES = frozenset({"create_child", "create_children", "add", "add_many", "remove", "delete"})


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
            scopes_listed = list(ix.scopes())
        except LinkedThreadsError as exc:
            report.lost.append(f"scopes() of {parent_path or 'the root'!r}: {_error_text(exc)}")
            continue
        names = Counter(name for name, _ in scopes_listed)
        report.duplicates.extend(
            f"final scopes() of {parent_path or 'the root'!r}: {n!r} listed {c} times"
            for n, c in names.items()
            if c > 1
        )
        for name, scope_root in scopes_listed:
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
            explain_child_orphan(report, id_, md, by_tag, per_op, lost_responses)
        elif is_index_object(md):
            if id_ not in refs:
                page_orphans += 1
        else:
            report.unexplained.append(f"live object {id_} of unknown origin: {md}")
    interrupted = sum(1 for op in ops if op.status != "ok")
    explain_page_orphans(report, page_orphans, lost_responses, interrupted, 4)
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
