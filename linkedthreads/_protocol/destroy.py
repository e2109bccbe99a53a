"""Destroying an index so that no acknowledged child survives (docs/design.md 8.5)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from linkedthreads._errors import CorruptIndexError, IndexNotFoundError
from linkedthreads._journal import Checkpoint, Entry, Record, dump_records, written_by_append
from linkedthreads._overlay import Overlay, VisibleIds
from linkedthreads._transport import NotFound

from .children import delete_objects
from .constants import DESTROY_ROUNDS, END_OP
from .flow import Flow, PageGone, Pause, first_error, send, send_all
from .reading import load_checkpoint, page_list, read_journal, read_pages, read_view
from .state import IndexState
from .writing import discard_written


def destroy(
    state: IndexState,
    erase_items: bool,
    destroy_scopes: Callable[[Sequence[Entry]], Flow[None]] | None = None,
) -> Flow[None]:
    """Delete every child, every page and directory any checkpoint named, then the root, so
    that no child whose creation was acknowledged survives (docs/design.md 8.5):

    1. close this process's appends to the root and append the tombstone (``end``);
    2. wait for this process's appends in flight, then list the children and delete them;
    3. read the whole journal: delete what it lists that step 2 did not (added meanwhile),
       and every page and directory a checkpoint named;
    4. read again after the last entry seen (or, erasing, the entries left), deleting what
       new entries list, until a read shows nothing new; then delete the root.

    ``destroy_scopes`` destroys the scopes the entries of each round name (4.8), before the
    root that lists them goes.
    """
    gate = state.gate
    was_closed = gate.close()
    request = state.env.nonce()
    end = dump_records([Record(op=END_OP)], f"{request}.0")
    try:
        yield from send(state.backend.append(state.root_id, [end], written_by_append(request)))
    except NotFound:
        raise IndexNotFoundError(f"no index root {state.root_id!r}: it does not exist") from None
    except BaseException:
        if not was_closed:
            gate.reopen()
        raise
    while gate.appending:  # this process's appends still in flight land before we read
        yield Pause(0.01)
    # Checkpoints of this instance no append will carry now.
    yield from discard_written(state, state.take_pending())
    deleted: set[str] = set()
    children = yield from _listed_for_destroy(state)
    yield from _delete_children(state, children, erase_items, deleted)
    # The journal alone states the list (6.1); folding it whole catches adds that landed
    # after the listing above, and names every page any checkpoint ever referenced.
    replay = Overlay(Checkpoint(upto=None))
    index_objects: set[str] = set()
    removed: set[str] = set()
    try:
        entries = yield from read_journal(state)
    except NotFound:  # a concurrent destroy deleted the root
        return
    read_ids = [e.id for e in entries]
    for rounds in range(1, DESTROY_ROUNDS + 1):
        replay.apply_entries(entries)
        yield from _delete_children(state, list(replay.extra), erase_items, deleted)
        if destroy_scopes is not None:
            yield from destroy_scopes(entries)
        index_objects |= yield from _index_objects(state, entries)
        fresh = sorted(index_objects - removed - deleted)
        outcomes = yield from send_all([state.backend.delete(o) for o in fresh])
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
        removed.update(fresh)
        if erase_items:
            yield from _erase_journal_entries(state, [e.id for e in entries])
        if rounds == DESTROY_ROUNDS:  # others keep appending: stop here (8.5 says what then)
            break
        try:
            if erase_items:  # what is left of the journal: only entries appended since
                entries = [e for e in (yield from read_journal(state)) if e.id not in read_ids]
            else:
                entries = yield from read_journal(state, after=read_ids[-1] if read_ids else None)
        except NotFound:  # a concurrent destroy deleted the root
            return
        if not entries:
            break
        read_ids.extend(e.id for e in entries)
    with contextlib.suppress(NotFound):
        yield from send(state.backend.delete(state.root_id))
    gate.finish()


def _listed_for_destroy(state: IndexState) -> Flow[list[str]]:
    """Every listed ID (as ``all()``), or nothing if pages are gone (a destroy that crashed
    after deleting them): the whole journal, folded next, still names every child."""
    try:
        view = yield from read_view(state)
        pages = yield from page_list(state, view.base)
        visible = VisibleIds(view.overlay)
        ids: list[str] = []
        for content in (yield from read_pages(state, pages)):
            ids.extend(visible.page(content))
        return ids + visible.finish()
    except (PageGone, CorruptIndexError):
        return []


def _delete_children(
    state: IndexState, ids: Sequence[str], erase_items: bool, deleted: set[str]
) -> Flow[None]:
    todo = [i for i in ids if i not in deleted]
    batch = state.settings.bulk_batch
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        _, error = yield from delete_objects(state, chunk, erase_items, upkeep=False)
        if error is not None:
            raise error
        deleted.update(chunk)


def _index_objects(state: IndexState, entries: Sequence[Entry]) -> Flow[set[str]]:
    """Every page and directory the checkpoints of ``entries`` name (as current, superseded
    or retired), with the pages the directories list."""
    objects: set[str] = set()
    dirs: set[str] = set()
    for entry in entries:
        for record in entry.records:
            if record.checkpoint is not None:
                ck = record.checkpoint
                objects |= ck.referenced()
                with contextlib.suppress(PageGone, CorruptIndexError):
                    # Gone: collected, with the pages only it named (7.3).
                    ck = yield from load_checkpoint(state, ck)
                objects |= ck.referenced()
                dirs |= set(ck.dirs)
                for ids, _ in ck.garbage:
                    objects.update(ids)
    for d in sorted(dirs):
        try:
            (content,) = yield from read_pages(state, [d])
            objects.update(content)
        except (PageGone, CorruptIndexError):
            pass
    return objects


def _erase_journal_entries(state: IndexState, entry_ids: Sequence[str]) -> Flow[None]:
    step = state.settings.write_concurrency
    for start in range(0, len(entry_ids), step):
        outcomes = yield from send_all(
            [state.backend.delete_entry(state.root_id, e) for e in entry_ids[start : start + step]]
        )
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
