"""``fetch(ids)``: the children themselves for a screen of IDs, over HTTP on the emulator,
both backends, sync and async. Counted: requests (one per distinct ID) and reads in flight
at once (a barrier at the SDK's HTTP transport that every read of a round must reach);
never seconds. The rounds themselves (ceil(n / ``concurrency``), 32 by default) are the
flow's batches: ``tests/protocol/test_fetch_rounds.py``."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest

from linkedthreads import APIRequestError, IndexSettings, InvalidIdError, RetryPolicy

from .front import Front

CHILD_READ = re.compile(r"^/v1/(conversations|threads)/[^/]+$")


class Gate:
    """Holds each HTTP read of one object until ``n`` are in flight at once (a reusable
    barrier at the SDK's transport): a round that sends fewer together fails (after 10 s)
    instead of passing slowly. Closed (``n`` None) it lets everything through."""

    def __init__(self) -> None:
        self.n: int | None = None
        self._barrier: threading.Barrier | None = None
        self._arrived = 0
        self._event: asyncio.Event | None = None

    def hold(self, n: int) -> None:
        self.n, self._arrived = n, 0
        self._barrier = threading.Barrier(n, timeout=10)
        self._event = None

    def holds(self, request: httpx2.Request) -> bool:
        return (
            self.n is not None
            and request.method == "GET"
            and bool(CHILD_READ.match(request.url.path))
        )

    def wait(self) -> None:
        assert self._barrier is not None
        self._barrier.wait()

    async def wait_async(self) -> None:
        assert self.n is not None
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        self._arrived += 1
        if self._arrived % self.n == 0:
            self._event = None  # the next n wait on a new one
            event.set()
        await asyncio.wait_for(event.wait(), 10)


class GatedTransport(httpx2.HTTPTransport):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.gate.holds(request):
            self.gate.wait()
        return super().handle_request(request)


class AsyncGatedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.gate.holds(request):
            await self.gate.wait_async()
        return await super().handle_async_request(request)


class GatedFront(Front):
    """``Front`` whose SDK client's HTTP transport is gated (``gate.hold(n)``)."""

    def __init__(self, mode: str, emulator: Any) -> None:
        self.gate = Gate()
        if mode == "async":
            http: Any = openai.DefaultAsyncHttpxClient(transport=AsyncGatedTransport(self.gate))
        else:
            http = openai.DefaultHttpxClient(transport=GatedTransport(self.gate))
        super().__init__(mode, emulator, http_client=http)


@pytest.fixture(params=["sync", "async"])
async def surface(request: pytest.FixtureRequest, emulator: Any) -> AsyncIterator[GatedFront]:
    s = GatedFront(str(request.param), emulator)
    yield s
    await s.close()


@pytest.mark.parametrize("backend", ["conversations", "threads"])
@pytest.mark.parametrize("read_concurrency", [4, 8])
async def test_a_sidebar_is_the_listing_then_one_round_whatever_read_concurrency(
    surface: GatedFront, backend: str, read_concurrency: int
) -> None:
    """latest(20), then fetch: 20 requests in one round, all 20 in flight at once, whatever
    ``read_concurrency`` (page reads) is; the objects come in the order given, with their
    metadata and creation time."""
    writer = await surface.create(backend=backend)
    made = []
    for n in range(23):
        made.append(await surface.call(writer, "create_child", metadata={"title": f"chat {n}"}))
    settings = IndexSettings(read_concurrency=read_concurrency)
    reader = await surface.open(writer.root_id, settings=settings)
    page = await surface.call(reader, "latest", 20)
    assert page == [c.id for c in made][::-1][:20]
    before = reader.requests
    surface.gate.hold(20)
    objects = await surface.call(reader, "fetch", page)
    assert reader.requests - before == 20
    assert [o.id for o in objects] == page
    assert [o.metadata["title"] for o in objects] == [f"chat {n}" for n in range(22, 2, -1)]
    assert all(o.metadata["linkedthreads"] == f"in:{writer.root_id}" for o in objects)
    assert [o.created_at for o in objects] == [c.created_at for c in made][::-1][:20]
    assert type(objects[0]) is type(made[0])  # the SDK's own Conversation or Thread


@pytest.mark.parametrize("backend", ["conversations", "threads"])
async def test_a_child_deleted_meanwhile_is_none_and_repeats_are_read_once(
    surface: GatedFront, backend: str
) -> None:
    index = await surface.create(backend=backend)
    a, b, c = (await surface.call(index, "create_children", 3))[:3]
    await surface.call(index, "delete", b.id)
    before = index.requests
    objects = await surface.call(index, "fetch", [c.id, b.id, a.id, c.id])
    assert index.requests - before == 3
    assert [o.id if o is not None else None for o in objects] == [c.id, None, a.id, c.id]
    assert await surface.call(index, "fetch", []) == []
    assert index.requests - before == 3  # nothing to read: no request


@pytest.mark.parametrize("backend", ["conversations", "threads"])
async def test_bad_ids_are_refused_before_any_request(
    surface: GatedFront, backend: str, emulator: Any
) -> None:
    index = await surface.create(backend=backend)
    (child,) = await surface.call(index, "create_children", 1)
    other = "thread_abc" if backend == "conversations" else "conv_abc"
    before, sent = index.requests, emulator.stats()["total"]
    cases: list[tuple[Any, str]] = [
        (child.id, "not one string"),
        ([child.id, other], "not of this index's kind"),
        ([child.id, ""], "must not be empty"),
        ([child.id, 42], "must be a string"),
        ([child.id, child.id[:6] + "a/b"], "character of URLs"),
        (None, "pass a list of IDs"),
    ]
    for ids, message in cases:
        with pytest.raises(InvalidIdError, match=message):
            await surface.call(index, "fetch", ids)
    assert index.requests == before
    assert emulator.stats()["total"] == sent


@pytest.mark.parametrize("concurrency", [1, 8, 40])
async def test_concurrency_sets_the_rounds(surface: GatedFront, concurrency: int) -> None:
    """``concurrency=`` overrides the default of 32: ceil(n / concurrency) rounds of that
    many in flight at once, the same requests."""
    index = await surface.create(backend="conversations")
    made = [c.id for c in await surface.call(index, "create_children", 40)]
    before = index.requests
    surface.gate.hold(min(concurrency, 40))
    objects = await surface.call(index, "fetch", made, concurrency=concurrency)
    assert [o.id for o in objects] == made
    assert index.requests - before == 40


async def test_the_default_is_one_round_of_32(surface: GatedFront) -> None:
    index = await surface.create(backend="conversations")
    made = [c.id for c in await surface.call(index, "create_children", 40)]
    before = index.requests
    surface.gate.hold(8)  # 32 then 8 in flight: each passes in groups of 8
    objects = await surface.call(index, "fetch", made)
    assert [o.id for o in objects] == made
    assert index.requests - before == 40


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
async def test_a_bad_concurrency_is_refused_before_any_request(
    surface: GatedFront, emulator: Any, bad: Any
) -> None:
    index = await surface.create(backend="conversations")
    (child,) = await surface.call(index, "create_children", 1)
    sent = emulator.stats()["total"]
    with pytest.raises(ValueError, match="concurrency must be a positive integer"):
        await surface.call(index, "fetch", [child.id], concurrency=bad)
    assert emulator.stats()["total"] == sent


async def test_an_error_other_than_404_is_raised_and_later_rounds_are_not_sent(
    surface: GatedFront, emulator: Any
) -> None:
    index = await surface.create(backend="conversations")
    made = await surface.call(index, "create_children", 12)
    settings = IndexSettings(retry=RetryPolicy.none())
    reader = await surface.open(index.root_id, settings=settings)
    emulator.update_settings(fault_rate=1.0, fault_weights={"500": 1.0})
    before = reader.requests
    with pytest.raises(APIRequestError, match="HTTP 500"):
        await surface.call(reader, "fetch", [c.id for c in made], concurrency=4)
    assert reader.requests - before == 4  # the first round; the two after it never went


@pytest.mark.parametrize("backend", ["conversations", "threads"])
async def test_a_scope_fetches_its_page_with_no_lookup(surface: GatedFront, backend: str) -> None:
    """A user's sidebar: the scope's latest(n), then fetch: n requests, and none to find
    the scope again (a scope shares its root's backend and settings)."""
    root = await surface.create(backend=backend)
    user = root.scope("user-42")
    made = [await surface.call(user, "create_child", metadata={"title": f"t{n}"}) for n in range(5)]
    fresh = (await surface.open(root.root_id)).scope("user-42")
    before = fresh.requests
    objects = await surface.call(fresh, "fetch", [c.id for c in made][::-1])
    assert fresh.requests - before == 5
    assert [o.metadata["title"] for o in objects] == ["t4", "t3", "t2", "t1", "t0"]
    page = await surface.call(fresh, "latest", 3)
    assert [o.id for o in await surface.call(fresh, "fetch", page)] == page


async def test_on_a_lagging_server_a_child_too_new_to_be_shown_is_none(
    surface: GatedFront, emulator: Any
) -> None:
    """The documented choice: fetch does not wait for a server's read lag (a screen must not
    pause); a child the server does not show yet is None, like a deleted one, and is
    there once the lag is over (read_after_write_lag_s of the emulator)."""
    index = await surface.create(backend="conversations")
    emulator.update_settings(read_after_write_lag_s=600)
    new = await surface.call(index, "create_child")
    before = index.requests
    assert await surface.call(index, "fetch", [new.id]) == [None]
    assert index.requests - before == 1  # no second read, no pause
    emulator.update_settings(read_after_write_lag_s=0)
    assert [o.id for o in await surface.call(index, "fetch", [new.id])] == [new.id]


@pytest.mark.parametrize("backend", ["conversations", "threads"])
async def test_a_users_sidebar_from_nothing(surface: GatedFront, backend: str) -> None:
    """The issue's sidebar, in a process that holds nothing but the root ID: open, the
    user's 20 newest, their objects: one round of 20 after the listing, at the default
    settings; every request counted."""
    root = await surface.create(backend=backend)
    user = root.scope("user-42")
    made = [
        await surface.call(user, "create_child", metadata={"title": f"chat {n}"}) for n in range(25)
    ]
    fresh = await surface.open(root.root_id)
    sidebar = fresh.scope("user-42")
    opened = fresh.requests
    page = await surface.call(sidebar, "latest", 20)
    listing = sidebar.requests - opened
    surface.gate.hold(20)  # all 20 in flight at once, or the reads fail
    objects = await surface.call(sidebar, "fetch", page)
    assert listing <= 3  # the parent's journal (the lookup), the scope's (+ a page)
    assert sidebar.requests - opened - listing == 20
    assert [o.metadata["title"] for o in objects] == [f"chat {n}" for n in range(24, 4, -1)]
    assert [o.id for o in objects] == [c.id for c in made][::-1][:20]
