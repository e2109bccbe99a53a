"""Appending records (docs/design.md 4.3, 4.6, 7.3), step by step."""

from __future__ import annotations

from linkedthreads import APIRequestError, IndexNotFoundError
from linkedthreads._journal import Checkpoint, Record, dump_records, parse_entry
from linkedthreads._protocol import IndexState, flush
from linkedthreads._protocol.state import PendingCheckpoint

from .conftest import ROOT, ManualClock, child
from .script import Scripted, appended, done, not_found, refused, sdk_call


def appended_texts(request: object) -> list[str]:
    """The entry texts an append to a conversation sends."""
    items = sdk_call(request).kwargs["items"]  # type: ignore[arg-type]
    return [item["content"][0]["text"] for item in items]


def test_a_lone_add_is_one_append_marked_with_the_environments_nonce(
    new_index: IndexState,
) -> None:
    countdown = new_index.compaction_countdown
    run = Scripted(flush(new_index, [Record(op="add", ids=(child(1),), new=True)]))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = appended_texts(append)
    entry = parse_entry("msg_1", text)
    assert entry.nonce == "0000000000000001.0"
    assert [(r.op, r.ids, r.new) for r in entry.records] == [("add", (child(1),), True)]
    run.answer(appended("msg_1"))
    assert run.result() is None
    assert new_index.compaction_countdown == countdown - 1


def test_the_nonce_check_before_a_retry_recognises_only_this_appends_entries(
    new_index: IndexState,
) -> None:
    """The answer to an append may be lost after it landed: before sending it again, the
    transport looks for its entries with the predicate the protocol gave (4.3); it knows
    nothing of the journal's JSON."""
    run = Scripted(flush(new_index, [Record(op="rm", ids=(child(2),))]))
    (append,) = run.expect(f"append to conversation {ROOT}")
    assert append.landed is not None
    (text,) = appended_texts(append)
    assert append.landed(text)
    other = dump_records([Record(op="rm", ids=(child(2),))], "0000000000000009.0")
    assert not append.landed(other)
    assert not append.landed("a message of the user's")
    run.answer(appended("msg_1"))  # what the executor returns when the check found it
    assert run.result() is None


def test_a_checkpoint_whose_append_failed_waits_for_the_next_append(
    new_index: IndexState, wall_clock: ManualClock
) -> None:
    """The pending checkpoint goes first in the same entry; when the append fails (its
    answer lost, retries spent) the caller gets the error and the checkpoint is kept, so the
    pages it wrote are not orphaned (7.3)."""
    checkpoint = Checkpoint(upto="msg_0", pages=("conv_page",), slots=1)
    pending = PendingCheckpoint(checkpoint, wall_clock(), frozenset({"conv_page"}))
    new_index.add_pending(pending)
    run = Scripted(flush(new_index, [Record(op="add", ids=(child(1),), new=True)]))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = appended_texts(append)
    assert [r.op for r in parse_entry("msg_1", text).records] == ["ckpt", "add"]
    run.answer(refused(500, "the connection was lost"))
    run.raises(APIRequestError)
    assert new_index.pending == [pending]
    assert new_index.gate.appending == 0


def test_a_root_gone_is_an_index_not_found(new_index: IndexState) -> None:
    run = Scripted(flush(new_index, [Record(op="add", ids=(child(1),), new=True)]))
    run.exchange(f"append to conversation {ROOT}", not_found())
    assert ROOT in str(run.raises(IndexNotFoundError))


def test_after_the_tombstone_nothing_is_appended_and_pending_pages_go(
    new_index: IndexState, wall_clock: ManualClock
) -> None:
    """Once this process met ``end`` (or destroys the index) its gate is closed: a write
    sends nothing but the deletes of pages a pending checkpoint wrote (8.5)."""
    checkpoint = Checkpoint(upto="msg_0", pages=("conv_page",), slots=1)
    new_index.add_pending(PendingCheckpoint(checkpoint, wall_clock(), frozenset({"conv_page"})))
    new_index.gate.close()
    run = Scripted(flush(new_index, [Record(op="add", ids=(child(1),), new=True)]))
    run.expect("delete conversation conv_page")
    run.answer(done())
    run.raises(IndexNotFoundError)
    assert new_index.pending == []
