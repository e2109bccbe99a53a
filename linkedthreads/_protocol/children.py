"""Creating and deleting children (the objects an index lists) and erasing their entries."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from linkedthreads._backends import Container
from linkedthreads._errors import LinkedThreadsError
from linkedthreads._transport import NotFound

from .compaction import maybe_compact
from .flow import Flow, first_error, send, send_all
from .state import IndexState, index_gone
from .writing import discard_written


def create_children(
    state: IndexState, metadata: Mapping[str, str], kwargs: Mapping[str, Any], n: int
) -> Flow[tuple[list[Container], BaseException | None]]:
    """Create ``n`` objects concurrently (after any due compaction, so that the crash window
    is the creates alone)."""
    yield from refuse_if_closed(state)
    yield from maybe_compact(state)
    yield from refuse_if_closed(state)  # its read may have met ``end``
    md = state.child_metadata(metadata)
    outcomes = yield from send_all([state.backend.create(md, kwargs) for _ in range(n)])
    made = [o.value for o in outcomes if o.error is None]
    return made, first_error(outcomes)


def refuse_if_closed(state: IndexState) -> Flow[None]:
    """``IndexNotFoundError`` before any create once this process destroys the index or met
    its ``end`` (4.7); pages planned for it are deleted."""
    if state.gate.closed:
        yield from discard_written(state, state.take_pending())
        raise index_gone(state)


def discard_children(
    state: IndexState, ids: Sequence[str], kwargs: Mapping[str, Any]
) -> Flow[None]:
    """Delete objects a create made for an index that turned out to be gone, with the items
    or messages it gave them (a deleted conversation keeps its items), so that a refused
    ``create_child`` leaves nothing behind (docs/design.md 8.5). Best effort."""
    if "items" in kwargs or "messages" in kwargs:
        for id_ in ids:
            with contextlib.suppress(LinkedThreadsError):
                yield from erase_entries(state, id_)
    yield from send_all([state.backend.delete(i) for i in ids])


def delete_objects(
    state: IndexState, ids: Sequence[str], erase_items: bool, upkeep: bool = True
) -> Flow[tuple[list[str], BaseException | None]]:
    """Delete objects concurrently (404 counts as deleted); erase their entries first if asked."""
    if upkeep:
        yield from maybe_compact(state)
    if erase_items:
        for id_ in ids:
            yield from erase_entries(state, id_)
    outcomes = yield from send_all([state.backend.delete(i) for i in ids])
    done = [
        i
        for i, o in zip(ids, outcomes, strict=True)
        if o.error is None or isinstance(o.error, NotFound)
    ]
    return done, first_error(outcomes, ignore_not_found=True)


def erase_entries(state: IndexState, container_id: str) -> Flow[None]:
    """Delete every message/item of a container (deleting a conversation keeps its items)."""
    entry_ids: list[str] = []
    after: str | None = None
    while True:
        try:
            page, more = yield from send(
                state.backend.list_entries(container_id, order="asc", after=after)
            )
        except NotFound:
            return
        entry_ids.extend(e.id for e in page)
        if not more or not page:
            break
        after = page[-1].id
    step = state.settings.write_concurrency
    for start in range(0, len(entry_ids), step):
        outcomes = yield from send_all(
            [state.backend.delete_entry(container_id, e) for e in entry_ids[start : start + step]]
        )
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
