"""Destroy (docs/design.md 8.5) step by step: the order that leaves no acknowledged child."""

from __future__ import annotations

from linkedthreads._journal import parse_entry
from linkedthreads._protocol import END_OP, IndexState, destroy

from .conftest import ROOT, child
from .journal import adds
from .script import Scripted, appended, done, entries, sdk_call

LIST = f"list items of conversation {ROOT}"


def test_destroy_appends_the_tombstone_first_and_deletes_the_root_last(
    new_index: IndexState,
) -> None:
    a, b = child(1), child(2)
    run = Scripted(destroy(new_index, erase_items=False))
    (append,) = run.expect(f"append to conversation {ROOT}")
    assert new_index.gate.closed  # before the tombstone is sent: no append of ours follows
    (text,) = [i["content"][0]["text"] for i in sdk_call(append).kwargs["items"]]
    assert [r.op for r in parse_entry("msg_2", text).records] == [END_OP]
    run.answer(appended("msg_2"))
    end = ("msg_2", text)
    # The children listed now are deleted...
    run.exchange(LIST, entries(end, adds("msg_1", a, b)))
    run.expect(f"delete conversation {a}", f"delete conversation {b}")
    run.answer(done(), done())
    # ...then the whole journal is folded (adds that landed meanwhile), and read again after
    # its last entry until nothing new comes;
    run.exchange(LIST, entries(adds("msg_1", a, b), end))
    run.exchange(LIST, entries())
    # then the root goes, last.
    run.exchange(f"delete conversation {ROOT}", done())
    assert run.result() is None
    assert new_index.gate.finished


def test_a_child_added_while_destroying_is_deleted_too(new_index: IndexState) -> None:
    """Another process's add that lands after the listing (before its writer met ``end``)
    is in the journal read that follows: its child is deleted before the root (8.5)."""
    a, late = child(1), child(9)
    run = Scripted(destroy(new_index, erase_items=False))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = [i["content"][0]["text"] for i in sdk_call(append).kwargs["items"]]
    run.answer(appended("msg_2"))
    end = ("msg_2", text)
    run.exchange(LIST, entries(end, adds("msg_1", a)))
    run.exchange(f"delete conversation {a}", done())
    run.exchange(
        LIST, entries(adds("msg_1", a), end, adds("msg_3", late, nonce="00000000000000a9"))
    )
    run.exchange(f"delete conversation {late}", done())
    run.exchange(LIST, entries())
    run.exchange(f"delete conversation {ROOT}", done())
    assert run.result() is None
