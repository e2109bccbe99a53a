"""What the index does not store: a child's creation time, metadata and first message or
item, read with the SDK, many at once in a thread pool.

Cost: 1 request a child (2 with its first message/item).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from linkedthreads import LinkedThreadsError
from linkedthreads._backends import backend_for_id, call, iter_entries, make_backend
from linkedthreads._objects import (
    ChildDetails,
    metadata_of,
    role_of,
    text_of,
)

if TYPE_CHECKING:
    import openai

__all__ = ["backend_of", "fetch", "fetch_many", "iter_entries", "retrieve"]

WORKERS = 8


def backend_of(child_id: str) -> str:
    """The backend of a child's ID (its prefix); anything else is taken for a thread, whose
    request then fails with the server's own answer."""
    try:
        return backend_for_id(child_id)
    except LinkedThreadsError:
        return "threads"


def fetch(client: openai.OpenAI, child_id: str, *, first_text: bool) -> ChildDetails:
    """One child's details. Cost: 1 request, 2 with ``first_text``."""
    import openai

    backend = make_backend(backend_of(child_id))
    try:
        obj = call(client, backend.retrieve(child_id)).raw
        first: list[Any] = (
            call(client, backend.entries_page(child_id, order="asc", after=None, limit=1))[0]
            if first_text
            else []
        )
    except openai.NotFoundError:
        return ChildDetails(child_id, exists=False, reads=1)
    info = ChildDetails(
        child_id, created_at=obj.created_at, metadata=metadata_of(obj), reads=2 if first_text else 1
    )
    if first:
        info.first_text = text_of(first[0])
        info.first_role = role_of(first[0])
    return info


def fetch_many(
    client: openai.OpenAI,
    ids: Iterable[str],
    *,
    first_text: bool = False,
    on_each: Callable[[int], None] | None = None,
    workers: int = WORKERS,
) -> Iterator[ChildDetails]:
    """Details of ``ids`` in their order, ``workers`` requests in flight at once.

    Memory stays bounded (a window of ``4 * workers`` pending reads); stopping the iteration
    (or Ctrl-C) cancels the reads not yet started and waits for those under way.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkedthreads-cli")
    window: deque[Future[ChildDetails]] = deque()
    it = iter(ids)
    try:
        for child_id in it:
            window.append(pool.submit(fetch, client, child_id, first_text=first_text))
            if len(window) >= 4 * workers:
                break
        while window:
            info = window.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                window.append(pool.submit(fetch, client, nxt, first_text=first_text))
            if on_each is not None:
                on_each(1)
            yield info
    finally:
        # Cancel the reads not started; wait for those in flight (at most ``workers``), so
        # that none outlives the client.
        pool.shutdown(wait=True, cancel_futures=True)


def retrieve(client: openai.OpenAI, child_id: str) -> Any:
    """The child as the SDK gives it. Cost: 1 request."""
    return call(client, make_backend(backend_of(child_id)).retrieve(child_id)).raw
