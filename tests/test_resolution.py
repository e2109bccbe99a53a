"""What readers learn of the pages (docs/design.md 7.4), on the in-memory client: exact
request counts, with the page list in the checkpoint and in directories."""

from __future__ import annotations

import pytest

from linkedthreads import IndexSettings, RetryPolicy

from .conftest import memory_index
from .memory_client import MemoryClient


@pytest.mark.parametrize("directories", [False, True])
def test_a_count_learned_by_one_instance_is_recorded_for_all(directories: bool) -> None:
    """Removing paged IDs (one listed, one never listed) makes the count read the pages once;
    the reader's next write records what it learned, and every instance counts in 1 request
    again, whether the page list sits in the checkpoint or in directories."""
    settings = IndexSettings(
        compact_every=99,
        max_record_chars=4_000 if directories else 64_000,
        gc_grace_seconds=0,
        retry=RetryPolicy.none(),
    )
    client = MemoryClient("conversations")
    index = memory_index(client, settings=settings, page_ids=2)
    ids = [c.id for c in index.create_children(60)]
    index.compact(full=True)
    dirs = index.stats().directories
    assert (dirs > 0) is directories
    index.remove(ids[3])
    index.remove("conv_" + "f" * 48)  # never listed
    expected = [i for i in ids if i != ids[3]]
    other = memory_index(client, index.root_id, settings=settings, page_ids=2)
    assert other.stats().children is None

    store = client.store
    before = store.requests
    assert len(index) == len(expected)
    assert store.requests - before > 20  # the pages, once
    before = store.requests
    assert len(index) == len(expected)
    assert store.requests - before == 1 + dirs  # the journal (and the directories)

    expected.append(index.create_child().id)  # the next write records what it learned
    before = store.requests
    assert len(other) == len(expected)
    assert other.stats().children == len(expected)
    assert store.requests - before == 1 + (1 + dirs)  # len: the journal; stats: + dirs
    assert list(other.all()) == expected
