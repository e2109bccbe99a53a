"""The group commit's decisions (``CommitQueue``), driven step by step without threads, event
loops or clocks: who appends, when, and what; and a property over every interleaving."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkedthreads._journal import Record
from linkedthreads._protocol.commit_queue import CommitQueue, Flush, Ticket, Wait


def _record(n: int) -> Record:
    return Record(op="add", ids=(f"conv_{n}",))


def test_a_lone_caller_appends_at_once() -> None:
    """Nothing announced, nothing in flight: the first step is the append (no linger)."""
    queue = CommitQueue(linger=5.0)
    ticket = queue.submit([_record(1)])
    step = queue.next_step(ticket, now=0.0)
    assert isinstance(step, Flush)
    assert step.records == [_record(1)]
    assert queue.busy
    assert queue.queued == 0
    queue.finish(step, None)
    assert not queue.busy
    assert queue.next_step(ticket, now=0.0) is None
    assert ticket.done
    assert ticket.error is None


def test_the_sender_lingers_while_announced_callers_are_in_their_requests() -> None:
    """It waits at most ``linger`` seconds, and no longer than the last announced caller."""
    queue = CommitQueue(linger=0.5)
    queue.expect(2)
    first = queue.submit([_record(1)], expected=1)
    assert queue.next_step(first, now=10.0) == Wait(0.5)
    later = queue.next_step(first, now=10.25)
    assert isinstance(later, Wait)
    assert later.seconds == pytest.approx(0.25)
    second = queue.submit([_record(2)], expected=1)
    assert queue.next_step(second, now=10.3) == Wait(None)  # the first caller sends for it
    step = queue.next_step(first, now=10.3)  # every announced caller has submitted
    assert isinstance(step, Flush)
    assert step.records == [_record(1), _record(2)]


def test_the_linger_ends_at_its_deadline() -> None:
    queue = CommitQueue(linger=0.5)
    queue.expect(3)
    ticket = queue.submit([_record(1)], expected=1)
    assert isinstance(queue.next_step(ticket, now=0.0), Wait)
    assert isinstance(queue.next_step(ticket, now=0.5), Flush)  # two callers never came


def test_a_withdrawn_announcement_ends_the_linger() -> None:
    """``expect(-n)``: a caller whose object request failed will not submit."""
    queue = CommitQueue(linger=60.0)
    queue.expect(2)
    ticket = queue.submit([_record(1)], expected=1)
    assert isinstance(queue.next_step(ticket, now=0.0), Wait)
    queue.expect(-1)
    assert isinstance(queue.next_step(ticket, now=0.0), Flush)


def test_callers_arriving_during_an_append_share_the_next_one() -> None:
    queue = CommitQueue(linger=0.0)
    first = queue.submit([_record(1)])
    flush = queue.next_step(first, now=0.0)
    assert isinstance(flush, Flush)
    later = [queue.submit([_record(n)]) for n in (2, 3, 4)]
    assert all(queue.next_step(t, now=0.0) == Wait(None) for t in later)
    queue.finish(flush, None)
    second = queue.next_step(later[1], now=0.0)  # whoever wakes first sends for all three
    assert isinstance(second, Flush)
    assert second.records == [_record(2), _record(3), _record(4)]
    assert queue.next_step(later[0], now=0.0) == Wait(None)
    queue.finish(second, None)
    assert all(queue.next_step(t, now=0.0) is None for t in [first, *later])


def test_a_failed_append_fails_the_callers_it_carried_and_no_others() -> None:
    queue = CommitQueue(linger=0.0)
    first = queue.submit([_record(1)])
    flush = queue.next_step(first, now=0.0)
    assert isinstance(flush, Flush)
    later = queue.submit([_record(2)])
    error = OSError("append refused")
    queue.finish(flush, error)
    assert first.done
    assert first.error is error
    assert not later.done
    retry = queue.next_step(later, now=0.0)
    assert isinstance(retry, Flush)
    queue.finish(retry, None)
    assert later.done
    assert later.error is None


def test_a_caller_with_nothing_to_record_still_takes_its_turn() -> None:
    """A create that made nothing submits ``[]`` with its announcement: it is waited for no
    more, and an append of no records is the front end's to skip (``flush`` does)."""
    queue = CommitQueue(linger=1.0)
    queue.expect(1)
    ticket = queue.submit([], expected=1)
    step = queue.next_step(ticket, now=0.0)
    assert isinstance(step, Flush)
    assert step.records == []


