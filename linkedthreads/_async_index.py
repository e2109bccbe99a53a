"""``AsyncThreadIndex``: the asyncio front end. Same API, guarantees and costs as
``ThreadIndex``; it drives the same protocol flows (``_protocol``) on an ``AsyncExecutor``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from . import _protocol as flows
from ._choices import BackendName, Codec
from ._frontend import IndexProperties, index_state, make_executor, prepare_create, prepare_open
from ._journal import Record
from ._protocol import Emit, Flow, IndexState, Pause, plans
from ._protocol.commit_queue import CommitQueue, Flush
from ._protocol.plans import Commit, Expect, Plan, PlanStep, PlanSteps
from ._recording import AsyncIndexRecorder
from ._results import IndexStats, VerifyReport
from ._settings import IndexSettings
from ._transport import AsyncExecutor

if TYPE_CHECKING:  # the SDK is imported when a client is first used (start-up time)
    import openai

__all__ = ["AsyncThreadIndex"]

T = TypeVar("T")


async def run_async(executor: AsyncExecutor, flow: Flow[T]) -> T:
    """Drive a flow that does not stream."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                raise TypeError("a streaming flow needs iterate_async")
            if isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                step = flow.send(None)
                continue
            step = flow.send(await executor.execute_many(step.requests))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def iterate_async(executor: AsyncExecutor, flow: Flow[None]) -> AsyncIterator[str]:
    """Drive a streaming flow, yielding what it emits."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                for id_ in step.ids:
                    yield id_
                step = flow.send(None)
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                step = flow.send(None)
            else:
                step = flow.send(await executor.execute_many(step.requests))
    except StopIteration:
        return
    finally:
        flow.close()


class AsyncGroupCommit:
    """The group commit for asyncio: ``CommitQueue`` (``_protocol/commit_queue.py``) decides who
    appends what and when; this waits on a condition and appends with ``flush``."""

    def __init__(self, flush: Callable[[list[Record]], Awaitable[None]], linger: float) -> None:
        self._flush = flush
        self.queue = CommitQueue(linger)  # its decisions
        self._cond = asyncio.Condition()

    def expect(self, n: int) -> None:
        """``n`` callers are creating or deleting objects and will submit (negative: will
        not). A lingering caller sees it when next woken, or when its linger ends."""
        self.queue.expect(n)

    async def submit(self, records: list[Record], *, expected: int = 0) -> None:
        """Send ``records`` (in a shared append); ``expected``: what this caller announced."""
        async with self._cond:
            ticket = self.queue.submit(records, expected=expected)
            self._cond.notify_all()
            while (step := self.queue.next_step(ticket, time.monotonic())) is not None:
                if isinstance(step, Flush):
                    await self._append(step)
                elif step.seconds is None:
                    await self._cond.wait()
                else:
                    with contextlib.suppress(asyncio.TimeoutError):  # builtin from 3.11
                        await asyncio.wait_for(self._cond.wait(), step.seconds)
        if ticket.error is not None:
            raise ticket.error

    async def _append(self, flush: Flush) -> None:
        """Append ``flush``'s records with the condition's lock released."""
        error: BaseException | None = None
        self._cond.release()
        try:
            await self._flush(flush.records)
        except BaseException as exc:
            error = exc
        finally:
            await self._cond.acquire()
            self.queue.finish(flush, error)
            self._cond.notify_all()


class AsyncThreadIndex(IndexProperties):
    """The list of your threads or conversations, kept in the API itself, for
    ``openai.AsyncOpenAI``: ``ThreadIndex`` with every method awaited and ``all()`` an async
    iterator; the same guarantees and the same costs.

    Make one with ``await AsyncThreadIndex.create(client, backend=...)`` and keep
    ``root_id``; open it anywhere with ``await AsyncThreadIndex.open(client, root_id)``, or
    ``async with await AsyncThreadIndex.open(client, root_id) as index:``. Each method's
    docstring gives its cost in requests: N is the number of children, d the IDs a page holds
    (``page_capacity``). An instance may be shared by the tasks of an event loop; any number
    of processes may use one index at once (docs/design.md, section 8).
    """

    _executor: AsyncExecutor

    def __init__(self, executor: AsyncExecutor, core: IndexState) -> None:
        self._executor = executor
        self._core = core
        self._commit = AsyncGroupCommit(
            lambda records: self._run(flows.flush(core, records)),
            core.settings.commit_linger_seconds,
        )

    # -- construction ------------------------------------------------------------------------

    @classmethod
    async def create(
        cls,
        client: openai.AsyncOpenAI,
        *,
        backend: BackendName,
        metadata: Mapping[str, str] | None = None,
        codec: Codec = "auto",
        settings: IndexSettings | None = None,
    ) -> AsyncThreadIndex:
        """Create a new, empty index; keep its ``root_id``.

        ``codec="auto"`` probes whether the server keeps Unicode metadata intact and, if so,
        packs pages about 2.3x denser. ``metadata``: up to 13 keys of your own on the root.
        Cost: 2 requests.
        """
        be, user, settings = prepare_create(backend, metadata, codec, settings)
        executor = make_executor(AsyncExecutor, client, be, settings)
        flow = flows.create_root(be, user, codec, settings.read_lag_seconds)
        root_id, root_metadata = await run_async(executor, flow)
        return cls(executor, index_state(be, root_id, root_metadata, settings, created=True))

    @classmethod
    async def open(
        cls, client: openai.AsyncOpenAI, root_id: str, settings: IndexSettings | None = None
    ) -> AsyncThreadIndex:
        """Open an index from its root ID; the backend follows from the ID's prefix.

        Cost: 1 request.
        """
        be, settings = prepare_open(root_id, settings)
        executor = make_executor(AsyncExecutor, client, be, settings)
        metadata = await run_async(executor, flows.open_root(be, root_id))
        return cls(executor, index_state(be, root_id, metadata, settings))

    async def aclose(self) -> None:
        """Forget cached pages (the client is yours to close; there are no worker threads).
        Cost: none.

        ``async with await AsyncThreadIndex.open(client, root_id) as index:`` calls it."""
        self._core.cache.clear()

    async def __aenter__(self) -> AsyncThreadIndex:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- writing ------------------------------------------------------------------------------

    async def create_child(
        self, *, metadata: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Create a conversation or thread, list it, and return the SDK object.

        ``kwargs`` pass through to the SDK's create: first entries are ``items=[...]`` for a
        conversation and ``messages=[...]`` for a thread; the other backend's argument is
        refused with a ``LinkedThreadsError`` before any request. The child gets one metadata
        key, ``linkedthreads``, naming this index; so ``metadata`` may have at most 15 keys.
        Cost: 2 requests (+ about 0.02 amortised upkeep).
        """
        return (await self.create_children(1, metadata=metadata, **kwargs))[0]

    async def create_children(
        self, n: int, *, metadata: Mapping[str, str] | None = None, **kwargs: Any
    ) -> list[Any]:
        """Create ``n`` children concurrently and list them, in groups of ``bulk_batch``.

        Cost: n + about n / ``bulk_batch`` requests.
        """
        return await self._carry_out(plans.create_children(self._core, n, metadata, kwargs))

    async def add(self, child_id: str) -> None:
        """List an object created elsewhere; adding a listed ID changes nothing. Cost: 1."""
        await self.add_many([child_id])

    async def add_many(self, child_ids: Iterable[str]) -> None:
        """List objects created elsewhere, in order. Cost: about 1 request per thousand IDs."""
        await self._carry_out(plans.add_ids(self._core, child_ids))

    async def remove(self, child_id: str) -> None:
        """Forget an ID, keeping the object; an unlisted ID changes nothing. Cost: 1."""
        await self.remove_many([child_id])

    async def remove_many(self, child_ids: Iterable[str]) -> None:
        """Forget many IDs. Cost: about 1 request per thousand IDs."""
        await self._carry_out(plans.remove_ids(self._core, child_ids))

    async def delete(self, child_id: str, *, erase_items: bool = False) -> None:
        """Delete the object, then forget it; an object already gone is just forgotten.

        ``erase_items=True`` first deletes its messages/items: deleting a conversation does
        not delete its items. Cost: 2 (+ 1 per 100 items and 1 per item when erasing).
        """
        await self.delete_many([child_id], erase_items=erase_items)

    async def delete_many(self, child_ids: Iterable[str], *, erase_items: bool = False) -> None:
        """Delete objects concurrently, then forget them. Cost: n + about n / ``bulk_batch``."""
        await self._carry_out(plans.delete_objects(self._core, child_ids, erase_items))

    def track(self, client: openai.AsyncOpenAI) -> openai.AsyncOpenAI:
        """A copy of ``client`` on which every object of this index's kind that it creates is
        listed, and every one it deletes is forgotten; ``client`` itself is left untouched
        (e.g. for ``OpenAIConversationsSession(openai_client=...)`` of the OpenAI Agents SDK).

        Tracked: ``conversations.create`` (conversations), ``beta.threads.create`` and
        ``create_and_run`` (threads; streamed too), and the deletes. A tracked create returns
        only once its ``add`` record is appended, as ``create_child`` does; if the append
        fails after the retry policy, it raises ``TrackingError`` naming the created ID.
        Works through the SDK's HTTP client (``with_options(http_client=...)``), sharing
        ``client``'s connections; the index's own requests are never tracked.
        Cost: a create or delete costs its request + 1 append (concurrent calls share
        appends: about 1 + 1/P requests an object for P at once); any other request, nothing.
        """
        from ._tracking import tracked_async_client  # with the SDK: only when tracking

        return tracked_async_client(client, AsyncIndexRecorder(self._core, self._commit, self._run))

    # -- reading ------------------------------------------------------------------------------

    def all(self, *, newest_first: bool = False) -> AsyncIterator[str]:
        """Every listed ID, in the order added; streams, so memory does not grow with N.

        Cost: 1 + ceil(N / d) requests (+ 1 while the journal tail is 50 entries or more),
        ``read_concurrency`` at a time. ``newest_first=True`` streams the same list
        backwards, reading pages from the last one back (those this instance holds from its
        cache): 1 request + 1 a page of IDs consumed.
        """
        if newest_first:
            return iterate_async(self._executor, flows.list_ids_newest_first(self._core))
        return iterate_async(self._executor, flows.list_ids(self._core))

    async def latest(self, n: int) -> list[str]:
        """The ``n`` newest listed IDs, newest first (the end of ``all()``, backwards).

        Cost: 1 request (the journal's tail holds the newest IDs) + the pages holding the
        rest not in this instance's cache: 2 requests for n up to a page (d), whatever N.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, not {n!r}")
        out: list[str] = []
        if n == 0:
            return out
        ids = iterate_async(self._executor, flows.list_ids_newest_first(self._core, n))
        try:
            async for id_ in ids:
                out.append(id_)
                if len(out) == n:
                    break
        finally:
            await ids.aclose()  # type: ignore[attr-defined]
        return out

    def __aiter__(self) -> AsyncIterator[str]:
        """``async for child_id in index``: as ``all()``."""
        return self.all()

    async def count(self) -> int:
        """How many IDs are listed: ``len(index)`` of the sync API (``len`` cannot be awaited).

        Cost: 1 request; after removals of paged IDs by a process that held no page, a read
        of every page once, plus 1 to say what they hold, after which every reader's count
        costs 1 again (``IndexSettings.record_counts``)."""
        return await self._run(flows.count(self._core))

    async def contains(self, child_id: str) -> bool:
        """Whether ``child_id`` is listed: ``child_id in index`` of the sync API.

        Cost: 1 request when the journal decides, else pages are read until found."""
        return await self._run(flows.contains(self._core, child_id))

    # -- maintenance --------------------------------------------------------------------------

    async def stats(self) -> IndexStats:
        """Pages, directories, journal tail and waiting removals. Cost: 1 request."""
        return await self._run(flows.stats(self._core))

    async def compact(self, *, full: bool = False) -> None:
        """Write a checkpoint now; ``full=True`` also rewrites pages without removed IDs.

        Cost: 2 + pages written (+ every page read when ``full``).
        """
        await self._run(flows.compact(self._core, full))

    async def verify(self, *, repair: bool = False) -> VerifyReport:
        """Check every page and every child; ``repair=True`` forgets dangling IDs (objects
        deleted elsewhere) and rebuilds the pages. A child counts as deleted only when a read
        sent ``read_lag_seconds`` after the journal read that listed it answers 404; one
        that answered sooner is read again then (docs/design.md 8.4).
        Cost: 1 + pages + N (+ 1 per child that answered 404 too soon)."""
        return await self._run(flows.verify(self._core, repair))

    async def destroy(self, *, erase_items: bool = False) -> None:
        """Delete every child, every index object and the root: nothing of the index remains.

        Children whose creation was acknowledged before it returns are deleted too, and this
        process's writers of the index are refused from the start (docs/design.md 8.5).
        Cost: 1 (the ``end`` record) + as ``all()`` + the whole journal read + one delete
        per object + 1 (a last read; one more per round while other processes append).
        """
        await self._run(flows.destroy(self._core, erase_items))

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(self._executor, flow)

    async def _carry_out(self, plan: Plan[T]) -> T:
        """Carry out a write's plan (``_plans.py``): its flows, announcements and appends."""
        steps = PlanSteps(plan)
        while (step := steps.next()) is not None:
            try:
                steps.reply(await self._perform(step))
            except BaseException as exc:
                steps.fail(exc)
        return steps.result

    async def _perform(self, step: PlanStep) -> Any:
        if isinstance(step, Expect):
            self._commit.expect(step.n)
        elif isinstance(step, Commit):
            await self._commit.submit(step.records, expected=step.expected)
        else:
            return await self._run(step)
        return None
