"""The page cache (docs/design.md 7.5): unit tests of the bounded LRU, and exact request
counts on the in-memory client for what it saves (a rebuild, ``in``) and what it must not
hide (``verify`` reads what the server holds)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkedthreads import IndexSettings, RetryPolicy
from linkedthreads import _protocol as flows
from linkedthreads._codec import ids_to_bits
from linkedthreads._page_cache import PageCache, Probe
from tests.conftest import memory_index, memory_index_with_state
from tests.memory_client import MemoryClient


def _put(cache: PageCache, page_id: str, ids: list[str]) -> None:
    value, nbits = ids_to_bits(ids)
    cache.put(page_id, value, nbits, ids)


def _ids(n: int, tag: str) -> list[str]:
    return [f"conv_{tag}{i:047x}"[:53] for i in range(n)]


def test_a_cached_page_reads_back_as_written() -> None:
    cache = PageCache(100)
    ids = ["conv_" + "a" * 48, "thread_abc", "any-opaque id"]
    _put(cache, "p1", ids)
    assert cache.get("p1") == ids
    assert cache.get("p2") is None


def test_the_cache_is_bounded_in_ids_and_drops_the_least_recently_used() -> None:
    cache = PageCache(10)
    _put(cache, "p1", _ids(4, "1"))
    _put(cache, "p2", _ids(4, "2"))
    assert cache.get("p1") is not None  # p1 is now the most recently used
    _put(cache, "p3", _ids(4, "3"))  # 12 > 10: the least recently used (p2) goes
    assert cache.get("p2") is None
    assert cache.get("p1") == _ids(4, "1")
    assert cache.get("p3") == _ids(4, "3")
    assert cache.ids == 8
    assert len(cache) == 2
    _put(cache, "p3", _ids(4, "3"))  # putting again does not count twice
    assert cache.ids == 8


def test_a_page_larger_than_the_cache_is_not_kept_and_zero_turns_it_off() -> None:
    cache = PageCache(3)
    _put(cache, "p1", _ids(4, "1"))
    assert cache.get("p1") is None
    assert cache.ids == 0
    off = PageCache(0)
    _put(off, "p1", _ids(1, "1"))
    assert off.get("p1") is None


_IDS = st.lists(
    st.one_of(
        st.text(alphabet="0123456789abcdef", min_size=48, max_size=48).map("conv_".__add__),
        st.text(min_size=1, max_size=30),  # any other shape: the raw fallback
    ),
    min_size=1,
    max_size=40,
    unique=True,
)


@given(_IDS, st.lists(st.text(min_size=1, max_size=30), max_size=10))
def test_holds_answers_exactly_what_the_page_holds(ids: list[str], others: list[str]) -> None:
    cache = PageCache(100)
    assert cache.holds("p1", ids[0]) is None  # not cached: the caller must read the page
    _put(cache, "p1", ids)
    for candidate in ids + others:
        assert cache.holds("p1", candidate) is (candidate in ids)


def test_holds_decodes_only_a_page_whose_hash_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Testing an absent ID against cached pages costs no decoding (design 7.5)."""
    from linkedthreads import _page_cache

    cache = PageCache(1_000)
    for n in range(10):
        _put(cache, f"p{n}", _ids(50, str(n)))
    decoded: list[int] = []
    real = _page_cache.bits_to_ids
    monkeypatch.setattr(_page_cache, "bits_to_ids", lambda v, n: decoded.append(n) or real(v, n))
    assert not any(cache.holds(f"p{n}", "conv_" + "e" * 48) for n in range(10))
    assert decoded == []
    assert cache.holds("p7", _ids(50, "7")[31]) is True
    assert len(decoded) == 1


@given(
    _IDS,
    st.lists(st.text(min_size=1, max_size=30), max_size=10),
    st.integers(0, 3),
    st.data(),
)
def test_find_counts_exactly_what_the_page_holds(
    ids: list[str], others: list[str], repeats: int, data: st.DataObject
) -> None:
    """``find`` (many IDs at once: set intersection; few: binary search) says how many times
    the page holds each wanted ID, and nothing of the others."""
    page = ids + ids[:repeats]  # a damaged page may repeat IDs: counted, not hidden
    wanted = data.draw(st.lists(st.sampled_from(ids + others or ["x"]), unique=True))
    cache = PageCache(100)
    assert cache.find("p1", Probe(wanted)) is None
    _put(cache, "p1", page)
    found = cache.find("p1", Probe(wanted))
    assert found == {w: page.count(w) for w in wanted if w in page}


