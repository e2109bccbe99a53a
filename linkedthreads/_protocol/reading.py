"""Reading: the journal back to the base checkpoint (``read_view``), pages (cached or not),
and the reads of the API (``list_ids``, ``count``, ``contains``, ``read_journal``)."""

from __future__ import annotations

from collections.abc import Sequence

from linkedthreads._backends import Container, EntryText
from linkedthreads._codec import bits_to_ids, decode_slots
from linkedthreads._errors import (
    APIRequestError,
    CorruptIndexError,
    IndexNotFoundError,
    LinkedThreadsError,
)
from linkedthreads._journal import (
    Checkpoint,
    Entry,
    Record,
    page_list_key,
    parse_checkpoint_text,
    parse_entry,
)
from linkedthreads._overlay import JournalScan, Overlay, VisibleIds, page_facts
from linkedthreads._spill import body_text
from linkedthreads._transport import NotFound, Outcome

from .constants import END_OP
from .flow import Emit, Flow, PageGone, restarting, send, send_all
from .pages import Learner, resolved, search_cache
from .state import IndexState, learn_codec, tail_weight
from .view import View
from .writing import flush

LISTING_JOURNAL_PAGE = 100
"""Entries a request when ``all()`` reads the journal (docs/design.md, 6.3), as ``len`` does.
An answer is decoded whole by the SDK (about 2.8 bytes of memory a character); our entries
of IDs carry at most ``ENTRY_IDS`` (about 3,200 characters), so 100 of them and the few
checkpoints among them stay around 1 MiB whatever the index's history."""


def read_view(state: IndexState, limit: int = 100) -> Flow[View]:
    """Read the journal newest first back to the base checkpoint (docs/design.md, 6.1),
    ``limit`` entries a request.

    Cost: 1 request while the tail is under ``limit`` entries (+ the body objects of a base
    checkpoint carried in them, 4.6, unless this instance read them before).
    """
    for attempt in range(3):
        try:
            return (yield from _read_view(state, limit))
        except PageGone:  # the base's body was collected under us: read again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _read_view(state: IndexState, limit: int) -> Flow[View]:
    scan = JournalScan()
    after: str | None = None
    read_at = state.env.clock()
    while True:
        try:
            page, more = yield from send(
                state.backend.list_entries(state.root_id, order="desc", after=after, limit=limit)
            )
        except NotFound:
            raise IndexNotFoundError(f"index root {state.root_id!r} no longer exists") from None
        if _feed(scan, page):
            break
        if not more or not page:
            scan.finish()
            break
        after = page[-1].id
    del page  # parsed: the answer's texts need not outlive the fold
    assert scan.base is not None
    if any(r.op == END_OP for e in scan.tail for r in e.records):
        state.gate.close()  # a destroy began (4.7): this process writes no more
    base = yield from load_checkpoint(state, scan.base)
    # A body-stored tail checkpoint says ``ascii`` only once loaded; its compactor's other
    # records and the next checkpoint say it again (5.4).
    learn_codec(state, [base, *scan.tail_checkpoints()])
    overlay = Overlay(base)
    overlay.apply_entries(scan.tail)
    # Records that state where their IDs are in the base's pages (4.4): facts for good.
    overlay.resolve(*page_facts(scan.tail, page_list_key(base.pages, base.dirs)))
    state.note_tail(tail_weight(scan))
    return View(scan, base, overlay, read_at)


def load_checkpoint(state: IndexState, checkpoint: Checkpoint) -> Flow[Checkpoint]:
    """A checkpoint whose record only names its body objects, read from them (4.6); others
    as they are. Bodies never change, so each is read once an instance (a few kept)."""
    if checkpoint.loaded:
        return checkpoint
    cached = state.bodies.get(checkpoint.body)
    if cached is not None:
        return cached
    outcomes = yield from send_all([state.backend.retrieve(b) for b in checkpoint.body])
    metadata = []
    for body_id, outcome in zip(checkpoint.body, outcomes, strict=True):
        if isinstance(outcome.error, NotFound):
            raise PageGone(body_id)
        metadata.append(outcome.unwrap().metadata)
    where = f"the checkpoint in {checkpoint.body[0]!r}"
    try:
        text = body_text(metadata)
    except CorruptIndexError as exc:
        raise CorruptIndexError(f"{where}: {exc}") from exc
    loaded = parse_checkpoint_text(checkpoint, text, where)
    state.remember_body(loaded, evict=True)
    return loaded


