"""Compaction (docs/design.md 7.2, 5.4) step by step: a dense page refused by the server."""

from __future__ import annotations

from linkedthreads import MetadataError
from linkedthreads._backends import Backend
from linkedthreads._codec import ASCII, DENSE
from linkedthreads._journal import parse_entry
from linkedthreads._protocol import Environment, compact
from linkedthreads._transport import Outcome

from .conftest import ROOT, ManualClock, child, new_index_state
from .journal import adds, page
from .script import Scripted, appended, container, entries, sdk_call


def test_a_refused_dense_page_turns_the_index_to_ascii_and_the_checkpoint_says_so(
    conversations_backend: Backend, scripted_environment: Environment, wall_clock: ManualClock
) -> None:
    """Pages of two IDs. The server refuses the dense page's metadata: nothing was made, so
    nothing is deleted; the checkpoint is planned again in ASCII, its page written and
    checked, and the checkpoint that goes out says ``ascii`` for every other writer (5.4)."""
    state = new_index_state(
        conversations_backend, scripted_environment, alphabet=DENSE, ids_a_page=2
    )
    a, b, c = child(1), child(2), child(3)
    run = Scripted(compact(state, full=True))
    run.exchange(f"list items of conversation {ROOT}", entries(adds("msg_1", a, b, c)))
    (dense,) = run.expect("create conversation")
    assert sdk_call(dense).kwargs["metadata"] == page(a, b, alphabet=DENSE)
    run.answer(Outcome(error=MetadataError("invalid metadata key")))
    (ascii_page,) = run.expect("create conversation")
    sent = sdk_call(ascii_page).kwargs["metadata"]
    assert sent == page(a, b)
    run.answer(container("conv_page", sent))
    (append,) = run.expect(f"append to conversation {ROOT}")
    (text,) = [i["content"][0]["text"] for i in sdk_call(append).kwargs["items"]]
    (record,) = parse_entry("msg_2", text).records
    assert record.checkpoint is not None
    assert record.checkpoint.pages == ("conv_page",)
    assert record.checkpoint.extra == ((c, False),)  # not a page's worth yet
    assert record.checkpoint.upto == "msg_1"
    assert record.checkpoint.ascii
    assert record.checkpoint.time == wall_clock.now
    run.answer(appended("msg_2"))
    assert run.result() is None
    assert state.alphabet is ASCII
    assert state.pending == []
