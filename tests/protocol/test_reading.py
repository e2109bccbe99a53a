"""Reading (docs/design.md, section 6) step by step: a page collected under a reader."""

from __future__ import annotations

from linkedthreads._journal import parse_entry
from linkedthreads._protocol import IndexState, count, list_ids

from .conftest import ROOT, child
from .journal import adds, checkpoint, page, removes
from .script import Scripted, appended, container, entries, not_found, sdk_call

LIST = f"list items of conversation {ROOT}"


def test_count_starts_over_when_a_concurrent_compaction_collected_a_page(
    new_index: IndexState,
) -> None:
    """``len`` reads the pages to learn whether the removed ID is in them (7.4); the page
    its view named is gone (404: collected by another compactor), so it reads the journal
    again and counts from the newer checkpoint; what it learned it shares in an ``at``
    record (4.5)."""
    a, b = child(1), child(2)
    run = Scripted(count(new_index))
    run.exchange(
        LIST,
        entries(
            removes("msg_3", a), checkpoint("msg_2", "msg_1", ("conv_p1",), 2), adds("msg_1", a, b)
        ),
    )
    run.exchange("read conversation conv_p1", not_found())
    # Start over: another compactor's checkpoint now covers the removal too.
    run.exchange(
        LIST,
        entries(
            removes("msg_5", a, nonce="00000000000000b2"),
            checkpoint("msg_4", "msg_3", ("conv_p2",), 2),
            removes("msg_3", a),
        ),
    )
    run.exchange("read conversation conv_p2", container("conv_p2", page(a, b)))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = [i["content"][0]["text"] for i in sdk_call(append).kwargs["items"]]
    (record,) = parse_entry("msg_6", text).records
    assert (record.op, record.ids, record.placed) == ("at", (a,), "1")
    run.answer(appended("msg_6"))
    assert run.result() == 1


def test_all_emits_page_by_page_then_the_tail(new_index: IndexState) -> None:
    a, b, c = child(1), child(2), child(3)
    run = Scripted(list_ids(new_index))
    run.exchange(
        LIST,
        entries(
            adds("msg_3", c), checkpoint("msg_2", "msg_1", ("conv_p1",), 2), adds("msg_1", a, b)
        ),
    )
    run.exchange("read conversation conv_p1", container("conv_p1", page(a, b)))
    assert list(run.expect_emit()) == [a, b]
    assert list(run.expect_emit()) == [c]
    assert run.result() is None
