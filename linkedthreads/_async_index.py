"""``AsyncThreadIndex``: the asyncio front end. Same API, guarantees and costs as
``ThreadIndex``; it drives the same protocol flows (``_protocol``) on an ``AsyncExecutor``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from . import _protocol as flows
from ._backends import Backend
from ._errors import IndexNotFoundError
from ._frontend import IndexProperties, prepare_create, prepare_open
from ._journal import Record
from ._protocol import Emit, Flow, IndexState, Pause
from ._recording import AsyncIndexRecorder
from ._results import IndexStats, VerifyReport
from ._settings import IndexSettings
from ._transport import AsyncExecutor

if TYPE_CHECKING:  # the SDK is imported when a client is first used (start-up time)
    import openai

__all__ = ["AsyncThreadIndex"]

T = TypeVar("T")
Codec = Literal["auto", "ascii", "dense"]
BackendChoice = Literal["threads", "conversations"]


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
    """The asyncio twin of ``GroupCommit``: the first caller sends at once; callers that
    arrive while an append is in flight go together in the next one."""

    def __init__(self, flush: Callable[[list[Record]], Awaitable[None]], linger: float) -> None:
        self._flush = flush
        self._linger = linger
        self._cond = asyncio.Condition()
        self._queue: list[tuple[list[Record], dict[str, Any]]] = []
        self._busy = False
        self._expected = 0

    def expect(self, n: int) -> None:
        """``n`` callers are creating or deleting objects and will submit (negative: will not)."""
        self._expected += n

    async def submit(self, records: list[Record], *, expected: int = 0) -> None:
        ticket: dict[str, Any] = {}
        async with self._cond:
            self._expected -= expected
            self._queue.append((records, ticket))
            self._cond.notify_all()
            while "done" not in ticket:
                if self._busy:
                    await self._cond.wait()
                    continue
                self._busy = True
                deadline = time.monotonic() + self._linger
                while self._expected > 0 and (left := deadline - time.monotonic()) > 0:
                    try:
                        await asyncio.wait_for(self._cond.wait(), left)
                    except asyncio.TimeoutError:  # TimeoutError from Python 3.11
                        break
                batch, self._queue = self._queue, []
                self._cond.release()
                error: BaseException | None = None
                try:
                    await self._flush([r for recs, _ in batch for r in recs])
                except BaseException as exc:
                    error = exc
                finally:
                    await self._cond.acquire()
                    self._busy = False
                    for _, t in batch:
                        t["done"] = True
                        t["error"] = error
                    self._cond.notify_all()
        if ticket["error"] is not None:
            raise ticket["error"]


class AsyncThreadIndex(IndexProperties):
    """``ThreadIndex`` for ``openai.AsyncOpenAI``: every method is awaited, ``all()`` is an
    async iterator. See ``ThreadIndex`` for what each method does and costs."""

    _executor: AsyncExecutor

    def __init__(self, executor: AsyncExecutor, core: IndexState) -> None:
        self._executor = executor
        self._core = core
        self._commit = AsyncGroupCommit(
            lambda records: self._run(flows.flush(core, records)),
            core.settings.commit_linger_seconds,
        )

    @classmethod
    async def create(
        cls,
        client: openai.AsyncOpenAI,
        *,
        backend: BackendChoice,
        metadata: Mapping[str, str] | None = None,
        codec: Codec = "auto",
        settings: IndexSettings | None = None,
    ) -> AsyncThreadIndex:
        """Create a new, empty index; keep its ``root_id``. Cost: 2 requests."""
        be, user, settings = prepare_create(backend, metadata, codec, settings)
        executor = _executor(client, be, settings)
        root_id, root_metadata = await run_async(
            executor, flows.create_root(be, user, codec, settings.read_lag_seconds)
        )
        return cls(
            executor,
            IndexState(
                be, root_id, flows.alphabet_for_root(root_id, root_metadata), settings, created=True
            ),
        )

    @classmethod
    async def open(
        cls, client: openai.AsyncOpenAI, root_id: str, settings: IndexSettings | None = None
    ) -> AsyncThreadIndex:
        """Open an index from its root ID. Cost: 1 request."""
        be, settings = prepare_open(root_id, settings)
        executor = _executor(client, be, settings)
        metadata = await run_async(executor, flows.open_root(be, root_id))
        return cls(
            executor, IndexState(be, root_id, flows.alphabet_for_root(root_id, metadata), settings)
        )

    async def aclose(self) -> None:
        """Release what the index holds (the client is yours to close). Cost: none.

        ``async with await AsyncThreadIndex.open(client, root_id) as index:`` calls it."""
        self._core.cache.clear()

    async def __aenter__(self) -> AsyncThreadIndex:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create_child(
        self, *, metadata: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """As ``ThreadIndex.create_child``: ``items=[...]`` for a conversation,
        ``messages=[...]`` for a thread (the other is refused before any request). Cost: 2."""
        return (await self.create_children(1, metadata=metadata, **kwargs))[0]

    async def create_children(
        self, n: int, *, metadata: Mapping[str, str] | None = None, **kwargs: Any
    ) -> list[Any]:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, not {n!r}")
        user = flows.validate_user_metadata(metadata, flows.CHILD_USER_KEYS)
        self._core.backend.check_create_kwargs(kwargs)
        out: list[Any] = []
        step = self._core.settings.bulk_batch
        for start in range(0, n, step):
            count = min(step, n - start)
            self._commit.expect(count)
            try:
                made, error = await self._run(
                    flows.create_children(self._core, user, kwargs, count)
                )
            except BaseException:
                self._commit.expect(-count)
                raise
            records = [Record(op="add", ids=tuple(c.id for c in made), new=True)] if made else []
            try:
                await self._commit.submit(records, expected=count)
            except IndexNotFoundError:
                # The index is gone: what this call made is listed nowhere (8.5).
                ids = [c.id for c in made]
                await self._run(flows.discard_children(self._core, ids, kwargs))
                raise
            out.extend(c.raw for c in made)
            if error is not None:
                raise error
        return out

    async def add(self, child_id: str) -> None:
        await self.add_many([child_id])

    async def add_many(self, child_ids: Iterable[str]) -> None:
        ids = flows.validate_ids(child_ids, self._core.backend.prefix, self._core.root_id)
        if ids:
            await self._run(flows.maybe_compact(self._core))
            await self._commit.submit([Record(op="add", ids=tuple(ids))])

    async def remove(self, child_id: str) -> None:
        await self.remove_many([child_id])

    async def remove_many(self, child_ids: Iterable[str]) -> None:
        ids = flows.validate_ids(child_ids, self._core.backend.prefix, self._core.root_id)
        if ids:
            await self._run(flows.maybe_compact(self._core))
            await self._commit.submit([Record(op="rm", ids=tuple(ids))])

    async def delete(self, child_id: str, *, erase_items: bool = False) -> None:
        await self.delete_many([child_id], erase_items=erase_items)

    async def delete_many(self, child_ids: Iterable[str], *, erase_items: bool = False) -> None:
        ids = flows.validate_ids(child_ids, self._core.backend.prefix, self._core.root_id)
        step = self._core.settings.bulk_batch
        for start in range(0, len(ids), step):
            batch = ids[start : start + step]
            self._commit.expect(len(batch))
            try:
                done, error = await self._run(flows.delete_objects(self._core, batch, erase_items))
            except BaseException:
                self._commit.expect(-len(batch))
                raise
            records = [Record(op="rm", ids=tuple(done))] if done else []
            await self._commit.submit(records, expected=len(batch))
            if error is not None:
                raise error

    def track(self, client: openai.AsyncOpenAI) -> openai.AsyncOpenAI:
        """``ThreadIndex.track`` for ``openai.AsyncOpenAI``: a copy of ``client`` whose creates
        are listed and deletes forgotten (e.g. ``OpenAIConversationsSession(openai_client=...)``
        of the OpenAI Agents SDK). Cost: a create or delete + 1 append (about 1 + 1/P requests
        an object for P concurrent calls); any other request, nothing."""
        from ._tracking import tracked_async_client  # with the SDK: only when tracking

        return tracked_async_client(client, AsyncIndexRecorder(self._core, self._commit, self._run))

    def all(self, *, newest_first: bool = False) -> AsyncIterator[str]:
        """As ``ThreadIndex.all``: 1 + ceil(N / d) requests; ``newest_first=True``: 1 + 1 a
        page of IDs consumed (pages this instance holds come from its cache)."""
        if newest_first:
            return iterate_async(self._executor, flows.list_ids_newest_first(self._core))
        return iterate_async(self._executor, flows.list_ids(self._core))

    async def latest(self, n: int) -> list[str]:
        """The ``n`` newest listed IDs, newest first. Cost: 2 requests for n up to a page."""
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
        return self.all()

    async def count(self) -> int:
        """``len(index)`` of the sync API (``len`` cannot be awaited)."""
        return await self._run(flows.count(self._core))

    async def contains(self, child_id: str) -> bool:
        """``child_id in index`` of the sync API."""
        return await self._run(flows.contains(self._core, child_id))

    async def stats(self) -> IndexStats:
        return await self._run(flows.stats(self._core))

    async def compact(self, *, full: bool = False) -> None:
        await self._run(flows.compact(self._core, full))

    async def verify(self, *, repair: bool = False) -> VerifyReport:
        return await self._run(flows.verify(self._core, repair))

    async def destroy(self, *, erase_items: bool = False) -> None:
        await self._run(flows.destroy(self._core, erase_items))

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(self._executor, flow)


def _executor(
    client: openai.AsyncOpenAI, backend: Backend, settings: IndexSettings
) -> AsyncExecutor:
    import openai

    if not isinstance(client, openai.AsyncOpenAI):
        raise TypeError(
            f"client must be an openai.AsyncOpenAI, not {type(client).__name__}"
            + (" (use ThreadIndex with OpenAI)" if isinstance(client, openai.OpenAI) else "")
        )
    return AsyncExecutor(
        client, backend, settings.retry, max(settings.read_concurrency, settings.write_concurrency)
    )
