"""Scopes: named lists under one root (docs/design.md, 4.8), as flows on ``IndexState``s.

A scope is a full index of its own (its own root, journal and pages) whose root the parent's
journal names in a ``scope`` record. The first ``scope`` record of a name binds it; a scope
is made on its first write (create the root, append the record, read the journal back, and
write only once the record is confirmed first), and found by name from the parent's view.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from linkedthreads._errors import (
    ConcurrentChangeError,
    CorruptIndexError,
    IndexNotFoundError,
    InvalidScopeNameError,
)
from linkedthreads._journal import Entry, Record
from linkedthreads._results import VerifyReport
from linkedthreads._scope_dir import (
    DirectoryListing,
    bucket_index,
    bucket_pairs,
    directory,
    settle,
)
from linkedthreads._transport import NotFound

from .compaction import maybe_compact
from .constants import CODEC_KEY, ROOT_TAG, TAG_KEY
from .destroy import destroy
from .flow import Emit, Flow, PageGone, Pause, send
from .maintenance import confirmed_absent, verify
from .reading import cached_pages, load_checkpoint, read_view
from .state import IndexState, index_gone
from .view import View
from .writing import flush

__all__ = [
    "KEPT_SCOPES",
    "MAX_SCOPE_NAME",
    "NAME_KEY",
    "PARENT_KEY",
    "destroy_tree",
    "find",
    "list_scopes",
    "listing",
    "make",
    "scope_state",
    "unlink",
    "validate_scope_name",
    "verify_tree",
]

MAX_SCOPE_NAME = 200
"""The longest scope name, in characters (4.8): it fits a metadata value (512) whole, and the
raw shape of packed IDs (at most 256 characters)."""
KEPT_SCOPES = 1024
"""Scope instances an index keeps, most recently used: ``index.scope(name)`` gives the same
instance again (with what it found) while it is among them."""
PARENT_KEY = "lt_parent"  # on a scope's root: its parent's root ID
NAME_KEY = "lt_scope"  # on a scope's root: its name


def validate_scope_name(name: object) -> str:
    """A scope name: a string of 1 to 200 printable characters (spaces inside allowed, none
    at either end). Checked before any request."""
    if not isinstance(name, str):
        raise InvalidScopeNameError(f"a scope name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidScopeNameError("a scope name must not be empty")
    if len(name) > MAX_SCOPE_NAME:
        raise InvalidScopeNameError(
            f"scope name {name[:40]!r}... is {len(name)} characters long; at most {MAX_SCOPE_NAME}"
        )
    if not name.isprintable():
        raise InvalidScopeNameError(
            f"scope name {name[:80]!r} contains a control or other non-printable character"
        )
    if name != name.strip():
        raise InvalidScopeNameError(f"scope name {name[:80]!r} starts or ends with a space")
    return name


def scope_state(parent: IndexState, root_id: str) -> IndexState:
    """The instance state of the scope whose root is ``root_id``: the parent's backend,
    settings and alphabet (same server, so the parent's probe holds for it)."""
    state = IndexState(parent.backend, root_id, parent.alphabet, parent.settings, env=parent.env)
    if parent.fell_back:
        state.fall_back()
    return state


def find(parent: IndexState, name: str) -> Flow[str | None]:
    """The root of scope ``name`` of ``parent``, or None if it was never made (or was
    destroyed). Cost: 1 request (the parent's journal; + its body objects, 4.6), + 1 (the
    name's bucket) when the directory has buckets and the record does not carry the name."""
    view = yield from read_view(parent)
    winner, _ = yield from _lookup(parent, view, name)
    return winner


def _lookup(state: IndexState, view: View, name: str) -> Flow[tuple[str | None, list[str]]]:
    """The binding of ``name`` in ``view``, and the roots of its losing records."""
    overlay = view.overlay
    buckets = view.base.scope_buckets
    if not (name in overlay.unsettled or (buckets and name not in overlay.scopes)):
        return overlay.scopes.get(name) or None, overlay.losers
    (content,) = yield from cached_pages(state, [buckets[bucket_index(name, len(buckets))]])
    held = bucket_pairs(content).get(name)
    winner, losers = settle(held, overlay.scope_log, name)
    return winner, losers


def listing(parent: IndexState) -> Flow[list[tuple[str, str]]]:
    """Every scope of ``parent`` as (name, root ID), in ``list_scopes``'s order, at once."""
    view = yield from read_view(parent)
    buckets = yield from cached_pages(parent, view.base.scope_buckets)
    return directory(view.overlay, buckets)


def list_scopes(parent: IndexState) -> Flow[None]:
    """Emit every scope of ``parent`` as (name, root ID) pairs: those in buckets (by bucket,
    by name), then the newer ones in the order made (``scopes()``). Memory: the journal's
    view and one batch of buckets, never the buckets consumed (those the cache holds are
    read from it; the others are not added to it, as ``all()`` adds no page). A bucket
    collected by a concurrent compaction before anything was emitted starts over.

    Cost: 1 request + the buckets (those this instance does not hold), ``read_concurrency``
    at a time: about ceil(S / (0.8 x pairs a bucket)) + 1.
    """
    emitted = False
    for attempt in range(3):
        view = yield from read_view(parent)
        folded = DirectoryListing(view.overlay)
        buckets = view.base.scope_buckets
        step = parent.settings.read_concurrency
        try:
            for start in range(0, len(buckets), step):
                batch = buckets[start : start + step]
                for content in (yield from cached_pages(parent, batch, keep=False)):
                    pairs = folded.bucket(content)
                    if pairs:
                        emitted = True
                        yield Emit(pairs)
        except PageGone:
            if emitted or attempt == 2:
                raise
            continue
        rest = folded.finish()
        if rest:
            yield Emit(rest)
        return


def _outcome(
    view: View, name: str, root_id: str, winner: str | None, losers: list[str]
) -> str | None:
    """The winner for ``name`` once the record naming ``root_id`` is in ``view``; None
    while it is not (yet) to be seen."""
    if winner == root_id:
        return winner
    if winner is not None:
        if root_id in losers:
            return winner
        checkpoints = [view.base, *view.scan.tail_checkpoints()]
        if any(root_id in ids for ck in checkpoints for ids, _ in ck.garbage):
            return winner  # a compactor folded the losing record already
    return None


def make(parent: IndexState, name: str) -> Flow[str]:
    """Make scope ``name`` (or join the one another writer made first): its root ID.

    Create the root -> append ``scope`` to the parent -> read the parent's journal back: the
    first record of the name wins (4.8). A loser deletes its root, which it never wrote to.
    Cost: 3 requests (4 for a loser: its root's delete).
    """
    yield from maybe_compact(parent)
    header = {
        TAG_KEY: ROOT_TAG,
        CODEC_KEY: parent.alphabet.name,
        PARENT_KEY: parent.root_id,
        NAME_KEY: name,
    }
    root = yield from send(parent.backend.create(header, {}))
    try:
        yield from flush(parent, [Record(op="scope", name=name, target=root.id)])
    except IndexNotFoundError:
        # The parent is gone: no record landed that a reader could follow.
        yield from _delete_quietly(parent, root.id)
        raise
    deadline = parent.env.monotonic() + max(parent.settings.read_lag_seconds, 0.5)
    while True:
        view = yield from read_view(parent)
        if parent.gate.closed:  # the parent is being destroyed (4.7): the destroyer
            raise index_gone(parent)  # deletes what the record names
        bound, losers = yield from _lookup(parent, view, name)
        winner = _outcome(view, name, root.id, bound, losers)
        if winner is not None:
            break
        if parent.env.monotonic() >= deadline:
            raise ConcurrentChangeError(
                f"scope {name!r} was made and its record appended, but the journal of "
                f"{parent.root_id!r} does not show it (it may have been destroyed at once): "
                "try again"
            )
        yield Pause(0.05)
    if winner != root.id:
        yield from _delete_quietly(parent, root.id)
    return winner


def _delete_quietly(state: IndexState, object_id: str) -> Flow[None]:
    """Best effort: a failure leaves an object the next compaction collects (4.8)."""
    with contextlib.suppress(Exception):
        yield from send(state.backend.delete(object_id))


def unlink(parent: IndexState, name: str, root_id: str) -> Flow[None]:
    """Append ``unscope``: the parent no longer names that root for ``name``. Cost: 1."""
    yield from flush(parent, [Record(op="unscope", name=name, target=root_id)])


def _scope_roots(state: IndexState, entries: Sequence[Entry]) -> Flow[set[str]]:
    """Every scope root that ``entries`` name: in ``scope`` records (winners and losers) and
    in the scope directories of their checkpoints."""
    roots: set[str] = set()
    for entry in entries:
        for record in entry.records:
            if record.op == "scope":
                roots.add(record.target)
            if record.checkpoint is not None:
                ck = record.checkpoint
                with contextlib.suppress(PageGone, CorruptIndexError):
                    ck = yield from load_checkpoint(state, ck)
                roots.update(root for _, root in ck.scopes if root)
                for bucket in ck.scope_buckets:
                    with contextlib.suppress(PageGone, CorruptIndexError):
                        (content,) = yield from cached_pages(state, [bucket])
                        roots.update(bucket_pairs(content).values())
    roots.discard(state.root_id)
    return roots


def destroy_tree(state: IndexState, erase_items: bool) -> Flow[None]:
    """Destroy the index of ``state`` and every scope it names, depth first, each as
    ``destroy`` does (8.5). Cost: the sum over the tree (1 + as ``all()`` + ... each).
    """
    done: set[str] = set()

    def destroy_scopes(entries: Sequence[Entry]) -> Flow[None]:
        roots = yield from _scope_roots(state, entries)
        for root in sorted(roots - done):
            done.add(root)
            with contextlib.suppress(IndexNotFoundError):  # a loser's root, already deleted
                yield from destroy_tree(scope_state(state, root), erase_items)

    yield from destroy(state, erase_items, destroy_scopes)


def verify_tree(state: IndexState, repair: bool) -> Flow[VerifyReport]:
    """``verify`` of ``state``, then of every scope it names: a scope whose root is
    gone (its absence confirmed as for a child, 8.4) is reported, and with ``repair`` its
    entry is dropped (``unscope``), so that the name is made afresh by its next write."""
    checked = yield from verify(state, repair)
    report = checked.report
    if checked.view is None:  # a repair wrote since: what it wrote
        pairs = yield from listing(state)
    else:  # from the journal and buckets the check read (buckets None: gone, reported)
        pairs = directory(checked.view.overlay, checked.buckets)
    listed_by = state.env.monotonic()  # every root listed existed by now
    missing = yield from confirmed_absent(state, [root for _, root in pairs], listed_by)
    gone = set(missing)
    for name, root in pairs:
        if root in gone:
            report.missing_scopes.append(name)
            report.problems.append(f"scope {name!r}: its root {root!r} no longer exists")
            if repair:
                yield from unlink(state, name, root)
                report.repaired = True
            continue
        try:
            report.scopes[name] = yield from verify_tree(scope_state(state, root), repair)
        except NotFound:  # pragma: no cover - confirmed above; deleted since
            report.missing_scopes.append(name)
    return report
