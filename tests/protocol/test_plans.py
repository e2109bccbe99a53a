"""The writes' plans (``_protocol/plans.py``) driven step by step, with scripted outcomes and
no I/O: what each write announces, runs and appends, in order, and what it does when a step
fails. The front ends only carry these steps out (``tests/frontends/test_sync_async.py``
runs both)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from linkedthreads import (
    IndexNotFoundError,
    IndexSettings,
    InvalidIdError,
    LinkedThreadsError,
    MetadataError,
)
from linkedthreads._backends import Container, make_backend
from linkedthreads._codec import ASCII
from linkedthreads._journal import Record
from linkedthreads._protocol import IndexState
from linkedthreads._protocol import plans as bulk
from linkedthreads._protocol.plans import Commit, Expect, Plan, PlanSteps, Ready

ROOT = "conv_root"
NOT_TEXT: Any = {"k": 1}  # metadata values are strings
Script = Callable[[Any], Any]  # a flow's name or a Commit -> its outcome (or an exception)


def _state(bulk_batch: int = 2) -> IndexState:
    return IndexState(
        make_backend("conversations"), ROOT, ASCII, IndexSettings(bulk_batch=bulk_batch)
    )


def _made(*ids: str) -> list[Container]:
    return [Container(id_, {}, {"id": id_}) for id_ in ids]


def _drive(
    plan: Plan[Any],
    flow_result: Script,
    commit: Script | None = None,
    *,
    scope_exists: bool = True,
) -> list[Any]:
    """Carry ``plan`` out as a front end would, but with scripted outcomes: each flow is
    named, not run. ``Ready`` is answered with the state the plan was given (an index, or a
    scope that exists), or None (``scope_exists=False``: a scope never written), and is not
    listed. Returns the steps in order, and the plan's result or error last."""
    seen: list[Any] = []
    steps = PlanSteps(plan)
    try:
        while (step := steps.next()) is not None:
            if isinstance(step, Ready):
                known = plan.gi_frame.f_locals.get("known")  # type: ignore[attr-defined]
                steps.reply(known if scope_exists else None)
                continue
            if isinstance(step, (Expect, Commit)):
                seen.append(step)
                outcome = commit(step) if commit and isinstance(step, Commit) else None
            else:
                name = step.gi_code.co_name  # type: ignore[attr-defined]
                step.close()
                seen.append(name)
                outcome = flow_result(name)
            if isinstance(outcome, BaseException):
                steps.fail(outcome)
            else:
                steps.reply(outcome)
    except BaseException as exc:
        seen.append(exc)
        return seen
    seen.append(steps.result)
    return seen


def test_create_children_announces_creates_and_appends_a_batch_at_a_time() -> None:
    batches = iter([_made("conv_a", "conv_b"), _made("conv_c")])
    seen = _drive(
        bulk.create_children(_state(bulk_batch=2), 3, None, {}),
        lambda name: (next(batches), None),
    )
    assert seen == [
        Expect(2),
        "create_children",
        Commit([Record(op="add", ids=("conv_a", "conv_b"), new=True)], expected=2),
        Expect(1),
        "create_children",
        Commit([Record(op="add", ids=("conv_c",), new=True)], expected=1),
        [{"id": "conv_a"}, {"id": "conv_b"}, {"id": "conv_c"}],
    ]


def test_a_failed_create_lists_what_was_made_then_raises() -> None:
    error = OSError("one create failed")
    seen = _drive(
        bulk.create_children(_state(bulk_batch=5), 7, None, {}),
        lambda name: (_made("conv_a"), error),
    )
    assert seen == [
        Expect(5),
        "create_children",
        Commit([Record(op="add", ids=("conv_a",), new=True)], expected=5),
        error,  # the second batch is never started
    ]


def test_a_create_flow_that_raises_withdraws_its_announcement() -> None:
    error = KeyboardInterrupt()
    seen = _drive(bulk.create_children(_state(), 2, None, {}), lambda name: error)
    assert seen == [Expect(2), "create_children", Expect(-2), error]


def test_children_made_for_a_gone_index_are_deleted() -> None:
    gone = IndexNotFoundError("the index was destroyed")
    seen = _drive(
        bulk.create_children(_state(), 1, None, {}),
        lambda name: (_made("conv_a"), None) if name == "create_children" else None,
        commit=lambda step: gone,
    )
    assert seen[-2:] == ["discard_children", gone]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda core: bulk.create_children(core, -1, None, {}), ValueError),
        (lambda core: bulk.create_children(core, 1, NOT_TEXT, {}), MetadataError),
        (lambda core: bulk.create_children(core, 1, None, {"messages": []}), LinkedThreadsError),
        (lambda core: bulk.delete_objects(core, ["thread_x"], False), InvalidIdError),
        (lambda core: bulk.add_ids(core, [ROOT]), InvalidIdError),
        (lambda core: bulk.remove_ids(core, "conv_a"), InvalidIdError),
    ],
)
def test_bad_arguments_are_refused_before_any_step(
    make: Callable[[IndexState], Plan[Any]], error: type[Exception]
) -> None:
    (raised,) = _drive(make(_state()), lambda name: pytest.fail("no step"))
    assert type(raised) is error


def test_delete_many_appends_what_is_gone_a_batch_at_a_time() -> None:
    error = OSError("refused")
    results = iter([(["conv_a", "conv_b"], None), (["conv_c"], error)])
    seen = _drive(
        bulk.delete_objects(_state(bulk_batch=2), ["conv_a", "conv_b", "conv_c", "conv_d"], False),
        lambda name: next(results),
    )
    assert seen == [
        Expect(2),
        "delete_objects",
        Commit([Record(op="rm", ids=("conv_a", "conv_b"))], expected=2),
        Expect(2),
        "delete_objects",
        Commit([Record(op="rm", ids=("conv_c",))], expected=2),
        error,
    ]


def test_nothing_deleted_still_takes_its_turn_in_the_group_commit() -> None:
    seen = _drive(bulk.delete_objects(_state(), ["conv_a"], False), lambda name: ([], None))
    assert seen == [Expect(1), "delete_objects", Commit([], expected=1), None]


@pytest.mark.parametrize(("plan", "op"), [(bulk.add_ids, "add"), (bulk.remove_ids, "rm")])
def test_add_and_remove_do_upkeep_then_append_one_record(plan: Any, op: str) -> None:
    seen = _drive(plan(_state(), ["conv_a", "conv_b", "conv_a"]), lambda name: None)
    assert seen == [
        "maybe_compact",
        Commit([Record(op=op, ids=("conv_a", "conv_b"))]),
        None,
    ]
    assert _drive(plan(_state(), []), lambda name: None) == [None]  # no IDs, no request


def test_a_scope_never_written_forgets_nothing_and_deletes_without_a_record() -> None:
    assert _drive(bulk.remove_ids(_state(), ["conv_a"]), lambda name: None, scope_exists=False) == [
        None
    ]
    seen = _drive(
        bulk.delete_objects(_state(), ["conv_a"], False),
        lambda name: (["conv_a"], None),
        scope_exists=False,
    )
    assert seen == ["delete_objects", None]  # no announcement, no append
