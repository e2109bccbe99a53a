"""ThreadIndex end to end: the real openai SDK over HTTP against the emulator, both backends."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from linkedthreads import (
    BackendUnavailableError,
    IndexNotFoundError,
    IndexSettings,
    InvalidIdError,
    LinkedThreadsError,
    MetadataError,
    NotAnIndexError,
    RetryPolicy,
    ThreadIndex,
    UnsupportedFormatError,
)
from tests.conftest import BACKENDS_THREADS_SLOW
from tests.sdk_warnings import OWN_THREADS_CALLS


def raw_create(client: Any, backend: str, **kwargs: Any) -> str:
    if backend == "threads":
        return str(client.beta.threads.create(**kwargs).id)
    return str(client.conversations.create(**kwargs).id)


APPEND_ROUTE = {
    "conversations": "POST /v1/conversations/{conversation_id}/items",
    "threads": "POST /v1/threads/{thread_id}/messages",
}


def total(emulator: Any) -> int:
    return int(emulator.stats()["total"])


@OWN_THREADS_CALLS
def test_children_are_listed_in_the_order_added(
    index: ThreadIndex, client: Any, backend: str
) -> None:
    """create_child, create_children and add append to the list in call order."""
    a = index.create_child().id
    b, c = (x.id for x in index.create_children(2))
    d = raw_create(client, backend)
    index.add(d)
    index.add(a)  # already listed: nothing changes
    assert list(index.all()) == [a, b, c, d]
    assert len(index) == 4
    assert a in index
    assert d in index
    assert "conv_nope" not in index


def test_remove_forgets_and_delete_deletes(index: ThreadIndex, emulator: Any, backend: str) -> None:
    """remove keeps the object; delete deletes it; both drop it from the list."""
    a, b, c = (x.id for x in index.create_children(3))
    index.remove(a)
    index.delete(b)
    index.remove(a)  # unlisted: nothing changes
    assert list(index.all()) == [c]
    live = emulator.live_ids(backend)
    assert a in live
    assert b not in live
    assert c in live


def test_readd_after_remove_moves_to_the_end(index: ThreadIndex) -> None:
    """An ID is listed where the add that listed it last stands."""
    a, b = (x.id for x in index.create_children(2))
    index.remove(a)
    index.add(a)
    assert list(index.all()) == [b, a]
    index.compact(full=True)
    assert list(index.all()) == [b, a]


def test_child_metadata_names_its_index_and_kwargs_pass_through(
    index: ThreadIndex, client: Any, backend: str
) -> None:
    """The child keeps the user's metadata plus the one key naming the index."""
    extra: dict[str, Any] = (
        {"items": [{"type": "message", "role": "user", "content": "hi"}]}
        if backend == "conversations"
        else {"messages": [{"role": "user", "content": "hi"}]}
    )
    child = index.create_child(metadata={"user": "42"}, **extra)
    assert child.metadata == {"user": "42", "linkedthreads": f"in:{index.root_id}"}
    with pytest.raises(NotAnIndexError, match=f"child of index '{index.root_id}'"):
        ThreadIndex.open(client, child.id)


def test_one_root_id_recovers_everything(index: ThreadIndex, client: Any) -> None:
    """A fresh instance anywhere lists the same IDs from the root ID alone, across compactions."""
    ids = [x.id for x in index.create_children(250)]
    index.compact()
    ids += [index.create_child().id for _ in range(5)]
    index.remove_many(ids[:3])
    other = ThreadIndex.open(client, index.root_id)
    assert list(other.all()) == ids[3:]
    assert len(other) == len(ids) - 3
    other.compact(full=True)
    assert list(ThreadIndex.open(client, index.root_id).all()) == ids[3:]


# -- costs, counted exactly on the emulator ------------------------------------------------------


def test_lone_operations_cost_the_floor(client: Any, emulator: Any, backend: str) -> None:
    """open 1, len 1, create_child 2, delete 2, add 1, remove 1, all() 1 + pages."""
    no_compaction = IndexSettings(compact_every=99, first_compaction_after=99)  # not while counted
    idx = ThreadIndex.create(client, backend=backend, settings=no_compaction)  # type: ignore[arg-type]
    before = total(emulator)
    opened = ThreadIndex.open(client, idx.root_id)
    assert total(emulator) - before == 1
    for op, expected in [
        (lambda: idx.create_child(), 2),
        (lambda: len(opened), 1),
        (lambda: list(opened.all()), 1),
    ]:
        before = total(emulator)
        op()
        assert total(emulator) - before == expected
    child = idx.create_child().id
    before = total(emulator)
    idx.delete(child)
    assert total(emulator) - before == 2
    before = total(emulator)
    idx.add(child)
    idx.remove(child)
    assert total(emulator) - before == 2


