"""What readers learn of the pages (docs/design.md 7.4), on the in-memory client: exact
request counts, with the page list in the checkpoint and in directories."""

from __future__ import annotations

import json
import random
import string

import pytest

from linkedthreads import APIRequestError, IndexSettings, RetryPolicy, ThreadIndex
from linkedthreads._codec import encode_ids
from linkedthreads._journal import Checkpoint, Record, dump_records, parse_entry
from tests.conftest import memory_index, memory_index_with_state
from tests.memory_client import MemoryClient


def _paged_index(
    directories: bool, *, record_counts: bool = True
) -> tuple[IndexSettings, MemoryClient, ThreadIndex, list[str]]:
    """60 conversations in pages of 2, the page list inline or in directories."""
    settings = IndexSettings(
        compact_every=99,
        max_record_chars=4_000 if directories else 64_000,
        gc_grace_seconds=0,
        retry=RetryPolicy.none(),
        record_counts=record_counts,
    )
    client = MemoryClient("conversations")
    index = memory_index(client, settings=settings, page_ids=2)
    ids = [c.id for c in index.create_children(60)]
    index.compact(full=True)
    return settings, client, index, ids


@pytest.mark.parametrize("directories", [False, True])
def test_a_count_learned_by_one_instance_is_recorded_for_all(directories: bool) -> None:
    """Removing paged IDs (one listed, one never listed) through an instance that holds no
    page makes a reader's count read the pages once; with ``record_counts`` off, the
    reader's next write records what it learned, and every instance counts in 1 request
    again, whether the page list sits in the checkpoint or in directories. The writer, which
    holds the pages and directories it wrote (design 7.5), counts in 1."""
    settings, client, index, ids = _paged_index(directories, record_counts=False)
    dirs = index.stats().directories
    assert (dirs > 0) is directories
    cold = memory_index(client, index.root_id, settings=settings, page_ids=2)
    cold.remove(ids[3])
    cold.remove("conv_" + "f" * 48)  # never listed
    expected = [i for i in ids if i != ids[3]]
    reader = memory_index(client, index.root_id, settings=settings, page_ids=2)
    other = memory_index(client, index.root_id, settings=settings, page_ids=2)
    store = client.store
    before = store.requests
    assert other.stats().children is None
    assert store.requests - before == 1 + dirs  # the journal (and the directories)

    before = store.requests
    assert len(reader) == len(expected)
    assert store.requests - before > 20  # the pages, once
    before = store.requests
    assert len(reader) == len(expected)
    assert store.requests - before == 1  # the journal (directories and pages: cached)
    before = store.requests
    assert len(index) == len(expected)
    assert store.requests - before == 1  # the writer holds what it wrote

    expected.append(reader.create_child().id)  # the next write records what it learned
    before = store.requests
    assert len(other) == len(expected)
    assert other.stats().children == len(expected)
    assert store.requests - before == 2  # the journal, twice (other holds the directories)
    assert list(other.all()) == expected


@pytest.mark.parametrize("directories", [False, True])
def test_a_count_read_from_the_pages_is_shared_at_once(directories: bool) -> None:
    """A count that had to read the pages says what they hold in one ``at`` record (design
    4.5), keyed by the page list or its directories: every other instance then counts with
    the journal alone, before anyone writes. The record changes no list."""
    settings, client, index, ids = _paged_index(directories)
    cold = memory_index(client, index.root_id, settings=settings, page_ids=2)
    cold.remove(ids[3])
    cold.remove("conv_" + "f" * 48)  # never listed
    cold.add(ids[7])  # listed already: conditional
    expected = [i for i in ids if i != ids[3]]
    reader = memory_index(client, index.root_id, settings=settings, page_ids=2)
    store = client.store
    stats = index.stats()
    before = store.requests
    assert len(reader) == len(expected)
    pages, dirs = stats.pages, stats.directories
    assert store.requests - before == 1 + dirs + pages + 1  # journal, directories, pages, `at`
    root = store.objects[index.root_id]
    (shared,) = parse_entry("last", root.entries[-1][1]).records
    assert shared.op == "at"
    assert dict(zip(shared.ids, shared.placed, strict=True)) == {
        ids[3]: "1",
        ids[7]: "1",
        "conv_" + "f" * 48: "0",
    }
    other = memory_index(client, index.root_id, settings=settings, page_ids=2)
    before = store.requests
    assert len(other) == len(expected)
    assert store.requests - before == 1  # the journal: no directory, no page
    assert other.stats().children == len(expected)
    assert list(other.all()) == expected