def test_page_cache_ids_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="page_cache_ids"):
        IndexSettings(page_cache_ids=-1)


def _settings(cache: int) -> IndexSettings:
    return IndexSettings(
        compact_every=99, gc_grace_seconds=0, page_cache_ids=cache, retry=RetryPolicy.none()
    )


@pytest.mark.parametrize("kind", ["conversations", "threads"])
def test_the_writer_rebuilds_without_reading_the_pages_it_wrote(kind: str) -> None:
    """Removals of random old IDs, then a rebuild: the instance that wrote the pages reads
    none of them; one with the cache off reads each once. Both state the same list."""
    counts: dict[int, int] = {}
    lists: dict[int, list[str]] = {}
    for cache in (250_000, 0):
        client = MemoryClient(kind)
        index = memory_index(client, settings=_settings(cache), page_ids=5)
        ids = [c.id for c in index.create_children(60)]
        index.compact(full=True)
        pages = index.stats().pages
        assert pages >= 10
        gone = random.Random(7).sample(ids[:50], 6)
        for victim in gone:
            index.remove(victim)
        before = client.store.requests
        index.compact(full=True)
        counts[cache] = client.store.requests - before
        lists[cache] = list(memory_index(client, index.root_id).all())
        assert lists[cache] == [i for i in ids if i not in gone]
    assert counts[0] - counts[250_000] == pages  # every page read once, or none


def test_in_answers_from_the_pages_an_instance_holds() -> None:
    """``in`` of an old child costs the writer 1 request (the journal); a fresh instance
    reads pages up to the child's, and then holds them too."""
    client = MemoryClient("conversations")
    index = memory_index(client, settings=_settings(250_000), page_ids=5)
    ids = [c.id for c in index.create_children(60)]
    index.compact(full=True)
    store = client.store
    before = store.requests
    assert ids[40] in index
    assert "conv_" + "f" * 48 not in index
    assert store.requests - before == 2
    fresh = memory_index(client, index.root_id, settings=_settings(250_000), page_ids=5)
    before = store.requests
    assert ids[40] in fresh
    assert store.requests - before > 2
    before = store.requests
    assert ids[40] in fresh
    assert store.requests - before == 1


@pytest.mark.slow
def test_verify_reads_what_the_server_holds_not_the_cache() -> None:
    """A page deleted by hand is a problem for ``verify`` even in the instance that wrote it
    (and holds its copy); repair rebuilds from the journal."""
    client = MemoryClient("conversations")
    made = memory_index_with_state(client, settings=_settings(250_000), page_ids=5)
    index, state = made.index, made.state
    ids = [c.id for c in index.create_children(30)]
    index.compact(full=True)
    assert state.cache.ids >= 25  # the writer holds its pages
    checkpoint_pages = list(made.run(flows.read_view(state)).base.pages)
    client.conversations.delete(checkpoint_pages[1])
    report = index.verify()
    assert not report.ok
    assert checkpoint_pages[1] in " ".join(report.problems)
    assert index.verify(repair=True).repaired
    assert list(index.all()) == ids


@pytest.mark.parametrize("cache", [250_000, 0])
def test_a_compaction_by_the_writer_records_what_its_pages_hold(cache: int) -> None:
    """After removals of paged IDs (one listed, one never listed), a compaction
    by the instance that holds every page records where the undecided IDs are without a page
    read (design 7.4, 7.5), so that any reader counts in 1 request; without the cache the
    count still needs the pages. The list is the same either way."""
    client = MemoryClient("conversations")
    index = memory_index(client, settings=_settings(cache), page_ids=5)
    ids = [c.id for c in index.create_children(60)]
    index.compact(full=True)
    index.remove(ids[3])
    index.remove("conv_" + "f" * 48)  # never listed
    store = client.store
    before = store.requests
    index.compact()
    assert store.requests - before == 2  # the journal, the append: no page read
    reader = memory_index(client, index.root_id, settings=_settings(0), page_ids=5)
    expected = [i for i in ids if i != ids[3]]
    before = store.requests
    assert len(reader) == len(expected)
    assert (store.requests - before == 1) is (cache > 0)
    assert list(reader.all()) == expected