@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_many_lone_creates_stay_under_2_02_requests_each(
    client: Any, emulator: Any, backend: str
) -> None:
    """Compaction upkeep included, a lone create_child averages at most 2.02 requests."""
    idx = ThreadIndex.create(client, backend=backend)  # type: ignore[arg-type]
    before = total(emulator)
    n = 400
    for _ in range(n):
        idx.create_child()
    assert (total(emulator) - before) / n <= 2.02
    assert len(idx) == n


@OWN_THREADS_CALLS
@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_bulk_calls_cost_at_most_1_02_requests_a_child(
    client: Any, emulator: Any, backend: str
) -> None:
    """create_children, add_many and delete_many group records: <= 1.02 requests a child."""
    idx = ThreadIndex.create(client, backend=backend)  # type: ignore[arg-type]
    before = total(emulator)
    ids = [c.id for c in idx.create_children(600)]
    assert (total(emulator) - before) / 600 <= 1.02
    before = total(emulator)
    idx.delete_many(ids[:300])
    assert (total(emulator) - before) / 300 <= 1.02
    others = [raw_create(client, backend) for _ in range(300)]
    # The appends that landed, by route: an answer lost on a loaded machine costs a journal
    # read (did the append land?), never a second append (docs/design.md 8.3).
    append = APPEND_ROUTE[backend]
    before = int(emulator.stats()["requests"].get(append, 0))
    idx.add_many(others)
    assert int(emulator.stats()["requests"][append]) - before <= 3  # entries of 100 IDs
    assert list(idx.all()) == ids[300:] + others


