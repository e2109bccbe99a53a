"""``ThreadIndex``: the synchronous front end. It validates arguments and drives the
protocol flows of ``_protocol`` on a ``SyncExecutor``; it holds no protocol logic."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from . import _protocol as flows
from ._errors import IndexNotFoundError
from ._frontend import IndexProperties, prepare_create, prepare_open
from ._journal import Record
from ._protocol import Emit, Flow, IndexState, Pause
from ._recording import IndexRecorder
from ._results import IndexStats, VerifyReport
from ._settings import IndexSettings
from ._transport import SyncExecutor

if TYPE_CHECKING:  # the SDK is imported when a client is first used (start-up time)
    import openai

__all__ = ["ThreadIndex"]

T = TypeVar("T")
Codec = Literal["auto", "ascii", "dense"]
BackendChoice = Literal["threads", "conversations"]


def run_sync(executor: SyncExecutor, flow: Flow[T]) -> T:
    """Drive a flow that does not stream: send each batch, hand back its outcomes."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                raise TypeError("a streaming flow needs iterate_sync")
            if isinstance(step, Pause):
                time.sleep(step.seconds)
                step = flow.send(None)
                continue
            step = flow.send(executor.execute_many(step.requests))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def iterate_sync(executor: SyncExecutor, flow: Flow[None]) -> Iterator[str]:
    """Drive a streaming flow, yielding what it emits."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                yield from step.ids
                step = flow.send(None)
            elif isinstance(step, Pause):
                time.sleep(step.seconds)
                step = flow.send(None)
            else:
                step = flow.send(executor.execute_many(step.requests))
    except StopIteration:
        return
    finally:
        flow.close()


class GroupCommit:
    """Concurrent callers' records go out together, in as few appends as possible.

    The first caller sends at once (a lone call costs one request); callers that arrive
    while an append is in flight are sent together by the next one.
    """

    def __init__(self, flush: Callable[[list[Record]], None], linger: float) -> None:
        self._flush = flush
        self._linger = linger
        self._cond = threading.Condition()
        self._queue: list[tuple[list[Record], dict[str, Any]]] = []
        self._busy = False
        self._expected = 0

    def expect(self, n: int) -> None:
        """``n`` callers are creating or deleting objects and will submit (negative: will not)."""
        with self._cond:
            self._expected += n
            self._cond.notify_all()

    def submit(self, records: list[Record], *, expected: int = 0) -> None:
        """Send ``records``; ``expected`` is what this caller announced with ``expect``.

        The caller that sends waits up to ``linger`` seconds while announced callers are
        still in their object requests, so that a burst of concurrent calls shares one append;
        a lone caller never waits.
        """
        ticket: dict[str, Any] = {}
        with self._cond:
            self._expected -= expected
            self._queue.append((records, ticket))
            self._cond.notify_all()
            while "done" not in ticket:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                deadline = time.monotonic() + self._linger
                while self._expected > 0 and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
                batch, self._queue = self._queue, []
                self._cond.release()
                error: BaseException | None = None
                try:
                    self._flush([r for recs, _ in batch for r in recs])
                except BaseException as exc:
                    error = exc
                finally:
                    self._cond.acquire()
                    self._busy = False
                    for _, t in batch:
                        t["done"] = True
                        t["error"] = error
                    self._cond.notify_all()
        if ticket["error"] is not None:
            raise ticket["error"]


class ThreadIndex(IndexProperties):
    """The list of your threads or conversations, kept in the API itself.

    Make one with ``ThreadIndex.create(client, backend=...)`` and keep ``root_id``; open it
    anywhere with ``ThreadIndex.open(client, root_id)``. Each method's docstring gives its
    cost in requests: N is the number of children, d the IDs a page holds (``page_capacity``).
    An instance may be shared by the threads of a process; any number of processes may use
    one index at once (docs/design.md, section 8).
    """

    _executor: SyncExecutor

    def __init__(self, executor: SyncExecutor, core: IndexState) -> None:
        self._executor = executor
        self._core = core
        self._commit = GroupCommit(
            lambda records: self._run(flows.flush(core, records)),
            core.settings.commit_linger_seconds,
        )

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        client: openai.OpenAI,
        *,
        backend: BackendChoice,
        metadata: Mapping[str, str] | None = None,
        codec: Codec = "auto",
        settings: IndexSettings | None = None,
    ) -> ThreadIndex:
        """Create a new, empty index; keep its ``root_id``.

        ``codec="auto"`` probes whether the server keeps Unicode metadata intact and, if so,
        packs pages about 2.3x denser. ``metadata``: up to 13 keys of your own on the root.
        Cost: 2 requests.
        """
        be, user, settings = prepare_create(backend, metadata, codec, settings)
        executor = _executor(client, be, settings)
        root_id, root_metadata = run_sync(
            executor, flows.create_root(be, user, codec, settings.read_lag_seconds)
        )
        return cls(
            executor,
            IndexState(
                be, root_id, flows.alphabet_for_root(root_id, root_metadata), settings, created=True
            ),
        )

    @classmethod
    def open(
        cls, client: openai.OpenAI, root_id: str, settings: IndexSettings | None = None
    ) -> ThreadIndex:
        """Open an index from its root ID; the backend follows from the ID's prefix.

        Cost: 1 request.
        """
        be, settings = prepare_open(root_id, settings)
        executor = _executor(client, be, settings)
        metadata = run_sync(executor, flows.open_root(be, root_id))
        return cls(
            executor, IndexState(be, root_id, flows.alphabet_for_root(root_id, metadata), settings)
        )

    def close(self) -> None:
        """Stop the worker threads and forget cached pages (the client is yours to close).
        Cost: none."""
        self._executor.close()
        self._core.cache.clear()

    def __enter__(self) -> ThreadIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- properties ---------------------------------------------------------------------------

    # -- writing ------------------------------------------------------------------------------

    def create_child(self, *, metadata: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        """Create a conversation or thread, list it, and return the SDK object.

        ``kwargs`` pass through to the SDK's create: first entries are ``items=[...]`` for a
        conversation and ``messages=[...]`` for a thread; the other backend's argument is
        refused with a ``LinkedThreadsError`` before any request. The child gets one metadata
        key, ``linkedthreads``, naming this index; so ``metadata`` may have at most 15 keys.
        Cost: 2 requests (+ about 0.02 amortised upkeep).
        """
        return self.create_children(1, metadata=metadata, **kwargs)[0]

    def create_children(
        self, n: int, *, metadata: Mapping[str, str] | None = None, **kwargs: Any
    ) -> list[Any]:
        """Create ``n`` children concurrently and list them, in groups of ``bulk_batch``.

        Cost: n + about n / ``bulk_batch`` requests.
        """
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
                made, error = self._run(flows.create_children(self._core, user, kwargs, count))
            except BaseException:
                self._commit.expect(-count)
                raise
            records = [Record(op="add", ids=tuple(c.id for c in made), new=True)] if made else []
            try:
                self._commit.submit(records, expected=count)
            except IndexNotFoundError:
                # The index is gone: what this call made is listed nowhere (8.5).
                ids = [c.id for c in made]
                self._run(flows.discard_children(self._core, ids, kwargs))
                raise
            out.extend(c.raw for c in made)
            if error is not None:
                raise error
        return out

    def add(self, child_id: str) -> None:
        """List an object created elsewhere; adding a listed ID changes nothing. Cost: 1."""
        self.add_many([child_id])

    def add_many(self, child_ids: Iterable[str]) -> None:
        """List objects created elsewhere, in order. Cost: 1 request per 2,000 IDs (entries of
        100 IDs, 20 an append), per 100 IDs on threads (one message an append)."""
        ids = flows.validate_ids(child_ids, self._core.backend.prefix, self._core.root_id)
        if ids:
            self._run(flows.maybe_compact(self._core))
            self._commit.submit([Record(op="add", ids=tuple(ids))])

    def remove(self, child_id: str) -> None:
        """Forget an ID, keeping the object; an unlisted ID changes nothing. Cost: 1."""
        self.remove_many([child_id])

    def remove_many(self, child_ids: Iterable[str]) -> None:
        """Forget many IDs. Cost: 1 request per 2,000 IDs (per 100 on threads), as ``add_many``."""
        ids = flows.validate_ids(child_ids, self._core.backend.prefix, self._core.root_id)
        if ids:
            self._run(flows.maybe_compact(self._core))
            self._commit.submit([Record(op="rm", ids=tuple(ids))])

    def delete(self, child_id: str, *, erase_items: bool = False) -> None:
        """Delete the object, then forget it; an object already gone is just forgotten.

        ``erase_items=True`` first deletes its messages/items: deleting a conversation does
        not delete its items. Cost: 2 (+ 1 per 100 items and 1 per item when erasing).
        """
        self.delete_many([child_id], erase_items=erase_items)

    def delete_many(self, child_ids: Iterable[str], *, erase_items: bool = False) -> None:
        """Delete objects concurrently, then forget them. Cost: n + about n / ``bulk_batch``."""
        ids = flows.validate_ids(child_ids, self._core.backend.prefix, self._core.root_id)
        step = self._core.settings.bulk_batch
        for start in range(0, len(ids), step):
            batch = ids[start : start + step]
            self._commit.expect(len(batch))
            try:
                done, error = self._run(flows.delete_objects(self._core, batch, erase_items))
            except BaseException:
                self._commit.expect(-len(batch))
                raise
            records = [Record(op="rm", ids=tuple(done))] if done else []
            self._commit.submit(records, expected=len(batch))
            if error is not None:
                raise error

    def track(self, client: openai.OpenAI) -> openai.OpenAI:
        """A copy of ``client`` on which every object of this index's kind that it creates is
        listed, and every one it deletes is forgotten; ``client`` itself is left untouched.

        Tracked: ``conversations.create`` (conversations), ``beta.threads.create`` and
        ``create_and_run`` (threads; streamed too), and the deletes. A tracked create returns
        only once its ``add`` record is appended, as ``create_child`` does; if the append
        fails after the retry policy, it raises ``TrackingError`` naming the created ID.
        Works through the SDK's HTTP client (``with_options(http_client=...)``), sharing
        ``client``'s connections; the index's own requests are never tracked.
        Cost: a create or delete costs its request + 1 append (concurrent calls share
        appends: about 1 + 1/P requests an object for P at once); any other request, nothing.
        """
        from ._tracking import tracked_client  # with the SDK: only when tracking

        return tracked_client(client, IndexRecorder(self._core, self._commit, self._run))

    # -- reading ------------------------------------------------------------------------------

    def all(self, *, newest_first: bool = False) -> Iterator[str]:
        """Every listed ID, in the order added; streams, so memory does not grow with N.

        Cost: 1 + ceil(N / d) requests (+ 1 while the journal tail is 100 entries or more),
        ``read_concurrency`` at a time ``newest_first=True``
        streams the same list backwards, reading pages from the last one back (those this
        instance holds from its cache): 1 request + 1 a page of IDs consumed.
        """
        if newest_first:
            return iterate_sync(self._executor, flows.list_ids_newest_first(self._core))
        return iterate_sync(self._executor, flows.list_ids(self._core))

    def latest(self, n: int) -> list[str]:
        """The ``n`` newest listed IDs, newest first (the end of ``all()``, backwards).

        Cost: 1 request (the journal's tail holds the newest IDs) + the pages holding the
        rest not in this instance's cache: 2 requests for n up to a page (d), whatever N.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, not {n!r}")
        if n == 0:
            return []
        ids = cast(
            "Generator[str, None, None]",
            iterate_sync(self._executor, flows.list_ids_newest_first(self._core, n)),
        )
        try:
            return list(itertools.islice(ids, n))
        finally:
            ids.close()

    def __iter__(self) -> Iterator[str]:
        return self.all()

    def __len__(self) -> int:
        """Cost: 1 request; after removals of paged IDs by a process that held no page, a
        read of every page once, plus 1 to say what they hold, after which every reader's
        ``len`` costs 1 again (``IndexSettings.record_counts``)."""
        return self._run(flows.count(self._core))

    def __contains__(self, child_id: object) -> bool:
        """Cost: 1 request when the journal decides, else pages are read until found."""
        if not isinstance(child_id, str):
            return False
        return self._run(flows.contains(self._core, child_id))

    # -- maintenance --------------------------------------------------------------------------

    def stats(self) -> IndexStats:
        """Pages, directories, journal tail and waiting removals. Cost: 1 request."""
        return self._run(flows.stats(self._core))

    def compact(self, *, full: bool = False) -> None:
        """Write a checkpoint now; ``full=True`` also rewrites pages without removed IDs.

        Cost: 2 + pages written (+ every page read when ``full``).
        """
        self._run(flows.compact(self._core, full))

    def verify(self, *, repair: bool = False) -> VerifyReport:
        """Check every page and every child; ``repair=True`` forgets dangling IDs (objects
        deleted elsewhere) and rebuilds the pages. A child counts as deleted only when a read
        sent ``read_lag_seconds`` after the journal read that listed it answers 404; one
        that answered sooner is read again then (docs/design.md 8.4).
        Cost: 1 + pages + N (+ 1 per child that answered 404 too soon)."""
        return self._run(flows.verify(self._core, repair))

    def destroy(self, *, erase_items: bool = False) -> None:
        """Delete every child, every index object and the root: nothing of the index remains.

        Children whose creation was acknowledged before it returns are deleted too, and this
        process's writers of the index are refused from the start (docs/design.md 8.5).
        Cost: 1 (the ``end`` record) + as ``all()`` + the whole journal read + one delete
        per object + 1 (a last read; one more per round while other processes append).
        """
        self._run(flows.destroy(self._core, erase_items))

    def _run(self, flow: Flow[T]) -> T:
        return run_sync(self._executor, flow)


def _executor(client: openai.OpenAI, backend: Any, settings: IndexSettings) -> SyncExecutor:
    import openai

    if not isinstance(client, openai.OpenAI):
        raise TypeError(
            f"client must be an openai.OpenAI, not {type(client).__name__}"
            + (
                " (use AsyncThreadIndex with AsyncOpenAI)"
                if isinstance(client, openai.AsyncOpenAI)
                else ""
            )
        )
    concurrency = max(settings.read_concurrency, settings.write_concurrency)
    return SyncExecutor(client, backend, settings.retry, concurrency)