def test_a_count_on_a_read_only_key_still_counts() -> None:
    """A server that refuses the ``at`` append (a key that may only read) does not fail the
    count; the instance stops trying, and counts from what it learned."""
    settings, client, index, ids = _paged_index(False)
    cold = memory_index(client, index.root_id, settings=settings, page_ids=2)
    cold.remove(ids[3])
    expected = [i for i in ids if i != ids[3]]
    client.store.read_only = True
    reader = memory_index(client, index.root_id, settings=settings, page_ids=2)
    store = client.store
    pages = index.stats().pages
    before = store.requests
    assert len(reader) == len(expected)
    assert store.requests - before == 1 + pages + 1  # the refused append, tried once
    before = store.requests
    assert len(reader) == len(expected)
    assert len(memory_index(client, index.root_id, settings=settings, page_ids=2)) == len(expected)
    assert store.requests - before == 1 + 1 + pages + 1  # this one again, and another
    with pytest.raises(APIRequestError, match="HTTP 403"):
        cold.remove(ids[4])  # a write is refused, and says so
    assert list(reader.all()) == expected


@pytest.mark.parametrize("directories", [False, True])
def test_what_a_writer_states_makes_every_count_one_request(directories: bool) -> None:
    """The writer holds every page (and directory) it wrote, so its removals and adds state
    where their IDs are (design 4.4), under the key of the page list or of the directories:
    any reader then counts with the journal alone, whatever N is."""
    settings, client, index, ids = _paged_index(directories)
    assert (index.stats().directories > 0) is directories
    index.remove_many([ids[3], ids[40], "conv_" + "f" * 48])
    index.add(ids[7])
    expected = [i for i in ids if i not in (ids[3], ids[40])]
    store = client.store
    reader = memory_index(client, index.root_id, settings=settings, page_ids=2)
    before = store.requests
    assert len(reader) == len(expected)
    assert store.requests - before == 1
    assert list(reader.all()) == expected
    root = store.objects[index.root_id]
    stated = [json.loads(line) for _, text in root.entries[-2:] for line in text.splitlines()]
    assert [(r["op"], r["in"]) for r in stated] == [("rm", "110"), ("add", "1")]


@pytest.mark.parametrize("codec", ["ascii", "dense"])
@pytest.mark.parametrize("kind", ["conversations", "threads"])
def test_a_full_overlay_fits_a_checkpoint_record(kind: str, codec: str) -> None:
    """The default overlay limit L is a whole page in both codecs (design 7.2), and a
    checkpoint at the usual worst (a page of ``extra``, L hidden IDs all held, the longest
    page list kept inline, 128 nonces) stays within ``max_record_chars``."""
    rng = random.Random(f"{kind}{codec}")

    def some_id() -> str:
        if kind == "threads":
            return "thread_" + "".join(rng.choices(string.ascii_letters + string.digits, k=24))
        return "conv_" + "".join(rng.choices("0123456789abcdef", k=48))

    state = memory_index_with_state(MemoryClient(kind), codec=codec).state
    limit, page = state.overlay_limit, state.page_capacity
    pages_hold = {
        "ascii": {"conversations": 313, "threads": 421},
        "dense": {"conversations": 718, "threads": 964},
    }
    assert limit == page == pages_hold[codec][kind]
    page_list: list[str] = []
    while len(encode_ids([*page_list, "x"])) <= state.settings.max_record_chars / 8:
        page_list.append(some_id())
    hidden = frozenset(some_id() for _ in range(limit))
    checkpoint = Checkpoint(
        upto="msg_" + "0" * 48,
        pages=tuple(page_list),
        slots=page * len(page_list),
        extra=tuple((some_id(), False) for _ in range(page)),
        hide=hidden,
        held=hidden,
        time=1.0e9,
        nonces=tuple(f"{rng.getrandbits(64):016x}.{i % 20}" for i in range(128)),
    )
    text = dump_records([Record(op="ckpt", checkpoint=checkpoint)], "0" * 16 + ".0")
    assert len(text) <= state.settings.max_record_chars
