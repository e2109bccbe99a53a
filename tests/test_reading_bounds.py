"""What a reader must hold stays bounded whatever the history (issue 21): the journal answer
``all()`` asks for, and the tail that bulk calls leave (compaction counts entries by the IDs
they carry). Structural: requests and IDs are counted, memory is reported by benchmarks."""

from __future__ import annotations

import secrets

from linkedthreads import IndexSettings, RetryPolicy
from linkedthreads import _protocol as flows
from linkedthreads._journal import Record

from .conftest import memory_index
from .memory_client import MemoryClient

SETTINGS = IndexSettings(gc_grace_seconds=0, retry=RetryPolicy.none())


def _ids(n: int) -> list[str]:
    return ["conv_" + secrets.token_hex(24) for _ in range(n)]


def test_an_entry_counts_one_per_hundred_ids_it_carries() -> None:
    assert flows.entry_weight([]) == 1
    assert flows.entry_weight([Record(op="add", ids=tuple(_ids(1)))]) == 1
    assert flows.entry_weight([Record(op="add", ids=tuple(_ids(100)))]) == 1
    assert flows.entry_weight([Record(op="add", ids=tuple(_ids(101)))]) == 2
    two = [Record(op="add", ids=tuple(_ids(1_500))), Record(op="rm", ids=tuple(_ids(500)))]
    assert flows.entry_weight(two) == 20


def test_bulk_calls_keep_the_unpaged_tail_short() -> None:
    """40 add_many calls of 500 IDs are 40 entries, fewer than compact_every: counted by the
    entry they never compacted, and a reader folded all 20,000 IDs. Counted by the IDs, the
    writer compacts every 64 hundred IDs or so, and the tail stays that short."""
    client = MemoryClient("conversations")
    index = memory_index(client, settings=SETTINGS)
    listed: list[str] = []
    for _ in range(40):
        ids = _ids(500)
        index.add_many(ids)
        listed += ids
    stats = index.stats()
    bound = flows.WEIGHT_IDS * (SETTINGS.compact_every + SETTINGS.compact_every // 2)
    assert stats.unpaged is not None
    assert stats.unpaged <= bound + index.page_capacity
    assert stats.pages > 0
    assert list(index.all()) == listed


def test_all_reads_a_long_tail_fifty_entries_a_request() -> None:
    """A tail of 70 lone entries: all() reads the journal in 2 requests of 50 and lists
    every ID in order; len still reads 100 entries in 1 request."""
    client = MemoryClient("conversations")
    settings = IndexSettings(compact_every=99, gc_grace_seconds=0, retry=RetryPolicy.none())
    index = memory_index(client, settings=settings)
    index._core.compaction_countdown = 10_000  # no compaction: the whole journal is the tail
    listed = []
    for id_ in _ids(70):
        index.add(id_)
        listed.append(id_)
    before = index._executor.requests.value
    assert list(index.all()) == listed
    assert index._executor.requests.value - before == 2
    before = index._executor.requests.value
    assert len(index) == 70
    assert index._executor.requests.value - before == 1
