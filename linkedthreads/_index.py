"""``ThreadIndex``: the synchronous front end. It validates arguments and drives the
protocol flows of ``_protocol`` on a ``SyncExecutor``; it holds no protocol logic.

Its length (over 500 lines) is the public API itself: one short method per operation, each
with the docstring that states its cost; the logic behind them is in ``_protocol``."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

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
from ._protocol.commit_queue import CommitQueue, Wait
from ._protocol.plans import Commit, Expect, Plan, PlanStep, PlanSteps, Ready
from ._recording import IndexRecorder
from ._results import IndexStats, VerifyReport
from ._settings import IndexSettings
from ._transport import SyncExecutor

if TYPE_CHECKING:  # the SDK is imported when a client is first used (start-up time)
    import openai

__all__ = ["ThreadIndex"]

T = TypeVar("T")


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
            step = flow.send(executor.execute_many(step.requests, step.width))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def iterate_sync(executor: SyncExecutor, flow: Flow[None]) -> Iterator[Any]:
    """Drive a streaming flow, yielding what it emits."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                yield from step.items
                step = flow.send(None)
            elif isinstance(step, Pause):
                time.sleep(step.seconds)
                step = flow.send(None)
            else:
                step = flow.send(executor.execute_many(step.requests, step.width))
    except StopIteration:
        return
    finally:
        flow.close()


class GroupCommit:
    """The group commit for threads: ``CommitQueue`` (``_protocol/commit_queue.py``) decides who
    appends what and when; this waits on a condition and appends with ``flush``."""

    def __init__(self, flush: Callable[[list[Record]], None], linger: float) -> None:
        self._flush = flush
        self.queue = CommitQueue(linger)  # its decisions
        self._cond = threading.Condition()

    def expect(self, n: int) -> None:
        """``n`` callers are creating or deleting objects and will submit (negative: will not)."""
        with self._cond:
            self.queue.expect(n)
            self._cond.notify_all()

    def submit(self, records: list[Record], *, expected: int = 0) -> None:
        """Send ``records`` (in a shared append); ``expected``: what this caller announced."""
        with self._cond:
            ticket = self.queue.submit(records, expected=expected)
            self._cond.notify_all()
            while (step := self.queue.next_step(ticket, time.monotonic())) is not None:
                if isinstance(step, Wait):
                    self._cond.wait(step.seconds)
                    continue
                error: BaseException | None = None
                self._cond.release()
                try:
                    self._flush(step.records)
                except BaseException as exc:
                    error = exc
                finally:
                    self._cond.acquire()
                    self.queue.finish(step, error)
                    self._cond.notify_all()
        if ticket.error is not None:
            raise ticket.error


