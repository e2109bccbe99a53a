"""Compaction and collection: when to compact, planning a checkpoint and writing its pages
and directories (with the write-time check, docs/design.md 5.4), and which retired pages a
checkpoint carries as garbage or finds due (7.2-7.3)."""

from __future__ import annotations

from collections.abc import Sequence

from linkedthreads import _scope_dir as scope_dir
from linkedthreads._codec import (
    ASCII,
    Alphabet,
    chunk_for_pages,
    encode_ids,
    encode_slots,
    ids_to_bits,
)
from linkedthreads._compaction import PlannedPage, Rebuilder, incremental_layout
from linkedthreads._errors import BackendUnavailableError, LinkedThreadsError, MetadataError
from linkedthreads._journal import Checkpoint, page_list_key, retirement_stamp
from linkedthreads._overlay import Overlay
from linkedthreads._transport import Outcome

from .constants import NONCE_MEMORY
from .flow import Flow, first_error, restarting, send_all
from .pages import learn_from_cache, resolved
from .reading import cached_pages, load_checkpoint, page_list, read_view
from .state import IndexState, PendingCheckpoint, tail_weight
from .view import View
from .writing import flush


def maybe_compact(state: IndexState) -> Flow[None]:
    """Every ``compact_every`` appends (from a random phase), read the tail and, if it is long,
    compute a checkpoint that the next append carries (docs/design.md, 7.2)."""
    if not state.start_compaction_check():
        return
    try:
        view = yield from read_view(state)
        long = tail_weight(view.scan) >= state.settings.compact_every // 2
        if long or _can_record(state, view):
            planned = yield from plan(state, view, full=False)
            state.add_pending(planned, restart_countdown=True)
    except LinkedThreadsError:
        # Upkeep never fails the caller's operation: the journal alone is correct, and the
        # next write tries again. (A damaged index still fails every read, loudly.)
        state.check_again_soon()


def _can_record(state: IndexState, view: View) -> bool:
    """True when this instance knows where some of the view's undecided IDs are, so that a
    checkpoint would record it (and make ``len`` one request for every reader)."""
    res = state.resolution
    if res is None:
        return False
    if view.base.dirs != res.dirs or (not res.dirs and view.base.pages != res.pages):
        return False
    return bool(view.overlay.unknown() & (res.held | res.absent))


def compact(state: IndexState, full: bool) -> Flow[None]:
    def attempt() -> Flow[PendingCheckpoint]:
        view = yield from read_view(state)
        return (yield from plan(state, view, full=full))

    planned = yield from restarting(attempt)
    # The tail was just folded: the next check is a whole cycle away, as after upkeep.
    state.add_pending(planned, restart_countdown=True)
    yield from flush(state, [])


def plan(state: IndexState, view: View, *, full: bool) -> Flow[PendingCheckpoint]:
    """Compute a checkpoint for ``view`` and write its pages (deleting nothing: see flush).

    A page that the server altered or refused (5.4) is not used: the pages this attempt
    made are deleted and, if they were dense, the index falls back to ASCII for good (the
    checkpoint says so) and the checkpoint is computed again."""
    made: list[str] = []
    try:
        return (yield from _plan(state, view, full=full, made=made))
    except PagesRefused as exc:
        yield from discard_pages(state, made)
        if exc.alphabet is ASCII:
            raise BackendUnavailableError(
                f"the server {exc.how} the metadata of an index page written in ASCII: "
                f"linkedthreads cannot keep an index on this server"
            ) from None
    state.fall_back()
    return (yield from _plan(state, view, full=full, made=[]))