def _feed(scan: JournalScan, page: Sequence[EntryText]) -> bool:
    return any(scan.feed(parse_entry(item.id, item.text)) for item in page)


def _decode_page(page_id: str, outcome: Outcome) -> tuple[list[str], int, int]:
    """A page's IDs, and the bit string they were packed in (what the cache keeps)."""
    if isinstance(outcome.error, NotFound):
        raise PageGone(page_id)
    container: Container = outcome.unwrap()
    try:
        value, nbits = decode_slots(dict(container.metadata))
        return bits_to_ids(value, nbits), value, nbits
    except CorruptIndexError as exc:
        raise CorruptIndexError(f"index page {page_id!r} is damaged: {exc}") from exc


def read_pages(state: IndexState, page_ids: Sequence[str]) -> Flow[list[list[str]]]:
    """Every page's IDs as stored now, ``read_concurrency`` requests at a time (no cache:
    for ``verify`` and ``destroy``, whose job is what the server holds)."""
    out: list[list[str]] = []
    step = state.settings.read_concurrency
    for start in range(0, len(page_ids), step):
        ids = page_ids[start : start + step]
        outcomes = yield from send_all([state.backend.retrieve(p) for p in ids])
        out.extend(_decode_page(p, o)[0] for p, o in zip(ids, outcomes, strict=True))
    return out


def cached_pages(
    state: IndexState, page_ids: Sequence[str], *, keep: bool = True
) -> Flow[list[list[str]]]:
    """Every page's IDs, from this instance's cache where it has them (pages never change:
    docs/design.md 7.5), the others read ``read_concurrency`` at a time and cached (unless
    ``keep`` is False: a stream through all of them, whose memory must not grow)."""
    out: list[list[str] | None] = [state.cache.get(p) for p in page_ids]
    missing = [i for i, content in enumerate(out) if content is None]
    step = state.settings.read_concurrency
    for start in range(0, len(missing), step):
        where = missing[start : start + step]
        ids = [page_ids[i] for i in where]
        outcomes = yield from send_all([state.backend.retrieve(p) for p in ids])
        for i, page_id, outcome in zip(where, ids, outcomes, strict=True):
            content, value, nbits = _decode_page(page_id, outcome)
            if keep:
                state.cache.put(page_id, value, nbits, content)
            out[i] = content
    return [c for c in out if c is not None]


def page_list(state: IndexState, base: Checkpoint) -> Flow[list[str]]:
    """The base's pages, reading its directories if it has any."""
    if base.dirs:
        contents = yield from cached_pages(state, base.dirs)
        pages = [p for ids in contents for p in ids]
    else:
        pages = list(base.pages)
    state.know_page_list(page_list_key(base.pages, base.dirs), pages)
    return pages


def list_ids(state: IndexState) -> Flow[None]:
    """Emit every listed ID in order (``all()``). Memory: the overlay, one answer of at most
    ``LISTING_JOURNAL_PAGE`` journal entries, and one batch of pages.

    Cost: 1 (2 while the tail is over 99 entries) + (directories) + ceil(pages); sequential
    round trips 1 + ceil(pages / c).
    """
    emitted = False
    for attempt in range(3):
        view = yield from read_view(state, LISTING_JOURNAL_PAGE)
        try:
            pages = yield from page_list(state, view.base)
            visible = VisibleIds(view.overlay)
            learner = Learner(view.overlay)
            step = state.settings.read_concurrency
            for start in range(0, len(pages), step):
                chunk = pages[start : start + step]
                outcomes = yield from send_all([state.backend.retrieve(p) for p in chunk])
                for page_id, outcome in zip(chunk, outcomes, strict=True):
                    content = _decode_page(page_id, outcome)[0]
                    learner.page(content)
                    ids = visible.page(content)
                    if ids:
                        emitted = True
                        yield Emit(ids)
            learner.learn(state, view.base, pages)
            tail = visible.finish()
            if tail:
                yield Emit(tail)
            return
        except PageGone:
            if emitted or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def count(state: IndexState) -> Flow[int]:
    """``len()``: 1 request when the overlay is exact (or this instance already knows where
    its undecided IDs are), else a read of every page, which it remembers (7.4)."""
    return (yield from restarting(lambda: _count(state)))