class ThreadIndex(IndexProperties):
    """The list of your threads or conversations, kept in the API itself.

    Make one with ``ThreadIndex.create(client, backend=...)`` and keep ``root_id``; open it
    anywhere with ``ThreadIndex.open(client, root_id)``. Each method's docstring gives its
    cost in requests: N is the number of children, d the IDs a page holds (``page_capacity``).
    An instance may be shared by the threads of a process; any number of processes may use
    one index at once (docs/design.md, section 8).
    """

    _executor: SyncExecutor
    _commit: GroupCommit
    _parent: ThreadIndex | None

    def __init__(
        self,
        executor: SyncExecutor,
        core: IndexState | None,
        *,
        top: IndexState | None = None,
        parent: ThreadIndex | None = None,
        name: str | None = None,
    ) -> None:
        self._executor = executor
        self._core = core
        top = top or core
        assert top is not None
        self._top = top
        self._parent = parent
        self._scope_name = name
        self._children: dict[str, ThreadIndex] = {}
        self._resolving = threading.Lock()
        self._absent_seen = False  # a lookup found no scope of this name (make it at once)
        self._commit = GroupCommit(
            lambda records: self._run(flows.flush(self._made(), records)),
            top.settings.commit_linger_seconds,
        )

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        client: openai.OpenAI,
        *,
        backend: BackendName,
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
        executor = make_executor(SyncExecutor, client, be, settings)
        flow = flows.create_root(be, user, codec, settings.read_lag_seconds)
        root_id, root_metadata = run_sync(executor, flow)
        return cls(executor, index_state(be, root_id, root_metadata, settings, created=True))

    @classmethod
    def open(
        cls, client: openai.OpenAI, root_id: str, settings: IndexSettings | None = None
    ) -> ThreadIndex:
        """Open an index from its root ID; the backend follows from the ID's prefix.

        Cost: 1 request.
        """
        be, settings = prepare_open(root_id, settings)
        executor = make_executor(SyncExecutor, client, be, settings)
        metadata = run_sync(executor, flows.open_root(be, root_id))
        return cls(executor, index_state(be, root_id, metadata, settings))

    def close(self) -> None:
        """Stop the worker threads and forget cached pages (the client is yours to close).
        A scope shares its root's connections: closing a scope only forgets its pages.
        Cost: none."""
        if self._parent is None:
            self._executor.close()
        if self._core is not None:
            self._core.cache.clear()

    def __enter__(self) -> ThreadIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scopes -------------------------------------------------------------------------------

    def scope(self, name: str) -> ThreadIndex:
        """The list named ``name`` under this index: a ``ThreadIndex`` of its own, with every
        method of this one (and scopes of its own). It is made by its first write; reading a
        scope never written is an empty list. ``name``: 1 to 200 printable characters, no
        space at either end (else ``InvalidScopeNameError``, before any request). The same
        name gives the same instance while it is among the 1,024 most recently asked for.
        Cost: none at the call. Its first read finds it: 1 request (the parent's journal;
        + 1, the name's bucket, once the parent has many scopes), then as at a root; its
        first write makes it if need be: 3 requests more than the same write at a root
        (+ the lookup when no read of this instance looked for it first).
        """
        scopes.validate_scope_name(name)
        known = self._children.pop(name, None)  # the same instance while recently used
        if known is None:
            known = ThreadIndex(self._executor, None, top=self._top, parent=self, name=name)
        self._children[name] = known
        if len(self._children) > scopes.KEPT_SCOPES:
            self._children.pop(next(iter(self._children)))
        return known

    def scopes(self) -> Iterator[tuple[str, str]]:
        """``(name, root ID)`` of every scope directly under this index: those in the
        directory's buckets (by bucket, by name), then the newer ones in the order made;
        streams, so memory does not grow with S.
        Cost: 1 request + the buckets, read concurrently (those this instance does not
        hold): about ceil(S / (0.8 x pairs a bucket)) + 1; none for a scope never written."""
        core = self._ready(create=False)
        if core is None:
            return iter(())
        return iterate_sync(self._executor, scopes.list_scopes(core))

    def ensure(self) -> ThreadIndex:
        """Find this scope, or make it, now (``root_id`` is then known); returns it.
        Cost: 1 or 2 requests when it exists (the parent's journal, and the name's
        bucket), + 3 when made (+ 1 when another writer made it first); none for an index
        opened or created."""
        self._ready(create=True)
        return self

    @property
    def parent(self) -> ThreadIndex | None:
        """The index this scope is under; None for an index opened or created."""
        return self._parent

    def _made(self) -> IndexState:
        if self._core is None:  # destroyed while this write was in its object requests
            raise IndexNotFoundError(f"scope {'/'.join(self.scope_path)!r} was destroyed")
        return self._core

    def _ready(self, *, create: bool) -> IndexState | None:
        """This instance's index: found (or, with ``create``, made) by name for a scope;
        None for a scope that does not exist and is not to be made."""
        core = self._core
        if self._parent is None or (core is not None and not core.gate.closed):
            return core
        # A scope not known yet, or destroyed (by this process, or its end record was read):
        # look it up again (its next write makes it afresh).
        name = self._scope_name
        assert name is not None
        with self._resolving:
            if self._core is not None and not self._core.gate.closed:
                return self._core
            self._core = None
            parent = self._parent._ready(create=create)
            if parent is None:
                return None
            root: str | None = None
            if not (create and self._absent_seen):
                root = self._run(scopes.find(parent, name))
            if root is None and create:
                root = self._run(scopes.make(parent, name))
            if root is None:
                self._absent_seen = True
                return None
            self._core = scopes.scope_state(parent, root)
            return self._core

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
        return self._carry_out(plans.create_children(self._core or self._top, n, metadata, kwargs))

    def add(self, child_id: str) -> None:
        """List an object created elsewhere; adding a listed ID changes nothing. Cost: 1."""
        self.add_many([child_id])

    def add_many(self, child_ids: Iterable[str]) -> None:
        """List objects created elsewhere, in order. Cost: 1 request per 2,000 IDs (entries of
        100 IDs, 20 an append), per 100 IDs on threads (one message an append)."""
        self._carry_out(plans.add_ids(self._core or self._top, child_ids))

    def remove(self, child_id: str) -> None:
        """Forget an ID, keeping the object; an unlisted ID changes nothing. Cost: 1."""
        self.remove_many([child_id])

    def remove_many(self, child_ids: Iterable[str]) -> None:
        """Forget many IDs. Cost: 1 request per 2,000 IDs (per 100 on threads), as ``add_many``."""
        self._carry_out(plans.remove_ids(self._core or self._top, child_ids))

    def delete(self, child_id: str, *, erase_items: bool = False) -> None:
        """Delete the object, then forget it; an object already gone is just forgotten.

        ``erase_items=True`` first deletes its messages/items: deleting a conversation does
        not delete its items. Cost: 2 (+ 1 per 100 items and 1 per item when erasing).
        """
        self.delete_many([child_id], erase_items=erase_items)

    def delete_many(self, child_ids: Iterable[str], *, erase_items: bool = False) -> None:
        """Delete objects concurrently, then forget them. Cost: n + about n / ``bulk_batch``."""
        self._carry_out(plans.delete_objects(self._core or self._top, child_ids, erase_items))

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

        core = self._ready(create=True)  # a scope: found or made now (up to 4 requests)
        assert core is not None
        return tracked_client(client, IndexRecorder(core, self._commit, self._run))

    # -- reading ------------------------------------------------------------------------------

    def all(self, *, newest_first: bool = False) -> Iterator[str]:
        """Every listed ID, in the order added; streams, so memory does not grow with N.

        Cost: 1 + ceil(N / d) requests (+ 1 while the journal tail is 100 entries or more),
        ``read_concurrency`` at a time ``newest_first=True``
        streams the same list backwards, reading pages from the last one back (those this
        instance holds from its cache): 1 request + 1 a page of IDs consumed.
        """
        core = self._ready(create=False)
        if core is None:
            return iter(())
        if newest_first:
            return iterate_sync(self._executor, flows.list_ids_newest_first(core))
        return iterate_sync(self._executor, flows.list_ids(core))

    def latest(self, n: int) -> list[str]:
        """The ``n`` newest listed IDs, newest first (the end of ``all()``, backwards).

        Cost: 1 request (the journal's tail holds the newest IDs) + the pages holding the
        rest not in this instance's cache: 2 requests for n up to a page (d), whatever N.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, not {n!r}")
        if n == 0:
            return []

        def newest(core: IndexState) -> list[str]:
            ids = cast(
                "Generator[str, None, None]",
                iterate_sync(self._executor, flows.list_ids_newest_first(core, n)),
            )
            try:
                return list(itertools.islice(ids, n))
            finally:
                ids.close()

        return self._reading(newest, [])

    def fetch(self, child_ids: Iterable[str], *, concurrency: int | None = None) -> list[Any]:
        """The children themselves: each ID's SDK object (``Conversation`` or ``Thread``:
        metadata, ``created_at``, ...), in the order given, read concurrently; a screen of
        ``latest(n)`` costs n requests in one round (for n up to 32, by default).

        ``None`` stands for an ID the server answers 404 for: a child deleted since it was
        listed (or, on a server that lags, created less than ``read_lag_seconds`` ago). The
        IDs are checked before any request (``InvalidIdError``); listing is not checked:
        any object of this index's kind is read (in a scope, with no lookup of the scope
        first). ``concurrency``: reads in flight at once (default 32, whatever
        ``read_concurrency`` is; a ``ValueError`` before any request if not a positive int).
        Cost: 1 request per distinct ID, ``concurrency`` at a time: ceil(n / ``concurrency``)
        rounds, so one round for a screen of up to 32.
        """
        ids = validate_fetch_ids(child_ids, self._top.backend.prefix)
        width = validate_fetch_concurrency(concurrency)
        return self._run(fetch_children(self._top, ids, width))

    def __iter__(self) -> Iterator[str]:
        return self.all()

    def __len__(self) -> int:
        """Cost: 1 request; after removals of paged IDs by a process that held no page, a
        read of every page once, plus 1 to say what they hold, after which every reader's
        ``len`` costs 1 again (``IndexSettings.record_counts``)."""
        return self._reading(lambda core: self._run(flows.count(core)), 0)

    def __contains__(self, child_id: object) -> bool:
        """Cost: 1 request when the journal decides, else pages are read until found."""
        if not isinstance(child_id, str):
            return False
        return self._reading(lambda core: self._run(flows.contains(core, child_id)), False)

    # -- maintenance --------------------------------------------------------------------------

    def stats(self) -> IndexStats:
        """Pages, directories, journal tail and waiting removals. Cost: 1 request."""
        return self._reading(lambda core: self._run(flows.stats(core)), empty_stats())

    def compact(self, *, full: bool = False) -> None:
        """Write a checkpoint now; ``full=True`` also rewrites pages without removed IDs.

        Cost: 2 + pages written (+ every page read when ``full``).
        """
        core = self._ready(create=False)
        if core is not None:
            self._run(flows.compact(core, full))

    def verify(self, *, repair: bool = False) -> VerifyReport:
        """Check every page and every child; ``repair=True`` forgets dangling IDs (objects
        deleted elsewhere) and rebuilds the pages. A child counts as deleted only when a read
        sent ``read_lag_seconds`` after the journal read that listed it answers 404; one
        that answered sooner is read again then (docs/design.md 8.4).
        Scopes are verified too (their reports in ``report.scopes``); a scope whose root is
        gone is reported in ``missing_scopes`` and, with ``repair``, dropped from the parent
        (its next write makes it afresh).
        Cost: 1 + pages + N (+ 1 per child that answered 404 too soon), + the scope
        directory's buckets (none below some 270 scopes), + one read per scope and each
        scope's own verify."""
        core = self._ready(create=False)
        if core is None:
            return VerifyReport()
        return self._run(scopes.verify_tree(core, repair))

    def destroy(self, *, erase_items: bool = False) -> None:
        """Delete every child, every index object and the root: nothing of the index remains.

        Children whose creation was acknowledged before it returns are deleted too, and this
        process's writers of the index are refused from the start (docs/design.md 8.5).
        Every scope goes with it. Of a scope (``index.scope(name).destroy()``): that scope,
        its scopes, and its entry under the parent (a later write makes it afresh); nothing
        if it was never written.
        Cost: 1 (the ``end`` record) + as ``all()`` + the whole journal read + one delete
        per object + 1 (a last read; one more per round while other processes append); the
        same again for each scope; of a scope, + 1 (its ``unscope`` under the parent).
        """
        core = self._ready(create=False)
        if core is None:
            return
        try:
            self._run(scopes.destroy_tree(core, erase_items))
        except IndexNotFoundError:
            if self._parent is None:
                raise  # a scope's root already gone: its entry is dropped below
        if self._parent is not None:
            parent = self._parent._ready(create=False)
            name = self._scope_name
            assert name is not None
            if parent is not None:
                self._run(scopes.unlink(parent, name, core.root_id))
            self._core = None
            self._absent_seen = True

    def _reading(self, read: Callable[[IndexState], T], empty: T) -> T:
        """``read`` this index; a scope never written reads ``empty``, and a scope destroyed
        under this instance (elsewhere) is looked up again, once."""
        for attempt in (0, 1):
            core = self._ready(create=False)
            if core is None:
                return empty
            try:
                return read(core)
            except IndexNotFoundError:
                if self._parent is None or attempt:
                    raise
                self._core = None
        raise AssertionError("unreachable")  # pragma: no cover

    def _validate_ids(self, child_ids: Iterable[str]) -> list[str]:
        core = self._core or self._top
        return flows.validate_ids(child_ids, core.backend.prefix, core.root_id)

    def _run(self, flow: Flow[T]) -> T:
        try:
            return run_sync(self._executor, flow)
        except IndexNotFoundError:
            if self._parent is not None:  # a scope destroyed elsewhere: look it up again
                self._core = None
            raise

    def _carry_out(self, plan: Plan[T]) -> T:
        """Carry out a write's plan (``_plans.py``): its flows, announcements and appends."""
        steps = PlanSteps(plan)
        while (step := steps.next()) is not None:
            try:
                steps.reply(self._perform(step))
            except BaseException as exc:
                steps.fail(exc)
        return steps.result

    def _perform(self, step: PlanStep) -> Any:
        if isinstance(step, Expect):
            self._commit.expect(step.n)
        elif isinstance(step, Commit):
            self._commit.submit(step.records, expected=step.expected)
        elif isinstance(step, Ready):
            return self._ready(create=step.create)
        else:
            return self._run(step)
        return None
