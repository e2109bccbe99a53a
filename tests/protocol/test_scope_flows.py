"""Making and finding a scope (docs/design.md 4.8), step by step: create its root, append
the ``scope`` record, read the journal back; the first record of a name wins."""

from __future__ import annotations

from linkedthreads import IndexNotFoundError
from linkedthreads._backends import Backend
from linkedthreads._codec import ASCII, encode_slots, ids_to_bits
from linkedthreads._journal import Checkpoint, Record, dump_records, parse_entry
from linkedthreads._protocol import Environment, IndexState
from linkedthreads._protocol.scopes import NAME_KEY, PARENT_KEY, find, list_scopes, make

from .conftest import ROOT, new_index_state
from .script import Scripted, appended, container, done, entries, not_found, sdk_call
from .test_writing import appended_texts

JOURNAL = f"list items of conversation {ROOT}"


def scope_entry(entry_id: str, name: str, root: str, nonce: str) -> tuple[str, str]:
    return entry_id, dump_records([Record(op="scope", name=name, target=root)], nonce)


def test_a_scope_is_made_by_root_record_and_read_back(new_index: IndexState) -> None:
    run = Scripted(make(new_index, "user-42"))
    (create,) = run.expect("create conversation")
    header = sdk_call(create).kwargs["metadata"]
    assert header[PARENT_KEY] == ROOT
    assert header[NAME_KEY] == "user-42"
    assert header["linkedthreads"] == "index/1"
    run.answer(container("conv_s1", header))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = appended_texts(append)
    (record,) = parse_entry("msg_1", text).records
    assert (record.op, record.name, record.target) == ("scope", "user-42", "conv_s1")
    run.answer(appended("msg_1"))
    run.exchange(JOURNAL, entries(("msg_1", text)))
    assert run.result() == "conv_s1"


def test_a_loser_uses_the_first_record_and_deletes_its_root(new_index: IndexState) -> None:
    """Another writer's record of the name landed first: this one's root is never written;
    it is deleted, and the winner's root is the scope."""
    run = Scripted(make(new_index, "shared"))
    run.exchange("create conversation", container("conv_mine", {}))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (mine,) = appended_texts(append)
    run.answer(appended("msg_2"))
    first = scope_entry("msg_1", "shared", "conv_theirs", "00000000000000aa.0")
    # The journal newest first: this writer's record, then the winner's.
    run.exchange(JOURNAL, entries(("msg_2", mine), first))
    run.exchange("delete conversation conv_mine", done())
    assert run.result() == "conv_theirs"


def test_a_record_not_yet_shown_is_read_again(new_index: IndexState) -> None:
    run = Scripted(make(new_index, "u"))
    run.exchange("create conversation", container("conv_s", {}))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = appended_texts(append)
    run.answer(appended("msg_1"))
    run.exchange(JOURNAL, entries())  # a lagging server: the append is not listed yet
    assert run.expect_pause() > 0
    run.exchange(JOURNAL, entries(("msg_1", text)))
    assert run.result() == "conv_s"


def test_a_parent_gone_deletes_the_new_root(new_index: IndexState) -> None:
    run = Scripted(make(new_index, "u"))
    run.exchange("create conversation", container("conv_s", {}))
    run.exchange(f"append to conversation {ROOT}", not_found())
    run.exchange("delete conversation conv_s", done())
    run.raises(IndexNotFoundError)


def test_find_reads_the_journal_and_the_names_bucket(new_index: IndexState) -> None:
    """A name the checkpoint does not carry inline, when it has buckets: one bucket read."""
    ck = Checkpoint(upto="msg_0", scopes=(("inline", "conv_i"),), scope_buckets=("conv_b0",))
    base = dump_records([Record(op="ckpt", checkpoint=ck)], "00000000000000bb.0")
    run = Scripted(find(new_index, "inline"))
    run.exchange(JOURNAL, entries(("msg_1", base), ("msg_0", "")))
    assert run.result() == "conv_i"
    value, nbits = ids_to_bits(["old", "conv_o", "other", "conv_x"])
    run = Scripted(find(new_index, "old"))
    run.exchange(JOURNAL, entries(("msg_1", base), ("msg_0", "")))
    run.exchange(
        "read conversation conv_b0", container("conv_b0", encode_slots(value, nbits, ASCII))
    )
    assert run.result() == "conv_o"


def bucket(*pairs: str) -> dict[str, str]:
    value, nbits = ids_to_bits(list(pairs))
    return encode_slots(value, nbits, ASCII)


def test_scopes_stream_bucket_by_bucket_then_the_tail(
    conversations_backend: Backend, scripted_environment: Environment
) -> None:
    """``scopes()``: each batch of buckets (``read_concurrency`` at once) is handed to the
    caller before the next is read, as the tail overrides it (a name unbound there is left
    out); then the tail's new names. A bucket collected before anything was emitted starts
    over; the stream holds one batch, never the buckets consumed."""
    state = new_index_state(conversations_backend, scripted_environment, read_concurrency=1)
    ck = Checkpoint(upto="msg_0", scope_buckets=("conv_b0", "conv_b1"))
    base = dump_records([Record(op="ckpt", checkpoint=ck)], "00000000000000bb.0")
    b0, b1 = bucket("a", "conv_a", "b", "conv_b"), bucket("c", "conv_c")
    tail = (
        dump_records([Record(op="unscope", name="b", target="conv_b")], "00000000000000c1.0"),
        dump_records([Record(op="scope", name="new", target="conv_n")], "00000000000000c2.0"),
    )
    journal = entries(("msg_3", tail[1]), ("msg_2", tail[0]), ("msg_1", base), ("msg_0", ""))
    run = Scripted(list_scopes(state))
    run.exchange(JOURNAL, journal)
    run.exchange("read conversation conv_b0", not_found())  # collected: start over
    run.exchange(JOURNAL, journal)
    run.exchange("read conversation conv_b0", container("conv_b0", b0))
    assert run.expect_emit() == [("a", "conv_a")]  # "b" unbound in the tail
    run.exchange("read conversation conv_b1", container("conv_b1", b1))
    assert run.expect_emit() == [("c", "conv_c")]
    assert run.expect_emit() == [("new", "conv_n")]
    assert run.result() is None