def _count(state: IndexState) -> Flow[int]:
    view = yield from read_view(state)
    if view.overlay.exact:
        return view.overlay.count(view.base.slots)
    pages = yield from page_list(state, view.base)
    overlay = resolved(state, view.overlay, pages)
    if not overlay.exact:
        # Learn where the undecided IDs are: from the pages this instance holds, then the
        # others, read (and cached) ``read_concurrency`` at a time.
        learner = Learner(overlay)
        unread = search_cache(state, learner, pages)
        step = state.settings.read_concurrency
        for start in range(0, len(unread), step):
            for content in (yield from cached_pages(state, unread[start : start + step])):
                learner.page(content)
        # Pages had to be read, as they would be by every process that holds none: say what
        # they hold (4.5). Failing that, this instance's next write records it (7.4).
        shared = bool(unread) and (yield from share_learned(state, view.base, learner))
        learner.learn(state, view.base, pages, record_soon=not shared)
        overlay = resolved(state, view.overlay, pages)
    if overlay.exact:
        return overlay.count(view.base.slots)
    # Only pages that repeat an ID (a damaged index, which verify reports) leave it
    # undecided: count by folding them.
    visible = VisibleIds(overlay)
    total = 0
    step = state.settings.read_concurrency
    for start in range(0, len(pages), step):
        for content in (yield from cached_pages(state, pages[start : start + step])):
            total += len(visible.page(content))
    return total + len(visible.finish())


def share_learned(state: IndexState, base: Checkpoint, learner: Learner) -> Flow[bool]:
    """Append an ``at`` record of what ``learner`` found in every page of ``base`` (4.5),
    so that other processes' ``len`` costs 1 request; True if it went out. It never fails
    the read that learned: a refused or failed append is left to the next write (7.4)."""
    ids, flags = learner.statement()
    if not ids or not state.settings.record_counts or state.sharing_refused:
        return False
    record = Record(op="at", ids=ids, at=page_list_key(base.pages, base.dirs), placed=flags)
    try:
        yield from flush(state, [record])
    except APIRequestError as exc:
        if exc.status_code in (401, 403):  # a key that may read but not write
            state.refuse_sharing()
        return False
    except LinkedThreadsError:
        return False
    return True


def contains(state: IndexState, child_id: str) -> Flow[bool]:
    """``in``: 1 request when the overlay decides, else pages are read until found."""
    return (yield from restarting(lambda: _contains(state, child_id)))


def _contains(state: IndexState, child_id: str) -> Flow[bool]:
    view = yield from read_view(state)
    if child_id in view.overlay.extra:
        return True  # listed: after the pages, or (conditional) at its place in them
    if child_id in view.overlay.hide:
        return False
    pages = yield from page_list(state, view.base)
    unread: list[str] = []
    for page_id in pages:  # what this instance already holds costs nothing: look there first
        held = state.cache.holds(page_id, child_id)
        if held is None:
            unread.append(page_id)
        elif held:
            return True
    step = state.settings.read_concurrency
    for start in range(0, len(unread), step):
        contents = yield from cached_pages(state, unread[start : start + step])
        if any(child_id in c for c in contents):
            return True
    return False


def read_journal(state: IndexState, after: str | None = None) -> Flow[list[Entry]]:
    """Every journal entry (after the entry ``after``), oldest first (repair and destroy)."""
    entries: list[Entry] = []
    while True:
        page, more = yield from send(
            state.backend.list_entries(state.root_id, order="asc", after=after)
        )
        entries.extend(parse_entry(e.id, e.text) for e in page)
        if not more or not page:
            return entries
        after = page[-1].id
