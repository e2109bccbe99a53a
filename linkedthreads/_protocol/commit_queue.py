"""The group commit's decisions, without I/O: which caller appends, when, and what.

Concurrent callers' records go out together, in as few appends as possible. The first caller
sends at once (a lone call costs one request); callers that arrive while an append is in
flight are sent together by the next one. A caller that is about to send waits up to
``linger`` seconds while callers announced with ``expect`` are still in their object
requests, so that a burst of concurrent creates shares one append (docs/design.md 7.1).

``CommitQueue`` only decides: it holds no lock, never sleeps and reads no clock (the time is
passed in). ``GroupCommit`` (threads, ``_index.py``) and ``AsyncGroupCommit`` (asyncio,
``_async_index.py``) wrap it in a condition variable and do the waiting and the appending, as
h11's ``Connection`` decides what an HTTP/1.1 peer may do next and leaves the socket to its
caller. A wrapper's caller loop::

    ticket = queue.submit(records, expected=n)          # under the wrapper's lock
    while (step := queue.next_step(ticket, now())) is not None:
        if isinstance(step, Wait): wait on the condition, up to step.seconds (None: no limit)
        else: unlock, append step.records, lock, queue.finish(step, error)
    ticket.error, if any, is raised
"""

from __future__ import annotations

from dataclasses import dataclass, field

from linkedthreads._journal import Record

__all__ = ["CommitQueue", "Flush", "Ticket", "Wait"]


@dataclass(eq=False)
class Ticket:
    """One caller's submission: done once the append that carried its records has ended;
    ``error`` is that append's exception, if it failed."""

    records: list[Record]
    done: bool = False
    error: BaseException | None = None


@dataclass(frozen=True)
class Wait:
    """Wait on the wrapper's condition until notified, or at most ``seconds`` (``None``: no
    limit), then ask ``next_step`` again."""

    seconds: float | None


@dataclass(eq=False)
class Flush:
    """Append ``records`` (the queued callers' records, in submission order), then report
    the outcome with ``CommitQueue.finish``."""

    tickets: list[Ticket]
    records: list[Record] = field(init=False)

    def __post_init__(self) -> None:
        self.records = [r for t in self.tickets for r in t.records]


class CommitQueue:
    """Who appends when. Not thread-safe: the wrapper calls it under its lock and notifies
    every waiter after ``expect``, ``submit`` and ``finish``."""

    def __init__(self, linger: float) -> None:
        self.linger = linger
        self.expected = 0  # callers announced by ``expect`` that have not submitted yet
        self._queue: list[Ticket] = []
        self._lingering: Ticket | None = None  # the caller about to append, and until when
        self._deadline = 0.0
        self._flushing = False

    @property
    def busy(self) -> bool:
        """Whether a caller is lingering before its append or an append is in flight."""
        return self._lingering is not None or self._flushing

    @property
    def queued(self) -> int:
        """Submissions waiting for an append."""
        return len(self._queue)

    def expect(self, n: int) -> None:
        """``n`` callers are creating or deleting objects and will submit (negative: will not)."""
        self.expected += n

    def submit(self, records: list[Record], *, expected: int = 0) -> Ticket:
        """Queue ``records``; ``expected`` is what this caller announced with ``expect``."""
        self.expected -= expected
        ticket = Ticket(list(records))
        self._queue.append(ticket)
        return ticket

    def next_step(self, ticket: Ticket, now: float) -> Wait | Flush | None:
        """What ``ticket``'s caller does at time ``now``: nothing more (``None``: its records
        are appended, or their append failed), wait, or append a batch."""
        if ticket.done:
            return None
        if self._lingering is None and not self._flushing:
            self._lingering, self._deadline = ticket, now + self.linger
        if self._lingering is not ticket:
            return Wait(None)  # another caller appends next; it will take these records
        left = self._deadline - now
        if self.expected > 0 and left > 0:
            return Wait(left)
        self._lingering, self._flushing = None, True
        batch, self._queue = self._queue, []
        return Flush(batch)

    def finish(self, flush: Flush, error: BaseException | None) -> None:
        """The append of ``flush`` ended, with ``error`` if it failed: every caller in it is
        done and the next caller may append."""
        self._flushing = False
        for ticket in flush.tickets:
            ticket.done, ticket.error = True, error
