"""Maintenance: ``stats``, ``verify`` (and repair by a rebuild from the whole journal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from linkedthreads._errors import CorruptIndexError
from linkedthreads._journal import Checkpoint, Record
from linkedthreads._overlay import JournalScan, Overlay, VisibleIds
from linkedthreads._results import IndexStats, VerifyReport
from linkedthreads._transport import NotFound

from .compaction import compact, plan
from .flow import Flow, PageGone, Pause, first_error, restarting, send_all
from .pages import resolved
from .reading import page_list, read_journal, read_pages, read_view
from .state import IndexState, learn_codec
from .view import View
from .writing import flush


def stats(state: IndexState) -> Flow[IndexStats]:
    """Cost: 1 request (+ the directories of a very large index)."""
    view = yield from read_view(state)
    pages = yield from restarting(lambda: page_list(state, view.base))
    overlay = resolved(state, view.overlay, pages)
    return IndexStats(
        children=overlay.count(view.base.slots) if overlay.exact else None,
        pages=len(pages),
        directories=len(view.base.dirs),
        page_slots=view.base.slots,
        unpaged=len(overlay.extra),
        waiting=len(overlay.hide) + sum(overlay.extra.values()),
        tail_entries=view.scan.tail_length,
        checkpointed=view.base.upto is not None,
    )


class Checked(NamedTuple):
    """What ``verify`` checked: its report; the view of the journal it read, None when a
    repair wrote to the index since; and the scope directory's buckets as stored (4.8), None
    when they could not all be read (a problem of the report). The caller lists the scopes
    from the last two rather than reading them again."""

    report: VerifyReport
    view: View | None
    buckets: list[list[str]] | None


def verify(state: IndexState, repair: bool) -> Flow[Checked]:
    """Check every page, every bucket of the scope directory and every child; with
    ``repair``, forget dangling IDs and rebuild.

    A page or bucket missing three times running (not just collected by a concurrent
    compaction, nor too young for a lagging server to show) or damaged is a problem; repair
    then rebuilds from the whole journal. Pages and buckets are read from the server, not the
    cache. A child is dangling only once its absence is confirmed (docs/design.md 8.4).
    """
    for attempt in range(3):
        report = VerifyReport()
        view = yield from read_view(state)
        listed_by = state.env.monotonic()  # every object the view lists existed by now
        report.tail_entries = view.scan.tail_length
        try:
            ids = yield from _verified_ids(state, view, report)
            buckets = yield from read_pages(state, view.base.scope_buckets)
        except PageGone as exc:
            if attempt < 2:
                if attempt == 1 and state.settings.read_lag_seconds:
                    yield Pause(state.settings.read_lag_seconds)  # a page too young to show
                continue
            report.problems.append(str(exc))
        except CorruptIndexError as exc:
            report.problems.append(str(exc))
        else:
            break
        if repair:
            yield from rebuild_from_journal(state)
            report.repaired = True
            yield from _count_repaired(state, report)
            return Checked(report, None, None)
        return Checked(report, view, None)
    report.children = len(set(ids))
    report.dangling = yield from confirmed_absent(state, ids, listed_by)
    if repair and (report.dangling or report.duplicates or not view.overlay.exact):
        if report.dangling:
            yield from flush(state, [Record(op="rm", ids=tuple(report.dangling))])
        yield from compact(state, full=True)
        report.repaired = True
        return Checked(report, None, None)
    return Checked(report, view, buckets)


def _count_repaired(state: IndexState, report: VerifyReport) -> Flow[None]:
    """After a rebuild from the journal: what the new pages list (read back, so a page the
    rebuild wrote unreadable would show here as a problem)."""
    try:
        after = VerifyReport()
        ids = yield from _verified_ids(state, (yield from read_view(state)), after)
    except CorruptIndexError as exc:
        report.problems.append(f"after the rebuild: {exc}")
        return
    report.children, report.pages = len(set(ids)), after.pages


def confirmed_absent(state: IndexState, ids: Sequence[str], listed_by: float) -> Flow[list[str]]:
    """The children of ``ids`` (listed by a journal read answered before ``listed_by``, a
    ``state.env.monotonic()``) whose absence is confirmed, in list order: a read of it answered
    404 and was sent at least ``read_lag_seconds`` after ``listed_by``. Its object was
    created before its ``add`` was appended, so it had existed that long: a server whose
    read-after-write lag is within the bound shows it by then (docs/design.md 8.4). A 404
    that came sooner is read again once the bound has passed; a child found then is live.

    Cost: one read per child, plus one per child that answered 404 too soon.
    """
    lag = state.settings.read_lag_seconds
    step = state.settings.read_concurrency * 4
    absent: list[str] = []
    todo = list(ids)
    while todo:
        suspects: list[str] = []
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            trusted = state.env.monotonic() - listed_by >= lag  # before the requests are sent
            outcomes = yield from send_all([state.backend.retrieve(i) for i in chunk])
            error = first_error(outcomes, ignore_not_found=True)
            if error is not None:
                raise error
            missing = [
                i for i, o in zip(chunk, outcomes, strict=True) if isinstance(o.error, NotFound)
            ]
            (absent if trusted else suspects).extend(missing)
        todo = suspects
        left = listed_by + lag - state.env.monotonic()
        if todo and left > 0:
            yield Pause(left)
    order = {id_: n for n, id_ in enumerate(ids)}
    return sorted(absent, key=order.__getitem__)


def _verified_ids(state: IndexState, view: View, report: VerifyReport) -> Flow[list[str]]:
    """Every listed ID, noting pages and duplicates in ``report``."""
    pages = yield from page_list(state, view.base)
    report.pages = len(pages)
    visible = VisibleIds(view.overlay)
    ids: list[str] = []
    listed: set[str] = set()
    for content in (yield from read_pages(state, pages)):
        for id_ in visible.page(content):
            if id_ in listed:
                report.duplicates.append(id_)
            listed.add(id_)
            ids.append(id_)
    for id_ in visible.finish():
        if id_ in listed:
            report.duplicates.append(id_)
        listed.add(id_)
        ids.append(id_)
    return ids


def rebuild_from_journal(state: IndexState) -> Flow[None]:
    """Replay the whole journal from its first entry and write a fresh checkpoint."""
    entries = yield from read_journal(state)
    scan = JournalScan()
    for entry in reversed(entries):
        scan.feed(entry)
    scan.finish()
    learn_codec(
        state, [r.checkpoint for e in entries for r in e.records if r.checkpoint is not None]
    )
    empty = Checkpoint(upto=None)
    overlay = Overlay(empty)
    overlay.apply_entries(entries)
    view = View(scan, empty, overlay, state.env.clock())
    planned = yield from plan(state, view, full=True)
    state.add_pending(planned)
    yield from flush(state, [])
