"""The same cases for ThreadIndex and AsyncThreadIndex (they drive the same protocol flows)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from linkedthreads import (
    AsyncThreadIndex,
    IndexNotFoundError,
    IndexSettings,
    InvalidIdError,
    MetadataError,
    NotAnIndexError,
    RetryPolicy,
    ThreadIndex,
)

from .front import Front


async def test_lifecycle(front: Front, kind: str) -> None:
    """Create, list in order, remove, delete, re-add, reopen, compact, destroy."""
    index = await front.create(backend=kind)
    made = [c.id for c in await front.call(index, "create_children", 5)]
    extra = await front.call(index, "create_child", metadata={"user": "1"})
    ids = [*made, extra.id]
    await front.call(index, "remove", ids[0])
    await front.call(index, "delete", ids[1])
    await front.call(index, "add", ids[0])
    expected = [*ids[2:], ids[0]]
    assert await front.listed(index) == expected
    assert await front.count(index) == len(expected)
    assert await front.contains(index, ids[0])
    assert not await front.contains(index, ids[1])
    await front.call(index, "compact", full=True)
    reopened = await front.open(index.root_id)
    assert await front.listed(reopened) == expected
    stats = await front.call(reopened, "stats")
    assert stats.children == len(expected)
    await front.call(index, "destroy")
    assert front.emulator.live_ids(kind) == set()


async def test_lone_calls_cost_two_requests(front: Front, kind: str) -> None:
    """create_child and delete each cost 2 requests, open 1."""
    no_compaction = IndexSettings(compact_every=99, first_compaction_after=99)
    index = await front.create(backend=kind, settings=no_compaction)
    before = front.emulator.stats()["total"]
    child = await front.call(index, "create_child")
    await front.call(index, "delete", child.id)
    await front.open(index.root_id)
    assert front.emulator.stats()["total"] - before == 5


async def test_concurrent_callers_share_appends(front: Front, kind: str) -> None:
    """Many create_child calls at once: all listed; in one event loop they share one append
    (the floor, design 7.1), allowing one more for a task that announced itself late."""
    index = await front.create(backend=kind)
    results = await asyncio.gather(*(front.call(index, "create_child") for _ in range(40)))
    ids = [r.id for r in results]
    assert sorted(await front.listed(index)) == sorted(ids)
    if front.mode == "async":
        route = (
            "POST /v1/threads/{thread_id}/messages"
            if kind == "threads"
            else "POST /v1/conversations/{conversation_id}/items"
        )
        assert 1 <= front.emulator.stats()["requests"][route] <= 2


async def test_a_count_that_read_the_pages_is_shared(front: Front, kind: str) -> None:
    """After a removal of a paged child by an instance that holds no page, the first count
    reads the pages and appends what they hold (design 4.5); the next instance's costs 1."""
    index = await front.create(backend=kind, codec="ascii")
    made = [c.id for c in await front.call(index, "create_children", index.page_capacity + 5)]
    await front.call(index, "compact")
    pages = (await front.call(index, "stats")).pages
    cold = await front.open(index.root_id)
    await front.call(cold, "remove", made[3])
    counts = []
    for _ in range(2):
        reader = await front.open(index.root_id)
        before = front.emulator.stats()["total"]
        assert await front.count(reader) == len(made) - 1
        counts.append(front.emulator.stats()["total"] - before)
    assert counts == [1 + pages + 1, 1]


async def test_errors(front: Front, kind: str) -> None:
    """Bad IDs, bad metadata, a missing root and a plain object: clear errors, nothing sent."""
    index = await front.create(backend=kind)
    before = front.emulator.stats()["total"]
    with pytest.raises(InvalidIdError):
        await front.call(index, "add", "")
    with pytest.raises(MetadataError, match="at most 15"):
        await front.call(index, "create_child", metadata={f"k{i}": "v" for i in range(16)})
    assert front.emulator.stats()["total"] == before
    missing = "conv_" + "1" * 48 if kind == "conversations" else "thread_" + "1" * 24
    with pytest.raises(IndexNotFoundError, match=missing):
        await front.open(missing)
    child = await front.call(index, "create_child")
    with pytest.raises(NotAnIndexError):
        await front.open(child.id)


async def test_faults_lose_nothing(front: Front, kind: str) -> None:
    """Under injected faults and lost answers the list is exact."""
    settings = IndexSettings(compact_every=5, retry=RetryPolicy.instant(attempts=12))
    index = await front.create(backend=kind, settings=settings)
    front.emulator.update_settings(fault_rate=0.15, lost_response_rate=0.1, retry_after_s=0, seed=3)
    ids = [(await front.call(index, "create_child")).id for _ in range(25)]
    await front.call(index, "delete_many", ids[:5])
    front.emulator.update_settings(fault_rate=0.0, lost_response_rate=0.0)
    assert await front.listed(await front.open(index.root_id)) == ids[5:]


async def test_erase_items(front: Front) -> None:
    """erase_items deletes a conversation's items before the conversation."""
    index = await front.create(backend="conversations")
    items = [{"type": "message", "role": "user", "content": "private"}]
    child = await front.call(index, "create_child", items=items)
    await front.call(index, "delete", child.id, erase_items=True)
    assert front.emulator.retained_item_ids(child.id) == []


async def test_verify_repairs_dangling(front: Front) -> None:
    """An object deleted elsewhere is found and forgotten by verify(repair=True)."""
    index = await front.create(backend="conversations")
    a, b = (c.id for c in await front.call(index, "create_children", 2))
    front.emulator.client().conversations.delete(a)
    report = await front.call(index, "verify", repair=True)
    assert report.dangling == [a]
    assert await front.listed(index) == [b]


async def test_async_index_refuses_a_sync_client(emulator: Any) -> None:
    """Each front end names the other when given the wrong kind of client."""
    with pytest.raises(TypeError, match="ThreadIndex"):
        await AsyncThreadIndex.create(emulator.client(), backend="conversations")
    with pytest.raises(TypeError, match="AsyncThreadIndex"):
        ThreadIndex.create(emulator.async_client(), backend="conversations")  # type: ignore[arg-type]


async def test_an_async_index_closes_with_async_with(emulator: Any) -> None:
    """``async with`` gives the index and calls ``aclose()``, which costs no request and
    leaves the index readable (the client stays the caller's)."""
    client = emulator.async_client()
    made = await AsyncThreadIndex.create(client, backend="conversations")
    child = await made.create_child()
    before = emulator.stats()["total"]
    async with await AsyncThreadIndex.open(client, made.root_id) as index:
        assert [i async for i in index.all()] == [child.id]
    assert emulator.stats()["total"] - before == 2  # open, all(): aclose sends nothing
    await made.aclose()
    await client.close()
