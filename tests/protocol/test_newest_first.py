"""``all(newest_first=True)`` and ``latest(n)``: the list backwards, and what it costs.

The property: whatever was added, removed, re-added (by an instance holding the pages or by
one holding none) and compacted, the newest-first list is the reverse of ``all()``, from the
instance that wrote and from a fresh one. The cost: the first screen of a large index comes
from the journal and the last page, 2 requests.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkedthreads import AsyncThreadIndex, IndexSettings, RetryPolicy, ThreadIndex
from tests.conftest import BACKENDS_THREADS_SLOW, memory_index
from tests.memory_client import MemoryClient

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(1, 12)),
        st.tuples(st.just("adopt"), st.integers(0, 40)),  # a re-add by a process holding no page
        st.tuples(st.just("remove"), st.integers(0, 40)),
        st.tuples(st.just("compact"), st.booleans()),
    ),
    max_size=25,
)


@given(kind=st.sampled_from(["conversations", "threads"]), ops=OPS, page_ids=st.integers(1, 4))
def test_newest_first_is_all_backwards(
    kind: str, ops: list[tuple[str, Any]], page_ids: int
) -> None:
    client = MemoryClient(kind)
    settings = IndexSettings(
        retry=RetryPolicy.none(), gc_grace_seconds=0, max_overlay=3, max_record_chars=4000
    )  # small records: a page list of more than about 10 pages goes into directories
    writer = memory_index(client, settings=settings, page_ids=page_ids)
    made: list[str] = []
    for op, arg in ops:
        if op == "create":
            made.extend(c.id for c in writer.create_children(arg))
        elif op == "adopt" and made:
            other = memory_index(client, writer.root_id, settings=settings, page_ids=page_ids)
            other.add(made[arg % len(made)])
        elif op == "remove" and made:
            writer.remove(made[arg % len(made)])
        elif op == "compact":
            writer.compact(full=arg)
    forward = list(writer.all())
    assert list(writer.all(newest_first=True)) == forward[::-1]
    fresh = memory_index(client, writer.root_id, settings=settings, page_ids=page_ids)
    assert list(fresh.all(newest_first=True)) == forward[::-1]
    for n in (0, 1, 3, len(forward), len(forward) + 5):
        assert fresh.latest(n) == forward[::-1][:n]


@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_latest_is_two_requests_at_any_size(client: Any, backend: str) -> None:
    """The newest screen: the journal (its tail holds the newest IDs) and the last page."""
    idx = ThreadIndex.create(client, backend=backend, codec="ascii")  # type: ignore[arg-type]
    d = idx.page_capacity
    idx.create_children(3 * d + 7)
    idx.compact()
    forward = list(idx.all())
    reader = ThreadIndex.open(client, idx.root_id)
    before = reader.requests
    assert reader.latest(25) == forward[::-1][:25]
    assert reader.requests - before == 2
    before = reader.requests
    assert reader.latest(d + 7) == forward[::-1][: d + 7]  # the tail, and one page: held
    assert reader.requests - before == 1
    before = reader.requests
    first = list(itertools.islice(reader.all(newest_first=True), 10))
    assert first == forward[::-1][:10]
    assert reader.requests - before == 1  # every page it needed is in its cache
    assert reader.latest(0) == []
    with pytest.raises(ValueError, match="non-negative"):
        reader.latest(-1)


def test_a_page_list_in_directories_is_read_from_its_last_directory() -> None:
    client = MemoryClient("conversations")
    settings = IndexSettings(retry=RetryPolicy.none(), max_record_chars=4000)
    writer = memory_index(client, settings=settings, page_ids=3)
    ids = [c.id for c in writer.create_children(200)]
    writer.compact()
    assert writer.stats().directories >= 2
    reader = memory_index(client, writer.root_id, settings=settings, page_ids=3)
    before = reader.requests
    assert reader.latest(10) == ids[::-1][:10]
    # The journal, the last of ~22 directories, then the 3 pages (of 3 IDs) the 8 IDs before
    # the 2 in the tail need, in one round.
    assert reader.requests - before == 1 + 1 + 3
    assert list(reader.all(newest_first=True)) == ids[::-1]


async def test_the_async_index_lists_newest_first(emulator: Any, backend: str) -> None:
    sdk = emulator.async_client()
    idx = await AsyncThreadIndex.create(sdk, backend=backend)  # type: ignore[arg-type]
    ids = [c.id for c in await idx.create_children(5)]
    assert await idx.latest(2) == ids[::-1][:2]
    assert [i async for i in idx.all(newest_first=True)] == ids[::-1]
    await sdk.close()