def _plan(state: IndexState, view: View, *, full: bool, made: list[str]) -> Flow[PendingCheckpoint]:
    base = view.base
    page_ids = yield from page_list(state, base)
    # Checkpoints of the tail carried in body objects name their pages there (4.6); read
    # before any page is written, so that a body collected meanwhile orphans nothing.
    tail = []
    for ck in view.scan.tail_checkpoints():
        tail.append((yield from load_checkpoint(state, ck)))
    learn_from_cache(state, view, page_ids)
    overlay = resolved(state, view.overlay, page_ids)
    waiting = len(overlay.hide) + sum(overlay.extra.values())
    limit = state.overlay_limit
    if not (full or waiting > limit):
        layout = incremental_layout(page_ids, base.slots, overlay, state.capacity)
        # A conditional or re-added ID at the front of ``extra`` blocks paging: once a page
        # of IDs waits behind it, rebuild (which resolves it) so ``extra`` stays under a page.
        waiting_ids = [i for i, _ in layout.extra]
        full = any(done for _, done in chunk_for_pages(waiting_ids, state.capacity))
    if full or waiting > limit:
        rebuilder = Rebuilder(overlay, state.capacity)
        planned: list[PlannedPage] = []
        written_so_far: list[str]
        step = state.settings.read_concurrency
        for start in range(0, len(page_ids), step):
            chunk = page_ids[start : start + step]
            contents = yield from cached_pages(state, chunk)
            for page_id, content in zip(chunk, contents, strict=True):
                planned.extend(rebuilder.feed(page_id, content))
            # Write what is decided as we go, so memory stays about one batch of pages.
            written_so_far = yield from write_planned(state, planned, made)
            planned = list(written_so_far)
        layout = rebuilder.finish()
        layout.pages = planned + layout.pages
    new_pages: list[str] = yield from write_planned(state, layout.pages, made)
    dirs = yield from write_dirs(state, new_pages, base, made)
    inline, buckets, losers = yield from plan_scopes(state, base, overlay, made)
    referenced = set(new_pages) | set(dirs) | set(buckets)
    written = referenced - set(page_ids) - set(base.dirs) - set(base.scope_buckets)
    garbage, due = collect(state, view, referenced, tail)
    if losers:  # roots of scopes that lost the race for their name (4.8)
        garbage = (*garbage, (tuple(sorted(set(losers))), retirement_stamp(state.env.clock())))
    checkpoint = Checkpoint(
        upto=view.scan.newest_id,
        pages=() if dirs else tuple(new_pages),
        dirs=tuple(dirs),
        slots=layout.slots,
        extra=tuple(layout.extra),
        hide=frozenset(layout.hide),
        held=frozenset(layout.hide & overlay.held),
        garbage=garbage,
        time=state.env.clock(),
        nonces=tuple((list(base.nonces) + overlay.applied)[-NONCE_MEMORY:]),
        ascii=state.fell_back,
        scopes=tuple(inline.items()),
        scope_buckets=tuple(buckets),
    )
    # The newest page list this instance knows, and holds (it wrote or read every page):
    # the add and rm records it appends from now on state where their IDs are in it (4.4).
    state.know_page_list(page_list_key(checkpoint.pages, checkpoint.dirs), new_pages)
    return PendingCheckpoint(checkpoint, view.read_at, frozenset(written), due)


def plan_scopes(
    state: IndexState, base: Checkpoint, overlay: Overlay, made: list[str]
) -> Flow[tuple[dict[str, str], Sequence[str], list[str]]]:
    """The scope directory of a new checkpoint (4.8): its inline part, its buckets, and the
    roots of losing ``scope`` records. The buckets of names the overlay could not settle are
    read (or taken from the cache); once the inline part outgrows a quarter of a record, it
    is written into the buckets (those that change, or all when their number grows)."""
    old = base.scope_buckets
    need = scope_dir.unsettled_buckets(overlay, len(old))
    read = yield from cached_pages(state, [old[i] for i in need])
    maps = {i: scope_dir.bucket_pairs(c) for i, c in zip(need, read, strict=True)}
    inline, losers = scope_dir.settle_overlay(overlay, maps, len(old))
    if scope_dir.inline_size(inline) <= state.record_limit // 4:
        return inline, old, losers
    contents = [scope_dir.bucket_pairs(c) for c in (yield from cached_pages(state, old))]
    layout = scope_dir.flush_layout(old, contents, inline, state.capacity)
    buckets = yield from write_planned(state, layout, made)
    return {}, buckets, losers


def write_planned(
    state: IndexState, planned: Sequence[PlannedPage], made: list[str] | None = None
) -> Flow[list[str]]:
    """Create the planned pages that are new, concurrently; every page's ID, in order. The
    IDs of the objects created are added to ``made``. Raises ``PagesRefused`` when the server
    altered or refused a page's metadata (5.4)."""
    new = [p for p in planned if isinstance(p, list)]
    packed = [ids_to_bits(ids) for ids in new]
    alphabet = state.alphabet
    sent = [encode_slots(value, nbits, alphabet) for value, nbits in packed]
    outcomes = yield from send_all([state.backend.create(md, {}) for md in sent])
    if made is not None:
        made.extend(o.value.id for o in outcomes if o.error is None)
    check_pages(alphabet, sent, outcomes)
    error = first_error(outcomes)
    if error is not None:
        raise error
    for outcome, ids, (value, nbits) in zip(outcomes, new, packed, strict=True):
        state.cache.put(outcome.value.id, value, nbits, ids)
    created = iter(o.value.id for o in outcomes)
    return [p if isinstance(p, str) else next(created) for p in planned]


