"""``fetch``'s rounds, step by step (no HTTP): the reads of a screen go out as batches of
``concurrency`` (32 by default) with that width, whatever ``read_concurrency`` is; a 404
is None, repeats are read once, and an error stops the rounds after the one it was in.
Over HTTP, ``tests/frontends/test_fetch.py`` shows the reads of a round in flight
together."""

from __future__ import annotations

import math

import pytest

from linkedthreads._backends import Backend, Container
from linkedthreads._errors import APIRequestError
from linkedthreads._fetch import FETCH_CONCURRENCY, fetch_children
from linkedthreads._protocol import Batch
from linkedthreads._protocol.environment import Environment
from linkedthreads._transport import Outcome

from .conftest import child, new_index_state
from .script import Scripted, not_found, refused


def read(id_: str) -> Outcome:
    """A read's answer: the object ``id_`` (its SDK object stands in as a dict)."""
    return Outcome(Container(id_, {}, {"id": id_}))


def answer_rounds(run: Scripted[list[object]], sizes: list[int]) -> list[Batch]:
    """Expect batches of ``sizes`` reads, each answered with its objects; the batches."""
    batches = []
    for size in sizes:
        requests = run.expect(*["*"] * size)
        step = run.steps[-1]
        assert isinstance(step, Batch)
        batches.append(step)
        run.answer(*(read(r.what.split()[-1]) for r in requests))
    return batches


@pytest.mark.parametrize("read_concurrency", [4, 8, 64])
@pytest.mark.parametrize(("n", "concurrency"), [(20, None), (40, None), (40, 1), (40, 8), (40, 40)])
def test_rounds_of_concurrency_each_as_wide_as_itself(
    conversations_backend: Backend,
    scripted_environment: Environment,
    n: int,
    concurrency: int | None,
    read_concurrency: int,
) -> None:
    state = new_index_state(
        conversations_backend, scripted_environment, read_concurrency=read_concurrency
    )
    ids = [child(i) for i in range(n)]
    width = concurrency or FETCH_CONCURRENCY
    sizes = [min(width, n - start) for start in range(0, n, width)]
    assert len(sizes) == math.ceil(n / width)
    run = Scripted(fetch_children(state, ids, width))
    batches = answer_rounds(run, sizes)
    assert [b.width for b in batches] == [width] * len(sizes)
    assert [r.what.split()[-1] for b in batches for r in b.requests] == ids
    assert run.result() == [{"id": i} for i in ids]


def test_a_404_is_none_and_repeats_are_read_once(
    conversations_backend: Backend, scripted_environment: Environment
) -> None:
    state = new_index_state(conversations_backend, scripted_environment)
    a, b, c = child(1), child(2), child(3)
    run = Scripted(fetch_children(state, [c, b, a, c], FETCH_CONCURRENCY))
    requests = run.expect("*", "*", "*")
    assert [r.what.split()[-1] for r in requests] == [c, b, a]
    run.answer(read(c), not_found(), read(a))
    assert run.result() == [{"id": c}, None, {"id": a}, {"id": c}]


def test_an_error_other_than_404_stops_the_rounds_after_its_own(
    conversations_backend: Backend, scripted_environment: Environment
) -> None:
    state = new_index_state(conversations_backend, scripted_environment)
    ids = [child(i) for i in range(12)]
    run = Scripted(fetch_children(state, ids, 4))
    requests = run.expect(*["*"] * 4)
    run.answer(read(ids[0]), refused(500, "boom"), read(ids[2]), not_found())
    assert isinstance(run.raises(APIRequestError), APIRequestError)
    assert [r.what.split()[-1] for r in requests] == ids[:4]


def test_no_id_no_request(
    conversations_backend: Backend, scripted_environment: Environment
) -> None:
    state = new_index_state(conversations_backend, scripted_environment)
    assert Scripted(fetch_children(state, [], FETCH_CONCURRENCY)).result() == []