@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_all_reads_one_request_per_page(client: Any, emulator: Any, backend: str) -> None:
    """all() costs 1 + ceil(N / d) once compacted, and len() 1."""
    idx = ThreadIndex.create(client, backend=backend, codec="ascii")  # type: ignore[arg-type]
    n = 1000
    idx.create_children(n)
    idx.compact()
    pages = -(-n // idx.page_capacity)
    before = total(emulator)
    assert len(list(idx.all())) == n
    assert total(emulator) - before <= 1 + pages
    before = total(emulator)
    assert len(idx) == n
    assert total(emulator) - before == 1


@OWN_THREADS_CALLS
@pytest.mark.parametrize(
    "record_counts",
    [pytest.param(True, id="shared"), pytest.param(False, id="not-shared", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_len_after_removing_paged_ids_is_one_request_once_recorded(
    client: Any, emulator: Any, backend: str, record_counts: bool
) -> None:
    """Removing IDs that pages hold (one listed, one never listed) through a process that
    holds no page makes the count need the pages; a reader's first len() reads them and
    appends what they hold (an `at` record, design 4.5), after which every reader's len()
    and stats().children cost 1 request. With record_counts off, the reader's own next len()
    costs 1 request, and others' once its next write records what it learned (a `held`
    checkpoint, design 7.4). The instance that wrote the pages counts from its cache
    (design 7.5): 1 request. The list never changes."""
    settings = IndexSettings(record_counts=record_counts)
    idx = ThreadIndex.create(client, backend=backend, codec="ascii")  # type: ignore[arg-type]
    kids = [c.id for c in idx.create_children(idx.page_capacity * 2)]
    idx.compact()
    stranger = raw_create(client, backend)  # an object the index never listed
    cold = ThreadIndex.open(client, idx.root_id)  # holds no page: states nothing (4.4)
    cold.delete(kids[5])
    cold.remove(stranger)
    cold.add(kids[7])  # already listed (in a page): conditional
    expected = [k for k in kids if k != kids[5]]
    pages = idx.stats().pages
    assert pages >= 1
    reader = ThreadIndex.open(client, idx.root_id, settings=settings)
    before = total(emulator)
    assert len(reader) == len(expected)
    assert total(emulator) - before == 1 + pages + record_counts
    before = total(emulator)
    assert len(reader) == len(expected)
    assert kids[7] in reader
    assert kids[5] not in reader
    assert stranger not in reader
    assert total(emulator) - before == 4  # len, then three `in` decided by the journal
    before = total(emulator)
    assert len(idx) == len(expected)
    assert total(emulator) - before == 1  # the writer holds its pages
    fresh = ThreadIndex.open(client, idx.root_id)
    if record_counts:  # the reader's `at` record: every reader counts with 1 request
        before = total(emulator)
        assert fresh.stats().children == len(expected)
        assert len(fresh) == len(expected)
        assert total(emulator) - before == 2
        extra = idx.create_child().id
    else:
        assert fresh.stats().children is None  # nothing recorded yet
        extra = reader.create_child().id  # the next write records what the reader learned
    before = total(emulator)
    assert len(fresh) == len(expected) + 1
    assert fresh.stats().children == len(expected) + 1
    assert total(emulator) - before == 2
    assert list(fresh.all()) == [*expected, extra]
    idx.compact(full=True)
    assert list(ThreadIndex.open(client, idx.root_id).all()) == [*expected, extra]


@OWN_THREADS_CALLS
@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
def test_a_writer_holding_the_pages_states_where_its_ids_are(
    client: Any, emulator: Any, backend: str
) -> None:
    """The instance that wrote the pages says, in the records it appends, where the IDs it
    removes or adopts are in them (design 4.4): after it deletes a paged child, removes an
    ID never listed and adds a listed one again, every reader's len() and stats().children
    cost 1 request, with no page read and no compaction. Once another writer has changed the
    page list, what it stated about the old list is ignored and the count is still right."""
    idx = ThreadIndex.create(client, backend=backend, codec="ascii")  # type: ignore[arg-type]
    kids = [c.id for c in idx.create_children(idx.page_capacity * 2)]
    idx.compact()
    stranger = raw_create(client, backend)
    before = total(emulator)
    idx.delete(kids[5])
    idx.remove(stranger)
    idx.add(kids[7])
    assert total(emulator) - before == 4  # DELETE, 3 appends: stating costs no request
    expected = [k for k in kids if k != kids[5]]
    reader = ThreadIndex.open(client, idx.root_id)
    before = total(emulator)
    assert len(reader) == len(expected)
    assert reader.stats().children == len(expected)
    assert total(emulator) - before == 2  # the journal, twice
    assert list(reader.all()) == expected

    other = ThreadIndex.open(client, idx.root_id)
    other.remove(kids[0])
    other.compact(full=True)  # a new page list, which idx has not seen
    idx.remove(kids[9])  # states facts about the old list: ignored by readers
    expected = [k for k in expected if k not in (kids[0], kids[9])]
    fresh = ThreadIndex.open(client, idx.root_id)
    before = total(emulator)
    assert len(fresh) == len(expected)
    spent = total(emulator) - before
    assert spent == 2 + fresh.stats().pages  # read the pages once, and said what they hold
    assert list(fresh.all()) == expected


# -- the codec probe -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codec"), [("intact", "dense"), ("ascii_replace", "ascii"), ("ascii_reject", "ascii")]
)
def test_dense_codec_only_where_the_server_keeps_unicode(
    emulator_factory: Any, text: str, codec: str
) -> None:
    """The probe switches the dense codec on only when the server stores it intact."""
    emu = emulator_factory(metadata_text=text)
    client = emu.client()
    idx = ThreadIndex.create(client, backend="conversations")
    assert idx.codec == codec
    ids = [c.id for c in idx.create_children(800)]
    idx.compact()
    assert list(ThreadIndex.open(client, idx.root_id).all()) == ids


# -- erasing and destroying ------------------------------------------------------------------------


def test_delete_with_erase_items_erases_a_conversations_items_first(
    client: Any, emulator: Any
) -> None:
    """Deleting a conversation keeps its items; erase_items deletes them first."""
    idx = ThreadIndex.create(client, backend="conversations")
    items = [{"type": "message", "role": "user", "content": f"secret {i}"} for i in range(3)]
    kept = idx.create_child(items=items).id
    erased = idx.create_child(items=items).id
    idx.delete(kept)
    idx.delete(erased, erase_items=True)
    assert len(emulator.retained_item_ids(kept)) == 3
    assert emulator.retained_item_ids(erased) == []


@pytest.mark.parametrize("shape", ["conversation", "deleted"])
def test_erasing_does_not_depend_on_the_item_deletion_answer(
    emulator_factory: Any, shape: str
) -> None:
    """The record contradicts itself on what deleting an item returns; neither shape matters."""
    emu = emulator_factory(item_delete_response=shape)
    idx = ThreadIndex.create(emu.client(), backend="conversations")
    child = idx.create_child(items=[{"type": "message", "role": "user", "content": "x"}]).id
    idx.delete(child, erase_items=True)
    assert emu.retained_item_ids(child) == []


@pytest.mark.slow
def test_destroy_leaves_nothing_alive(client: Any, emulator: Any, backend: str) -> None:
    """destroy deletes every child, page, directory and the root."""
    settings = IndexSettings(gc_grace_seconds=300, compact_every=8)
    idx = ThreadIndex.create(client, backend=backend, codec="ascii", settings=settings)  # type: ignore[arg-type]
    ids = [c.id for c in idx.create_children(700)]
    idx.compact()
    idx.delete_many(ids[:50])
    idx.compact(full=True)  # retires pages into garbage that destroy must find
    for _ in range(10):
        idx.create_child()
    idx.destroy(erase_items=True)
    assert emulator.live_ids(backend) == set()
    if backend == "conversations":
        assert emulator.retained_item_ids(idx.root_id) == []


@pytest.mark.slow
@OWN_THREADS_CALLS
def test_verify_finds_and_repairs_dangling_ids(
    index: ThreadIndex, client: Any, backend: str
) -> None:
    """An object deleted behind the index's back is dangling; repair forgets it."""
    a, b = (x.id for x in index.create_children(2))
    if backend == "threads":
        client.beta.threads.delete(a)
    else:
        client.conversations.delete(a)
    assert list(index.all()) == [a, b]  # listing never reads children
    report = index.verify()
    assert report.dangling == [a]
    assert not report.ok
    assert index.verify(repair=True).repaired
    assert list(index.all()) == [b]
    assert index.verify().ok


# -- errors ----------------------------------------------------------------------------------------


@OWN_THREADS_CALLS
def test_opening_what_is_not_an_index(client: Any, backend: str) -> None:
    """A missing root, a plain object, and an unknown prefix each get a clear error."""
    missing = "conv_" + "0" * 48 if backend == "conversations" else "thread_" + "0" * 24
    with pytest.raises(IndexNotFoundError, match=missing):
        ThreadIndex.open(client, missing)
    plain = raw_create(client, backend, metadata={"x": "y"})
    with pytest.raises(NotAnIndexError, match=plain):
        ThreadIndex.open(client, plain)
    with pytest.raises(InvalidIdError, match="resp_1"):
        ThreadIndex.open(client, "resp_1")


@OWN_THREADS_CALLS
def test_a_newer_format_is_refused(client: Any, index: ThreadIndex, backend: str) -> None:
    """An index written by a newer linkedthreads is refused, naming the upgrade."""
    if backend == "threads":
        client.beta.threads.update(index.root_id, metadata={"linkedthreads": "index/99"})
    else:
        client.conversations.update(index.root_id, metadata={"linkedthreads": "index/99"})
    with pytest.raises(UnsupportedFormatError, match="upgrade"):
        ThreadIndex.open(client, index.root_id)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "empty"),
        ("x" * 10_000, "characters long"),
        ("conv_a b", "space"),
        ("conv_a\x00", "control"),
        (42, "string"),
        ("thread_abc", "not of this index's kind"),
        ("conv_", "not of this index's kind"),
    ],
)
def test_bad_ids_are_refused_before_any_request(
    client: Any, emulator: Any, bad: Any, message: str
) -> None:
    """Every bad ID is an InvalidIdError naming it; nothing is sent, nothing stored changes."""
    idx = ThreadIndex.create(client, backend="conversations")
    keep = idx.create_child().id
    before = total(emulator)
    for call in (idx.add, idx.remove, idx.delete):
        with pytest.raises(InvalidIdError, match=message):
            call(bad)
    with pytest.raises(InvalidIdError):
        idx.add_many([keep, bad])  # one bad ID refuses the whole call
    assert total(emulator) == before
    assert list(idx.all()) == [keep]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({f"k{i}": "v" for i in range(16)}, "at most 15 keys"),
        ({"k" * 65: "v"}, "at most 64"),
        ({"k": "v" * 513}, "at most 512"),
        ({"k": 1}, "must be a string"),
        ({"linkedthreads": "x"}, "reserved"),
    ],
)
def test_user_metadata_that_leaves_no_room(
    index: ThreadIndex, emulator: Any, metadata: dict[str, Any], message: str
) -> None:
    """Metadata the child cannot hold with the index's key is refused before any request."""
    before = total(emulator)
    with pytest.raises(MetadataError, match=message):
        index.create_child(metadata=metadata)
    assert total(emulator) == before
    index.create_child(metadata={f"k{i}": "v" * 512 for i in range(15)})  # at the limit: fine