def write_dirs(
    state: IndexState, pages: list[str], base: Checkpoint, made: list[str] | None = None
) -> Flow[list[str]]:
    """A page list longer than an eighth of a record goes into directories (reused if
    unchanged)."""
    if len(encode_ids(pages)) <= state.record_limit // 8:
        return []
    old = list(base.dirs)
    old_contents = (yield from cached_pages(state, old)) if old else []
    planned: list[PlannedPage] = []
    for i, (chunk, _) in enumerate(chunk_for_pages(pages, state.capacity)):
        planned.append(old[i] if i < len(old) and old_contents[i] == chunk else chunk)
    return (yield from write_planned(state, planned, made))


class PagesRefused(Exception):
    """Internal: the server altered (``how`` = "altered") or refused a page's metadata."""

    def __init__(self, alphabet: Alphabet, how: str) -> None:
        super().__init__(f"the server {how} an index page")
        self.alphabet = alphabet
        self.how = how


def check_pages(
    alphabet: Alphabet, sent: Sequence[dict[str, str]], outcomes: Sequence[Outcome]
) -> None:
    """The write-time check (5.4): every page created must hold exactly what was sent, as the
    create's answer shows; a page refused for its metadata counts as altered."""
    for metadata, outcome in zip(sent, outcomes, strict=True):
        if isinstance(outcome.error, MetadataError):
            raise PagesRefused(alphabet, "refused")
        if outcome.error is None and dict(outcome.value.metadata) != metadata:
            raise PagesRefused(alphabet, "altered")


def discard_pages(state: IndexState, pages: Sequence[str]) -> Flow[None]:
    """Delete pages no checkpoint references (made by an attempt whose pages were refused).
    A failure leaves an unreferenced page, as a crash before the checkpoint would (8.2)."""
    yield from send_all([state.backend.delete(p) for p in pages])


def collect(
    state: IndexState, view: View, referenced: set[str], tail: list[Checkpoint] | None = None
) -> tuple[tuple[tuple[tuple[str, ...], float], ...], tuple[str, ...]]:
    """The garbage a new checkpoint carries, and the pages due for deletion (7.3): retired
    over ``gc_grace_seconds`` before the journal was read, and referenced by neither the
    base, the tail's checkpoints nor the new checkpoint. Due pages are left out of the
    garbage; they are deleted once the checkpoint is appended (``flush``)."""
    now = state.env.clock()
    tail_checkpoints = list(view.scan.tail_checkpoints()) if tail is None else tail
    live = set(referenced) | view.base.referenced()
    retired: dict[str, float] = {}
    # A page's grace counts from the LAST time a visible checkpoint still needed it: the
    # latest retirement wins, and a page a visible checkpoint references is retired now.
    leftovers = state.undeleted_pages()
    for ck in [view.base, *tail_checkpoints]:
        for ids, t in ck.garbage:
            for p in ids:
                retired[p] = max(t, retired.get(p, t))
    for p, t in leftovers.items():
        retired[p] = max(t, retired.get(p, t))
    for ck in tail_checkpoints:
        live |= ck.referenced()
    for ck in [view.base, *tail_checkpoints]:
        for p in ck.referenced() - referenced:
            retired[p] = now
    # Measured from when this compactor read the journal, not from now: a checkpoint that
    # landed after that read is not in this view, and the grace must cover it.
    cutoff = view.read_at - state.settings.gc_grace_seconds
    due = tuple(sorted(p for p, t in retired.items() if t <= cutoff and p not in live))
    by_time: dict[float, list[str]] = {}
    for p, t in retired.items():
        if p not in referenced and p not in due:
            by_time.setdefault(retirement_stamp(t), []).append(p)
    garbage = tuple((tuple(sorted(ps)), t) for t, ps in sorted(by_time.items()))
    return garbage, due
