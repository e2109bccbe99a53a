"""What a reader must hold stays bounded whatever the history (issue 21): the journal answer
``all()`` starts with (entries of at most 100 IDs), and the tail that bulk calls leave
(compaction counts entries by the IDs they carry). Structural: requests, IDs and characters
are counted; memory is reported by benchmarks."""

from __future__ import annotations

import secrets

import pytest

from linkedthreads import IndexSettings, RetryPolicy
from linkedthreads import _protocol as flows
from linkedthreads._journal import Record, parse_entry
from linkedthreads._protocol.entries import ENTRY_IDS
from linkedthreads._protocol.reading import LISTING_JOURNAL_PAGE
from tests.conftest import memory_index
from tests.memory_client import MemoryClient

SETTINGS = IndexSettings(gc_grace_seconds=0, retry=RetryPolicy.none())
NO_COMPACTION = IndexSettings(  # 20 entries: no compaction check, only the appends count
    compact_every=99, gc_grace_seconds=0, retry=RetryPolicy.none()
)


def _ids(n: int) -> list[str]:
    return ["conv_" + secrets.token_hex(24) for _ in range(n)]


def _thread_ids(n: int) -> list[str]:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return ["thread_" + "".join(secrets.choice(digits) for _ in range(24)) for _ in range(n)]


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


def test_all_reads_the_journal_a_hundred_entries_a_request() -> None:
    """A tail of 130 lone entries: all() reads the journal in 2 requests of 100 (70 in 1),
    and lists every ID in order; len reads as many."""
    client = MemoryClient("conversations")
    settings = IndexSettings(compact_every=99, gc_grace_seconds=0, retry=RetryPolicy.none())
    index = memory_index(client, settings=settings)
    listed: list[str] = []
    for size, requests in ((70, 1), (130, 2)):
        # Each instance considers compacting after its own 99th entry: with a fresh writer
        # for each step, no compaction runs and the whole journal is the tail.
        writer = memory_index(client, index.root_id, settings=settings)
        for id_ in _ids(size - len(listed)):
            writer.add(id_)
            listed.append(id_)
        before = index.requests
        assert list(index.all()) == listed
        assert index.requests - before == requests
        before = index.requests
        assert len(index) == size
        assert index.requests - before == requests


def _entries(client: MemoryClient, root_id: str) -> list[tuple[str, str]]:
    return list(client.store.objects[root_id].entries)


@pytest.mark.parametrize("backend", ["conversations", "threads"])
def test_a_bulk_record_is_entries_of_at_most_a_hundred_ids(backend: str) -> None:
    """add_many of 2,000 IDs: 20 entries of 100 IDs (about 3,200 characters each), one
    append of conversations (20 items a request), 20 of threads (one message a request);
    (design 6.3, 7.2)."""
    client = MemoryClient(backend)
    index = memory_index(client, settings=NO_COMPACTION, codec="dense")
    ids = _ids(2_000) if backend == "conversations" else _thread_ids(2_000)
    before = index.requests
    index.add_many(ids)
    sent = index.requests - before
    texts = [t for _, t in _entries(client, index.root_id)]
    records = [r for i, t in enumerate(texts) for r in parse_entry(str(i), t).records]
    adds = [r for r in records if r.op == "add"]
    assert len(adds) == 20
    assert all(len(r.ids) == ENTRY_IDS for r in adds)
    assert [i for r in adds for i in r.ids] == ids
    assert max(len(t) for t in texts) < 3_400
    assert sent == (1 if backend == "conversations" else 20)
    assert list(index.all()) == ids


def test_the_first_journal_answer_is_small_after_bulk_growth() -> None:
    """What the SDK decodes whole when all() starts (issue 21): the newest 100 entries. Grown
    by add_many calls of 2,000 IDs, they were near max_record_chars each (64,000: about
    6 MiB of texts, 18 MiB decoded); now they are entries of at most 100 IDs and the
    checkpoints among them, whatever the size the index grew to."""
    client = MemoryClient("conversations")
    index = memory_index(client, settings=SETTINGS, codec="dense")
    for _ in range(25):
        index.add_many(_ids(2_000))
    index.compact()
    newest = _entries(client, index.root_id)[-LISTING_JOURNAL_PAGE:]
    checkpoints = [t for _, t in newest if '"op":"ckpt"' in t]
    others = [t for _, t in newest if '"op":"ckpt"' not in t]
    assert max(map(len, others)) < 3_400
    assert len(checkpoints) <= 4
    assert sum(map(len, newest)) < 100 * 3_400 + 4 * 64_000
    assert len(index) == 50_000