def test_threads_after_the_sunset_say_so(emulator_factory: Any) -> None:
    """A server without threads gets BackendUnavailableError, pointing to conversations."""
    emu = emulator_factory(threads_sunset=True)
    with pytest.raises(BackendUnavailableError, match='backend="conversations"'):
        ThreadIndex.create(emu.client(), backend="threads")


def test_a_server_that_always_fails_gives_a_clear_error(emulator_factory: Any) -> None:
    """Bounded retries end in an APIRequestError, never a hang or a raw SDK exception."""
    emu = emulator_factory()
    idx = ThreadIndex.create(
        emu.client(),
        backend="conversations",
        settings=IndexSettings(retry=RetryPolicy.instant(attempts=3)),
    )
    emu.update_settings(fault_rate=1.0)
    with pytest.raises(LinkedThreadsError, match="create conversation"):
        idx.create_child()


# -- the record's open questions, faults and concurrency ----------------------------------------


@pytest.mark.parametrize("update", ["merge", "replace"])
def test_correct_whatever_thread_metadata_updates_do(emulator_factory: Any, update: str) -> None:
    """The protocol never updates metadata, so merge or replace makes no difference."""
    emu = emulator_factory(thread_metadata_update=update)
    idx = ThreadIndex.create(
        emu.client(), backend="threads", settings=IndexSettings(compact_every=4)
    )
    ids = [idx.create_child().id for _ in range(20)]
    idx.delete(ids[0])
    assert list(ThreadIndex.open(emu.client(), idx.root_id).all()) == ids[1:]


