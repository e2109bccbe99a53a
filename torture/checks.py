"""The checks after a run: errors raised, observations against the history, and every
live object accounted for (orphans must be explained by the window of docs/design.md 8.2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import openai

from .history import History, Op
from .journal import is_index_object, referenced_index_objects
from .objects import retrieve_metadata
from .report import Report
from .settings import GRACE_S, INF, OP_TAG, PUBLIC_ERRORS


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
            explain_child_orphan(report, id_, md, history.by_tag, per_op, lost_responses)
        elif is_index_object(md):
            if id_ not in refs:
                page_orphans += 1
        else:
            # (An object without metadata here once meant an emulator bug, now fixed and
            # tested in tests/emulator/test_http.py: a POST whose client died before its
            # body arrived was applied as if its body were empty. It is a failure now.)
            report.unexplained.append(f"live object {id_} of unknown origin: {md}")
    interrupted = sum(1 for op in ops if op.status != "ok" and op.kind != "all")
    explain_page_orphans(report, page_orphans, lost_responses, interrupted, max_pages)


def explain_child_orphan(
    report: Report,
    id_: str,
    md: dict[str, str],
    by_tag: Mapping[str, Op],
    per_op: Counter[str],
    lost_responses: int,
) -> None:
    """A child orphan (made for an index, listed by none) names in its metadata the create
    call that made it, which must not have recorded it: a call that failed or was killed,
    with no more orphans than it asked for (the window of docs/design.md 8.2), or any call of
    a run that lost answers (a retry made the orphan). ``per_op`` counts orphans per call."""
    report.orphans += 1
    tag = md.get(OP_TAG, "")
    op = by_tag.get(tag)
    if op is None:
        report.unexplained.append(f"orphan {id_}: no create call has tag {tag!r}")
        return
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


def explain_page_orphans(
    report: Report, page_orphans: int, lost_responses: int, interrupted: int, max_pages: int
) -> None:
    """Pages no checkpoint names: each lost answer, and each interrupted call (up to
    ``max_pages`` pages a call), may leave such a page; more are unexplained."""
    report.page_orphans = page_orphans
    budget = lost_responses + interrupted * max_pages
    report.page_orphans_explained = min(page_orphans, budget)
    if page_orphans > budget:
        report.unexplained.append(
            f"{page_orphans} unreferenced pages, but only {lost_responses} lost responses "
            f"and {interrupted} interrupted operations (up to {max_pages} pages each)"
        )
