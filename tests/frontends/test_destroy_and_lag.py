"""Issue 16, findings 3 and 4, over HTTP against the emulator, sync and async, both backends.

- ``destroy()`` racing concurrent ``create_child`` calls: once it returns, no child whose
  creation was acknowledged survives (nor its items), and a create that found its index gone
  left nothing behind (docs/design.md 8.5).
- ``verify(repair=True)`` on a server with read-after-write lag forgets no live child, and
  still forgets one truly deleted (a confirmed absence: docs/design.md 8.4).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from linkedthreads import (
    AsyncThreadIndex,
    IndexNotFoundError,
    IndexSettings,
    ThreadIndex,
)
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # some tests read threads with the SDK themselves

LAG = 0.5  # the emulator's read-after-write lag in these tests (seconds)
SETTINGS = IndexSettings(read_lag_seconds=1.0, commit_linger_seconds=0.0)


def content(kind: str) -> dict[str, Any]:
    """A child with one item or message: what ``erase_items`` must not leave behind."""
    if kind == "conversations":
        return {"items": [{"type": "message", "role": "user", "content": "keep me private"}]}
    return {"messages": [{"role": "user", "content": "keep me private"}]}


def every_object(emulator: Any, kind: str) -> list[str]:
    """Every thread or conversation the emulator stores (deleted conversations too)."""
    return sorted(emulator.stored_ids(kind))


def assert_nothing_left(emulator: Any, kind: str, acknowledged: set[str]) -> None:
    """No object of the index is alive, and no conversation keeps an item."""
    live = emulator.live_ids(kind)
    assert not (acknowledged & live), f"acknowledged children survived: {acknowledged & live}"
    assert live == set(), f"objects left behind: {live}"
    if kind == "conversations":
        kept = {c: emulator.retained_item_ids(c) for c in every_object(emulator, kind)}
        assert not any(kept.values()), {c: i for c, i in kept.items() if i}


# -- finding 3: destroy racing creates -----------------------------------------------------


def test_destroy_racing_creates_sync(emulator: Any, kind: str) -> None:
    client = emulator.client()
    shared = ThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
    own = [ThreadIndex.open(client, shared.root_id, settings=SETTINGS) for _ in range(3)]
    acknowledged: set[str] = set()
    refused: list[BaseException] = []
    lock = threading.Lock()

    def create(index: ThreadIndex) -> None:
        while True:
            try:
                child = index.create_child(**content(kind))
            except IndexNotFoundError as exc:
                with lock:
                    refused.append(exc)
                return
            with lock:
                acknowledged.add(child.id)

    workers = [threading.Thread(target=create, args=(ix,)) for ix in [shared] * 5 + own]
    for w in workers:
        w.start()
    while len(acknowledged) < 40:
        time.sleep(0.01)
    destroyer = ThreadIndex.open(client, shared.root_id, settings=SETTINGS)
    destroyer.destroy(erase_items=True)
    with lock:
        before_return = set(acknowledged)
    survivors = before_return & emulator.live_ids(kind)
    assert not survivors, f"{len(survivors)} acknowledged children survived destroy()"
    for w in workers:
        w.join(30)
    assert not any(w.is_alive() for w in workers)
    assert len(refused) == len(workers)  # each worker stopped on IndexNotFoundError
    assert acknowledged == before_return  # nothing acknowledged once destroy had returned
    assert_nothing_left(emulator, kind, acknowledged)
    for ix in [shared, destroyer, *own]:
        ix.close()


async def test_destroy_racing_creates_async(emulator: Any, kind: str) -> None:
    client = emulator.async_client()
    try:
        shared = await AsyncThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
        root = shared.root_id
        own = [await AsyncThreadIndex.open(client, root, settings=SETTINGS) for _ in range(3)]
        acknowledged: set[str] = set()
        refused: list[BaseException] = []

        async def create(index: AsyncThreadIndex) -> None:
            while True:
                try:
                    child = await index.create_child(**content(kind))
                except IndexNotFoundError as exc:
                    refused.append(exc)
                    return
                acknowledged.add(child.id)

        tasks = [asyncio.create_task(create(ix)) for ix in [shared] * 5 + own]
        while len(acknowledged) < 40:
            await asyncio.sleep(0.01)
        destroyer = await AsyncThreadIndex.open(client, shared.root_id, settings=SETTINGS)
        await destroyer.destroy(erase_items=True)
        before_return = set(acknowledged)
        survivors = before_return & emulator.live_ids(kind)
        assert not survivors, f"{len(survivors)} acknowledged children survived destroy()"
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert len(refused) == len(tasks)
        assert acknowledged == before_return
        assert_nothing_left(emulator, kind, acknowledged)
    finally:
        await client.close()


def test_a_create_whose_index_is_gone_deletes_what_it_made(emulator: Any, kind: str) -> None:
    """Another process destroyed the index (its root is gone: the append answers 404): the
    create deletes its object, items first, and raises IndexNotFoundError."""
    client = emulator.client()
    index = ThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
    index.create_child()
    other = emulator.client()  # "another process": a raw client deletes the root
    if kind == "conversations":
        other.conversations.delete(index.root_id)
    else:
        other.beta.threads.delete(index.root_id)
    with pytest.raises(IndexNotFoundError):
        index.create_child(**content(kind))
    live = emulator.live_ids(kind)
    assert len(live) == 1  # the child acknowledged before; the refused one is gone
    if kind == "conversations":
        made = [c for c in every_object(emulator, kind) if c not in live | {index.root_id}]
        assert [emulator.retained_item_ids(c) for c in made] == [[]]
    index.close()


def test_destroy_leaves_a_tombstone_that_other_writers_obey(emulator: Any, kind: str) -> None:
    """A destroy that stopped after its tombstone (a crash): a writer of this process that
    reads the journal refuses to write, before creating anything; destroy again finishes."""
    client = emulator.client()
    index = ThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
    index.create_children(3)
    from linkedthreads import _protocol as flows
    from linkedthreads._journal import Record, dump_records

    text = dump_records([Record(op=flows.END_OP)], "0123456789abcdef.0")
    if kind == "conversations":
        client.conversations.items.create(
            index.root_id, items=[{"type": "message", "role": "user", "content": text}]
        )
    else:
        client.beta.threads.messages.create(index.root_id, role="user", content=text)
    reader = ThreadIndex.open(client, index.root_id, settings=SETTINGS)
    assert len(list(reader.all())) == 3  # still readable
    emulator.reset_stats()
    with pytest.raises(IndexNotFoundError):
        reader.create_child()
    assert emulator.stats()["total"] == 0  # refused before any request
    reader.destroy(erase_items=True)
    assert_nothing_left(emulator, kind, set())
    index.close()
    reader.close()


# -- finding 4: repair under read-after-write lag --------------------------------------------


def test_repair_beside_creates_under_lag_forgets_no_live_child_sync(
    emulator: Any, kind: str
) -> None:
    client = emulator.client()
    creator = ThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
    repairer = ThreadIndex.open(client, creator.root_id, settings=SETTINGS)
    emulator.update_settings(read_after_write_lag_s=LAG)
    acknowledged: list[str] = []
    stop = threading.Event()

    def create() -> None:
        while not stop.is_set():
            acknowledged.append(creator.create_child().id)

    workers = [threading.Thread(target=create) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        reports = [repairer.verify(repair=True) for _ in range(3)]
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    assert [r.dangling for r in reports] == [[], [], []]
    time.sleep(LAG)  # let the newest pages show, for the check below
    assert set(acknowledged) <= set(ThreadIndex.open(client, creator.root_id).all())
    creator.close()
    repairer.close()


@pytest.mark.slow
async def test_repair_beside_creates_under_lag_forgets_no_live_child_async(
    emulator: Any, kind: str
) -> None:
    client = emulator.async_client()
    try:
        creator = await AsyncThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
        repairer = await AsyncThreadIndex.open(client, creator.root_id, settings=SETTINGS)
        emulator.update_settings(read_after_write_lag_s=LAG)
        acknowledged: list[str] = []
        stop = asyncio.Event()

        async def create() -> None:
            while not stop.is_set():
                acknowledged.append((await creator.create_child()).id)

        tasks = [asyncio.create_task(create()) for _ in range(3)]
        try:
            reports = [await repairer.verify(repair=True) for _ in range(3)]
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        assert [r.dangling for r in reports] == [[], [], []]
        await asyncio.sleep(LAG)
        fresh = await AsyncThreadIndex.open(client, creator.root_id)
        assert set(acknowledged) <= {i async for i in fresh.all()}
    finally:
        await client.close()


def test_repair_under_lag_still_forgets_a_child_truly_deleted(emulator: Any, kind: str) -> None:
    """Confirmed absence: a child deleted behind the index is forgotten, a child just made is
    not, and the repair waited for the bound only because a 404 came too soon."""
    emulator.update_settings(read_after_write_lag_s=LAG)
    client = emulator.client()
    index = ThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
    gone, kept = (c.id for c in index.create_children(2))
    if kind == "conversations":
        client.conversations.delete(gone)
    else:
        client.beta.threads.delete(gone)
    young = index.create_child().id  # answers 404 for LAG seconds: not dangling
    report = index.verify(repair=True)
    assert report.dangling == [gone]
    assert report.repaired
    time.sleep(LAG)
    assert list(ThreadIndex.open(client, index.root_id).all()) == [kept, young]
    index.close()


async def test_create_under_lag_reads_its_root_back(emulator: Any, kind: str) -> None:
    """``create`` reads its new root back (the dense probe) through the lag."""
    emulator.update_settings(read_after_write_lag_s=LAG)
    client = emulator.async_client()
    try:
        index = await AsyncThreadIndex.create(client, backend=kind, settings=SETTINGS)  # type: ignore[arg-type]
        assert index.codec == "dense"
    finally:
        await client.close()