def test_faults_and_lost_responses_lose_and_duplicate_nothing(
    emulator_factory: Any, backend: str
) -> None:
    """With 20% faults and 10% lost answers, every acknowledged entry is listed once."""
    emu = emulator_factory(seed=7)
    settings = IndexSettings(
        compact_every=6, retry=RetryPolicy.instant(attempts=12), gc_grace_seconds=0
    )
    idx = ThreadIndex.create(emu.client(), backend=backend, settings=settings)  # type: ignore[arg-type]
    emu.update_settings(fault_rate=0.2, lost_response_rate=0.1, retry_after_s=0)
    ids = [idx.create_child().id for _ in range(60)]
    ids += [c.id for c in idx.create_children(40)]
    idx.delete_many(ids[:20])
    for i in ids[20:30]:
        idx.remove(i)
    expected = ids[30:]
    emu.update_settings(fault_rate=0.0, lost_response_rate=0.0)
    listed = list(ThreadIndex.open(emu.client(), idx.root_id).all())
    assert listed == expected
    assert emu.stats()["faults"]["lost_response"] > 0


def test_threads_of_one_process_share_appends(client: Any, emulator: Any, backend: str) -> None:
    """Concurrent create_child calls from threads all land, and share appends (group commit).

    A call returns only once its record is appended, so 12 callers making 15 children each
    need at least 15 appends (design 7.1: the floor is 1 + 1/12 requests a child). Group
    commit sends one append a round when every caller has announced itself before the
    sender's linger ends; a caller the scheduler wakes late joins the next append, hence the
    allowance of two a round.
    """
    idx = ThreadIndex.create(client, backend=backend)  # type: ignore[arg-type]
    made: list[str] = []
    lock = threading.Lock()
    rounds = 15

    def work() -> None:
        for _ in range(rounds):
            cid = idx.create_child().id
            with lock:
                made.append(cid)

    workers = [threading.Thread(target=work) for _ in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(idx.all()) == sorted(made)
    assert len(set(made)) == 180
    route = (
        "POST /v1/threads/{thread_id}/messages"
        if backend == "threads"
        else "POST /v1/conversations/{conversation_id}/items"
    )
    appends = emulator.stats()["requests"][route]
    assert rounds <= appends <= 2 * rounds