# -- every interleaving ---------------------------------------------------------------------


@dataclass
class _Caller:
    records: list[Record]
    announces: bool
    phase: str = "new"  # new, announced, waiting, blocked, appending, done
    ticket: Ticket | None = None
    wake_at: float | None = None  # while blocked: the end of its timed wait, if any
    flush: Flush | None = None
    submitted_idle: bool = False  # it submitted when nothing was queued, announced or busy


@dataclass
class _World:
    queue: CommitQueue
    callers: list[_Caller]
    now: float = 0.0
    appended: list[Record] = field(default_factory=list)
    submitted: list[Record] = field(default_factory=list)
    carried: dict[int, BaseException | None] = field(default_factory=dict)

    def notify_all(self) -> None:
        for c in self.callers:
            if c.phase == "blocked":
                c.phase, c.wake_at = "waiting", None


def _step(world: _World, caller: _Caller, linger: float) -> None:
    assert caller.ticket is not None
    queue = world.queue
    step = queue.next_step(caller.ticket, world.now)
    if step is None:
        assert caller.ticket.done
        assert caller.ticket.error is world.carried[id(caller.ticket)]
        caller.phase = "done"
    elif isinstance(step, Wait):
        assert not caller.submitted_idle, "a lone caller waited"
        assert step.seconds is None or (queue.expected > 0 and 0 < step.seconds <= linger)
        caller.phase = "blocked"
        caller.wake_at = None if step.seconds is None else world.now + step.seconds
    else:
        assert not any(c.phase == "appending" for c in world.callers)
        assert caller.ticket in step.tickets
        caller.phase, caller.flush = "appending", step
        world.appended.extend(step.records)


@given(
    shapes=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=7),
    linger=st.sampled_from([0.0, 0.25, 5.0]),
    data=st.data(),
)
@settings(max_examples=150, deadline=None)
def test_every_interleaving_appends_each_record_once_in_order(
    shapes: list[tuple[int, bool]], linger: float, data: st.DataObject
) -> None:
    """Whatever the order in which callers announce, submit, wake and finish appends (and
    whichever appends fail): one append at a time; every record appended exactly once, in
    the order submitted; each caller told the outcome of the append that carried its records;
    a lone caller never waits; and everyone is done in the end."""
    serial = iter(range(10_000))
    world = _World(
        CommitQueue(linger),
        [_Caller([_record(next(serial)) for _ in range(k)], ann) for k, ann in shapes],
    )
    queue = world.queue
    for _ in range(1_000):
        movable = [c for c in world.callers if c.phase not in ("blocked", "done")]
        timed = [c.wake_at for c in world.callers if c.phase == "blocked" and c.wake_at]
        if not movable and not timed:
            break
        if not movable or (timed and data.draw(st.integers(0, 4)) == 0):
            world.now = min(timed)  # time passes until the first timed wait ends
            for c in world.callers:
                if c.phase == "blocked" and c.wake_at is not None and c.wake_at <= world.now:
                    c.phase, c.wake_at = "waiting", None
            continue
        caller = data.draw(st.sampled_from(movable))
        if caller.phase == "new" and caller.announces:
            queue.expect(1)
            caller.phase = "announced"
            world.notify_all()
        elif caller.phase in ("new", "announced"):
            # A wrapper submits and takes its first step under one hold of its lock.
            caller.submitted_idle = not queue.busy and not queue.queued and queue.expected <= 0
            caller.ticket = queue.submit(caller.records, expected=int(caller.announces))
            world.submitted.extend(caller.records)
            world.notify_all()
            _step(world, caller, linger)
        elif caller.phase == "waiting":
            _step(world, caller, linger)
        else:  # appending: the append ends, failed or not
            assert caller.flush is not None
            error = OSError("refused") if data.draw(st.booleans()) else None
            for t in caller.flush.tickets:
                world.carried[id(t)] = error
            queue.finish(caller.flush, error)
            caller.phase, caller.flush = "waiting", None
            world.notify_all()
    assert all(c.phase == "done" for c in world.callers), "a caller was left waiting"
    assert world.appended == world.submitted
    assert not queue.busy
    assert queue.queued == 0
    assert queue.expected == 0
