"""``AsyncThreadIndex``: the asyncio front end. Same API, guarantees and costs as
``ThreadIndex``; it drives the same protocol flows (``_protocol``) on an ``AsyncExecutor``.

Its length (over 500 lines) is the public API itself: one short method per operation, each
with the docstring that states its cost; the logic behind them is in ``_protocol``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from . import _protocol as flows
from ._choices import BackendName, Codec
from ._errors import IndexNotFoundError
from ._fetch import fetch_children, validate_fetch_concurrency, validate_fetch_ids
from ._frontend import (
    IndexProperties,
    empty_stats,
    index_state,
    make_executor,
    prepare_create,
    prepare_open,
)
from ._journal import Record
from ._protocol import Emit, Flow, IndexState, Pause, plans, scopes
from ._protocol.commit_queue import CommitQueue, Flush
from ._protocol.plans import Commit, Expect, Plan, PlanStep, PlanSteps, Ready
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
            step = flow.send(await executor.execute_many(step.requests, step.width))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def iterate_async(executor: AsyncExecutor, flow: Flow[None]) -> AsyncIterator[Any]:
    """Drive a streaming flow, yielding what it emits."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                for item in step.items:
                    yield item
                step = flow.send(None)
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                step = flow.send(None)
            else:
                step = flow.send(await executor.execute_many(step.requests, step.width))
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
    _commit: AsyncGroupCommit
    _parent: AsyncThreadIndex | None

    def __init__(
        self,
        executor: AsyncExecutor,
        core: IndexState | None,
        *,
        top: IndexState | None = None,
        parent: AsyncThreadIndex | None = None,
        name: str | None = None,
    ) -> None:
        self._executor = executor
        self._core = core
        top = top or core
        assert top is not None
        self._top = top
        self._parent = parent
        self._scope_name = name
        self._children: dict[str, AsyncThreadIndex] = {}
        self._resolving = asyncio.Lock()
        self._absent_seen = False
        self._commit = AsyncGroupCommit(
            lambda records: self._run(flows.flush(self._made(), records)),
            top.settings.commit_linger_seconds,
        )

    # -- scopes -------------------------------------------------------------------------------

    def scope(self, name: str) -> AsyncThreadIndex:
        """As ``ThreadIndex.scope``: the list named ``name`` under this index, made by its
        first write; a bad name raises ``InvalidScopeNameError``. Cost: none at the call."""
        scopes.validate_scope_name(name)
        known = self._children.pop(name, None)  # the same instance while recently used
        if known is None:
            known = AsyncThreadIndex(self._executor, None, top=self._top, parent=self, name=name)
        self._children[name] = known
        if len(self._children) > scopes.KEPT_SCOPES:
            self._children.pop(next(iter(self._children)))
        return known

    async def scopes(self) -> AsyncIterator[tuple[str, str]]:
        """As ``ThreadIndex.scopes``: ``(name, root ID)`` of every scope directly under this
        index; streams. Cost: 1 request + the buckets of the directory (read concurrently)."""
        core = await self._ready(create=False)
        if core is None:
            return
        async for pair in iterate_async(self._executor, scopes.list_scopes(core)):
            yield pair

    async def ensure(self) -> AsyncThreadIndex:
        """As ``ThreadIndex.ensure``: find this scope, or make it, now. Cost: 1 or 2
        (found), + 3 or 4 (made); none for an index opened or created."""
        await self._ready(create=True)
        return self

    @property
    def parent(self) -> AsyncThreadIndex | None:
        """The index this scope is under; None for an index opened or created."""
        return self._parent

    def _made(self) -> IndexState:
        if self._core is None:  # destroyed while this write was in its object requests
            raise IndexNotFoundError(f"scope {'/'.join(self.scope_path)!r} was destroyed")
        return self._core

    async def _ready(self, *, create: bool) -> IndexState | None:
        core = self._core
        if self._parent is None or (core is not None and not core.gate.closed):
            return core
        # A scope not known yet, or destroyed (by this process, or its end record was read):
        # look it up again (its next write makes it afresh).
        name = self._scope_name
        assert name is not None
        async with self._resolving:
            if self._core is not None and not self._core.gate.closed:
                return self._core
            self._core = None
            parent = await self._parent._ready(create=create)
            if parent is None:
                return None
            root: str | None = None
            if not (create and self._absent_seen):
                root = await self._run(scopes.find(parent, name))
            if root is None and create:
                root = await self._run(scopes.make(parent, name))
            if root is None:
                self._absent_seen = True
                return None
            self._core = scopes.scope_state(parent, root)
            return self._core

    async def _reading(self, read: Callable[[IndexState], Awaitable[T]], empty: T) -> T:
        """As ``ThreadIndex._reading``: a scope never written reads ``empty``; one destroyed
        elsewhere is looked up again, once."""
        for attempt in (0, 1):
            core = await self._ready(create=False)
            if core is None:
                return empty
            try:
                return await read(core)
            except IndexNotFoundError:
                if self._parent is None or attempt:
                    raise
                self._core = None
        raise AssertionError("unreachable")  # pragma: no cover

    def _validate_ids(self, child_ids: Iterable[str]) -> list[str]:
        core = self._core or self._top
        return flows.validate_ids(child_ids, core.backend.prefix, core.root_id)

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
        if self._core is not None:
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
        return await self._carry_out(
            plans.create_children(self._core or self._top, n, metadata, kwargs)
        )

    async def add(self, child_id: str) -> None:
        """List an object created elsewhere; adding a listed ID changes nothing. Cost: 1."""
        await self.add_many([child_id])

    async def add_many(self, child_ids: Iterable[str]) -> None:
        """List objects created elsewhere, in order. Cost: about 1 request per thousand IDs."""
        await self._carry_out(plans.add_ids(self._core or self._top, child_ids))

    async def remove(self, child_id: str) -> None:
        """Forget an ID, keeping the object; an unlisted ID changes nothing. Cost: 1."""
        await self.remove_many([child_id])

    async def remove_many(self, child_ids: Iterable[str]) -> None:
        """Forget many IDs. Cost: about 1 request per thousand IDs."""
        await self._carry_out(plans.remove_ids(self._core or self._top, child_ids))

    async def delete(self, child_id: str, *, erase_items: bool = False) -> None:
        """Delete the object, then forget it; an object already gone is just forgotten.

        ``erase_items=True`` first deletes its messages/items: deleting a conversation does
        not delete its items. Cost: 2 (+ 1 per 100 items and 1 per item when erasing).
        """
        await self.delete_many([child_id], erase_items=erase_items)

    async def delete_many(self, child_ids: Iterable[str], *, erase_items: bool = False) -> None:
        """Delete objects concurrently, then forget them. Cost: n + about n / ``bulk_batch``."""
        await self._carry_out(plans.delete_objects(self._core or self._top, child_ids, erase_items))

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
        A scope must be found or made first (``await scope.ensure()``): this method cannot
        wait.
        """
        from ._tracking import tracked_async_client  # with the SDK: only when tracking

        if self._core is None:
            raise IndexNotFoundError(
                f"scope {'/'.join(self.scope_path)!r} is not found or made yet: "
                "await its ensure() before track()"
            )
        return tracked_async_client(client, AsyncIndexRecorder(self._core, self._commit, self._run))

    # -- reading ------------------------------------------------------------------------------

    def all(self, *, newest_first: bool = False) -> AsyncIterator[str]:
        """Every listed ID, in the order added; streams, so memory does not grow with N.

        Cost: 1 + ceil(N / d) requests (+ 1 while the journal tail is 50 entries or more),
        ``read_concurrency`` at a time. ``newest_first=True`` streams the same list
        backwards, reading pages from the last one back (those this instance holds from its
        cache): 1 request + 1 a page of IDs consumed.
        """
        if self._core is not None or self._parent is None:
            return self._iterate(self._core, newest_first)
        return self._scoped_all(newest_first)

    def _iterate(self, core: IndexState | None, newest_first: bool) -> AsyncIterator[str]:
        assert core is not None
        if newest_first:
            return iterate_async(self._executor, flows.list_ids_newest_first(core))
        return iterate_async(self._executor, flows.list_ids(core))

    async def _scoped_all(self, newest_first: bool) -> AsyncIterator[str]:
        core = await self._ready(create=False)
        if core is None:
            return
        ids = self._iterate(core, newest_first)
        try:
            async for id_ in ids:
                yield id_
        finally:
            await ids.aclose()  # type: ignore[attr-defined]

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

        async def newest(core: IndexState) -> list[str]:
            out: list[str] = []
            ids = iterate_async(self._executor, flows.list_ids_newest_first(core, n))
            try:
                async for id_ in ids:
                    out.append(id_)
                    if len(out) == n:
                        break
            finally:
                await ids.aclose()  # type: ignore[attr-defined]
            return out

        return await self._reading(newest, out)

    async def fetch(self, child_ids: Iterable[str], *, concurrency: int | None = None) -> list[Any]:
        """As ``ThreadIndex.fetch``: each ID's SDK object in order (``None`` for a 404), read
        ``concurrency`` at a time (default 32, whatever ``read_concurrency`` is). Cost: 1
        request per distinct ID, in ceil(n / ``concurrency``) rounds: one for a screen of
        up to 32."""
        ids = validate_fetch_ids(child_ids, self._top.backend.prefix)
        width = validate_fetch_concurrency(concurrency)
        return await self._run(fetch_children(self._top, ids, width))

    def __aiter__(self) -> AsyncIterator[str]:
        """``async for child_id in index``: as ``all()``."""
        return self.all()

    async def count(self) -> int:
        """How many IDs are listed: ``len(index)`` of the sync API (``len`` cannot be awaited).

        Cost: 1 request; after removals of paged IDs by a process that held no page, a read
        of every page once, plus 1 to say what they hold, after which every reader's count
        costs 1 again (``IndexSettings.record_counts``). A scope never written: 0 (its lookup
        only)."""
        return await self._reading(lambda core: self._run(flows.count(core)), 0)

    async def contains(self, child_id: str) -> bool:
        """Whether ``child_id`` is listed: ``child_id in index`` of the sync API.

        Cost: 1 request when the journal decides, else pages are read until found."""
        return await self._reading(lambda core: self._run(flows.contains(core, child_id)), False)

    # -- maintenance --------------------------------------------------------------------------

    async def stats(self) -> IndexStats:
        """Pages, directories, journal tail and waiting removals. Cost: 1 request."""
        return await self._reading(lambda core: self._run(flows.stats(core)), empty_stats())

    async def compact(self, *, full: bool = False) -> None:
        """Write a checkpoint now; ``full=True`` also rewrites pages without removed IDs.

        Cost: 2 + pages written (+ every page read when ``full``); nothing in a scope never
        written.
        """
        core = await self._ready(create=False)
        if core is not None:
            await self._run(flows.compact(core, full))

    async def verify(self, *, repair: bool = False) -> VerifyReport:
        """Check every page and every child, and every scope; ``repair=True`` forgets
        dangling IDs (objects deleted elsewhere), rebuilds the pages and drops the entries of
        scopes whose root is gone. A child counts as deleted only when a read sent
        ``read_lag_seconds`` after the journal read that listed it answers 404; one that
        answered sooner is read again then (docs/design.md 8.4).
        Cost: 1 + pages + N (+ 1 per child that answered 404 too soon), + the scope
        directory's buckets (none below some 270 scopes), + one read per scope and each
        scope's own verify."""
        core = await self._ready(create=False)
        if core is None:
            return VerifyReport()
        return await self._run(scopes.verify_tree(core, repair))

    async def destroy(self, *, erase_items: bool = False) -> None:
        """Delete every child, every index object and the root: nothing of the index remains.

        Children whose creation was acknowledged before it returns are deleted too, and this
        process's writers of the index are refused from the start (docs/design.md 8.5).
        Every scope goes with it; of a scope, that scope, its scopes and its entry under the
        parent (nothing if it was never written).
        Cost: 1 (the ``end`` record) + as ``all()`` + the whole journal read + one delete
        per object + 1 (a last read; one more per round while other processes append); the
        same again for each scope; of a scope, + 1 (its ``unscope`` under the parent).
        """
        core = await self._ready(create=False)
        if core is None:
            return
        try:
            await self._run(scopes.destroy_tree(core, erase_items))
        except IndexNotFoundError:
            if self._parent is None:
                raise  # a scope's root already gone: its entry is dropped below
        if self._parent is not None:
            parent = await self._parent._ready(create=False)
            name = self._scope_name
            assert name is not None
            if parent is not None:
                await self._run(scopes.unlink(parent, name, core.root_id))
            self._core = None
            self._absent_seen = True

    async def _run(self, flow: Flow[T]) -> T:
        try:
            return await run_async(self._executor, flow)
        except IndexNotFoundError:
            if self._parent is not None:  # a scope destroyed elsewhere: look it up again
                self._core = None
            raise

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
        elif isinstance(step, Ready):
            return await self._ready(create=step.create)
        else:
            return await self._run(step)
        return None
