"""Scopes (docs/design.md 4.8): named lists under one root, over HTTP on the emulator, with
both front ends and both backends; the format and the directory's pure parts on their own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkedthreads import (
    IndexSettings,
    InvalidScopeNameError,
    LinkedThreadsError,
    ThreadIndex,
    UnsupportedFormatError,
)
from linkedthreads import _journal as journal
from linkedthreads._backends import make_backend
from linkedthreads._codec import ASCII, slot_capacity_bits
from linkedthreads._frontend import index_state
from linkedthreads._index import run_sync
from linkedthreads._journal import Checkpoint, Record, dump_records, parse_entry
from linkedthreads._overlay import Overlay
from linkedthreads._protocol import maintenance
from linkedthreads._scope_dir import bucket_index, flush_layout, settle, settle_overlay
from linkedthreads._transport import SyncExecutor
from tests.sdk_warnings import OWN_THREADS_CALLS

from .front import Front


async def names(front: Front, index: Any) -> dict[str, str]:
    if front.mode == "async":
        return {name: root async for name, root in index.scopes()}
    return dict(index.scopes())


async def test_scope_create_find_list_nest_erase(front: Front, kind: str) -> None:
    """A scope is made by its first write and read empty before; it is found by name from
    the root ID alone, listed, nested, and erased without touching the rest."""
    index = await front.create(backend=kind)
    mine = await front.call(index, "create_child")
    user = index.scope("user-42")
    assert type(user) is type(index)
    assert user.scope_name == "user-42"
    assert user.parent is index
    assert user.scope_path == ("user-42",)
    assert await front.listed(user) == []
    assert await front.count(user) == 0
    assert await front.call(user, "latest", 5) == []
    assert not await front.contains(user, mine.id)
    assert await names(front, index) == {}
    with pytest.raises(LinkedThreadsError, match="no known root"):
        user.root_id  # noqa: B018
    made = [
        (await front.call(user, "create_child", metadata={"title": f"t{i}"})).id for i in range(3)
    ]
    assert made[0] != mine.id
    other = index.scope("user-7")
    theirs = (await front.call(other, "create_child")).id
    deep = user.scope("project").scope("draft")
    nested = (await front.call(deep, "create_child")).id
    assert await names(front, index) == {"user-42": user.root_id, "user-7": other.root_id}
    assert list(await names(front, user)) == ["project"]
    # The child names the scope's root, where it is listed.
    child = (
        front.emulator.client().conversations.retrieve(made[0]) if kind == "conversations" else None
    )
    if child is not None:
        assert child.metadata["linkedthreads"] == f"in:{user.root_id}"

    # From the root ID alone, in a fresh instance.
    fresh = await front.open(index.root_id)
    assert await front.call(fresh.scope("user-42"), "latest", 2) == made[::-1][:2]
    assert await front.listed(fresh.scope("user-42").scope("project").scope("draft")) == [nested]
    assert await front.listed(fresh) == [mine.id]  # the root's own list: no scope root in it

    # Erase one user: nothing of it remains; the root and the other scope are untouched.
    gone = {user.root_id, *made, nested}
    await front.call(fresh.scope("user-42"), "destroy", erase_items=True)
    assert not gone & front.emulator.live_ids(kind)
    assert await names(front, fresh) == {"user-7": other.root_id}
    assert await front.listed(index.scope("user-7")) == [theirs]
    assert await front.listed(index) == [mine.id]
    assert await front.listed(fresh.scope("user-42")) == []
    # The name can be used again: a new scope.
    again = (await front.call(fresh.scope("user-42"), "create_child")).id
    assert await front.listed((await front.open(index.root_id)).scope("user-42")) == [again]

    # destroy() of the root removes every scope.
    await front.call(index, "destroy")
    assert front.emulator.live_ids(kind) == set()


async def test_open_by_name_costs_three_requests(front: Front, kind: str) -> None:
    """A process that holds nothing finds a scope with 3 requests (open the root, its
    journal, and the scope's bucket when there is one): then reads it as a root."""
    index = await front.create(backend=kind)
    await front.call(index.scope("alice"), "create_child")
    before = front.emulator.stats()["total"]
    fresh = await front.open(index.root_id)
    scope = fresh.scope("alice")
    await front.call(scope, "ensure")
    assert front.emulator.stats()["total"] - before == 2  # no bucket yet: root + journal
    assert scope.root_id
    before = front.emulator.stats()["total"]
    assert await front.count(scope) == 1
    assert front.emulator.stats()["total"] - before == 1


async def test_first_write_costs_three_more(front: Front, kind: str) -> None:
    """After a read found no scope, its first create_child costs 2 + 3 (make the root,
    append the scope record, read it back); the next ones 2, as at the root."""
    settings = IndexSettings(compact_every=99, first_compaction_after=99)  # no compaction here
    index = await front.create(backend=kind, settings=settings)
    scope = index.scope("bob")
    assert await front.count(scope) == 0
    before = front.emulator.stats()["total"]
    await front.call(scope, "create_child")
    assert front.emulator.stats()["total"] - before == 5
    before = front.emulator.stats()["total"]
    await front.call(scope, "create_child")
    assert front.emulator.stats()["total"] - before == 2


async def test_verify_reads_the_parents_journal_once(front: Front, kind: str) -> None:
    """``verify`` lists the scopes from the journal it read for its own check: the root's
    journal (1) and its child (1), the scope's root (1: it exists), then the scope's own
    verify, its journal (1) and its child (1)."""
    index = await front.create(backend=kind)
    await front.call(index, "create_child")
    await front.call(index.scope("a"), "create_child")
    fresh = await front.open(index.root_id)
    before = front.emulator.stats()["total"]
    report = await front.call(fresh, "verify")
    assert report.ok
    assert report.scopes["a"].children == 1
    assert front.emulator.stats()["total"] - before == 5


@pytest.mark.parametrize(
    "bad", ["", " lead", "trail ", "a\nb", "tab\there", "x" * 201, 42, None, "nul\x00"]
)
async def test_bad_names_refused_before_any_request(front: Front, bad: Any) -> None:
    index = await front.create(backend="conversations")
    before = front.emulator.stats()["total"]
    with pytest.raises(InvalidScopeNameError) as info:
        index.scope(bad)
    assert isinstance(info.value, ValueError)
    assert "scope name" in str(info.value)
    assert front.emulator.stats()["total"] == before
    index.scope("é 名前 ok-200".ljust(200, "x"))  # the limits themselves are fine


@pytest.mark.slow
@OWN_THREADS_CALLS
async def test_scope_deleted_by_hand_verify_reports_and_repairs(front: Front, kind: str) -> None:
    index = await front.create(backend=kind)
    await front.call(index.scope("keep"), "create_child")
    lost = index.scope("lost")
    await front.call(lost, "create_child")
    sdk = front.emulator.client()
    if kind == "conversations":
        sdk.conversations.delete(lost.root_id)
    else:
        sdk.beta.threads.delete(lost.root_id)
    report = await front.call(index, "verify")
    assert not report.ok
    assert report.missing_scopes == ["lost"]
    assert report.scopes["keep"].ok
    assert report.scopes["keep"].children == 1
    repaired = await front.call(index, "verify", repair=True)
    assert repaired.repaired
    assert (await front.call(index, "verify")).ok
    fresh = await front.open(index.root_id)
    assert list(await names(front, fresh)) == ["keep"]
    assert await front.listed(fresh.scope("lost")) == []
    await front.call(fresh.scope("lost"), "create_child")  # made afresh
    assert await front.count(fresh.scope("lost")) == 1


def test_writers_racing_to_make_a_scope_end_on_one(emulator: Any, backend: str) -> None:
    """Processes (here instances with their own clients) that make the same new scope at
    once: one scope, every child listed, the losers' roots deleted."""
    index = ThreadIndex.create(emulator.client(), backend=backend)  # type: ignore[arg-type]
    before = set(emulator.live_ids(backend))
    writers = [ThreadIndex.open(emulator.client(), index.root_id) for _ in range(6)]
    made: list[str] = []
    barrier = threading.Barrier(len(writers))

    def write(w: ThreadIndex) -> None:
        scope = w.scope("shared")
        barrier.wait()
        made.append(scope.create_child().id)
        made.append(scope.create_child().id)

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (pair,) = index.scopes()
    assert pair[0] == "shared"
    assert sorted(index.scope("shared").all()) == sorted(made)
    assert len(made) == 12
    assert {w.scope("shared").root_id for w in writers} == {pair[1]}
    left = emulator.live_ids(backend) - before
    assert left == {pair[1], *made}  # every loser deleted its own root
    index.destroy()
    assert emulator.live_ids(backend) == set()


@pytest.mark.slow
def test_many_scopes_go_into_buckets(emulator: Any) -> None:
    """Past a quarter of a record the directory moves into buckets: every scope is still
    found by name (3 requests from the root ID), listed, and erased; nothing is left."""
    settings = IndexSettings(max_record_chars=4000, compact_every=4)
    index = ThreadIndex.create(emulator.client(), backend="conversations", settings=settings)
    roots = {}
    for i in range(70):
        scope = index.scope(f"u{i}")
        scope.create_child()
        roots[f"u{i}"] = scope.root_id
    index.compact()
    fresh = ThreadIndex.open(emulator.client(), index.root_id, settings=settings)
    assert dict(fresh.scopes()) == roots
    costs = []
    for name in ("u0", "u33", "u50", "u69"):
        reader = ThreadIndex.open(emulator.client(), index.root_id, settings=settings)
        before = emulator.stats()["total"]
        reader.scope(name).ensure()
        costs.append(emulator.stats()["total"] - before)
        assert reader.scope(name).root_id == roots[name]
    # The journal, + the name's bucket unless the record carries it inline (+ 1: the open).
    assert max(costs) == 2
    assert min(costs) >= 1
    # A repair's rebuild from the whole journal (no base) carries the directory too.
    backend = make_backend("conversations")
    executor = SyncExecutor(emulator.client(), backend, settings.retry, 1)
    root = emulator.client().conversations.retrieve(index.root_id)
    state = index_state(backend, index.root_id, root.metadata or {}, settings)
    run_sync(executor, maintenance.rebuild_from_journal(state))
    assert dict(ThreadIndex.open(emulator.client(), index.root_id).scopes()) == roots
    fresh.scope("u33").destroy()
    del roots["u33"]
    assert dict(ThreadIndex.open(emulator.client(), index.root_id).scopes()) == roots
    index.scope("u33").create_child()
    assert len(ThreadIndex.open(emulator.client(), index.root_id).scope("u33")) == 1
    assert index.verify().ok
    index.destroy()
    assert emulator.live_ids("conversations") == set()


def test_directory_buckets_deleted_by_hand_verify_reports_and_repairs(emulator: Any) -> None:
    """The scope directory's buckets deleted by hand: a lookup fails naming the object and
    the repair; ``verify`` reports it (it does not raise), and ``verify(repair=True)``
    rebuilds the directory from the journal: every scope is found again, nothing is lost."""
    settings = IndexSettings(max_record_chars=4000, compact_every=4)
    index = ThreadIndex.create(emulator.client(), backend="conversations", settings=settings)
    roots, made = {}, {}
    for i in range(70):
        scope = index.scope(f"u{i}")
        made[f"u{i}"] = scope.create_child().id
        roots[f"u{i}"] = scope.root_id
    index.compact()
    known = {index.root_id, *roots.values(), *made.values()}
    buckets = emulator.live_ids("conversations") - known
    assert buckets  # the parent has no pages, the scopes one child each: only buckets
    sdk = emulator.client()
    for bucket in buckets:
        sdk.conversations.delete(bucket)
    fresh = ThreadIndex.open(emulator.client(), index.root_id, settings=settings)
    with pytest.raises(LinkedThreadsError, match=r"verify\(repair=True\)"):
        dict(fresh.scopes())
    report = fresh.verify()
    assert not report.ok
    assert any("is gone" in problem for problem in report.problems)
    assert fresh.verify(repair=True).repaired
    reopened = ThreadIndex.open(emulator.client(), index.root_id, settings=settings)
    assert dict(reopened.scopes()) == roots
    assert reopened.scope("u7").latest(1) == [made["u7"]]
    assert reopened.verify().ok
    reopened.scope("u70").create_child()  # new scopes are made again
    assert len(dict(reopened.scopes())) == 71


async def test_async_scopes_concurrent_makers(emulator: Any) -> None:
    """asyncio tasks of one instance that write a new scope at once make it once."""
    from linkedthreads import AsyncThreadIndex

    client = emulator.async_client()
    index = await AsyncThreadIndex.create(client, backend="conversations")
    scope = index.scope("tasks")
    made = await asyncio.gather(*(scope.create_child() for _ in range(8)))
    assert [n async for n, _ in index.scopes()] == ["tasks"]
    assert sorted([i async for i in scope.all()]) == sorted(c.id for c in made)
    await index.destroy()
    assert emulator.live_ids("conversations") == set()
    await client.close()


# -- the format ------------------------------------------------------------------------------


def test_scope_records_round_trip_as_format_3() -> None:
    text = dump_records([Record(op="scope", name="user 42", target="conv_1")], "ab.0")
    assert text.startswith('{"lt":3,"op":"scope"')
    (record,) = parse_entry("e1", text).records
    assert (record.op, record.name, record.target) == ("scope", "user 42", "conv_1")
    ck = Checkpoint(upto="e1", scopes=(("a", "conv_1"), ("b", "")), scope_buckets=("conv_9",))
    line = dump_records([Record(op="ckpt", checkpoint=ck)])
    assert line.startswith('{"lt":3,"op":"ckpt"')
    (back,) = parse_entry("e2", line).records
    assert back.checkpoint is not None
    assert back.checkpoint.scopes == ck.scopes
    assert back.checkpoint.scope_buckets == ("conv_9",)
    assert "conv_9" in back.checkpoint.referenced()
    # Without scopes a checkpoint stays format 1: readers of format 1 read it.
    plain = dump_records([Record(op="ckpt", checkpoint=Checkpoint(upto="e1"))])
    assert plain.startswith('{"lt":1,')


def test_a_reader_of_an_older_format_refuses_an_index_with_scopes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader that knows formats 1 and 2 only (as before scopes) refuses a scope record
    and a checkpoint that carries scopes, clearly: it never lists, compacts or destroys the
    index as if it had none."""
    monkeypatch.setattr(journal, "READ_VERSION", journal.SPILLED_VERSION)
    for record in (
        Record(op="scope", name="u", target="conv_1"),
        Record(op="ckpt", checkpoint=Checkpoint(upto="e0", scopes=(("u", "conv_1"),))),
    ):
        with pytest.raises(UnsupportedFormatError, match="upgrade linkedthreads"):
            parse_entry("e1", dump_records([record], "n.0"))


def test_the_fold_keeps_scopes_out_of_the_list() -> None:
    """Scope records change no list: the children are the adds' alone; the first record
    of a name wins, a later one is a loser, an unscope frees the name."""
    overlay = Overlay(Checkpoint(upto=None))
    for op, name, target in [
        ("scope", "u", "conv_a"),
        ("scope", "u", "conv_b"),
        ("scope", "v", "conv_c"),
        ("unscope", "v", "conv_c"),
        ("unscope", "u", "conv_b"),  # not its binding: no effect
        ("scope", "v", "conv_d"),
    ]:
        overlay.apply(Record(op=op, name=name, target=target))
    overlay.apply(Record(op="add", ids=("conv_x",), new=True))
    assert list(overlay.extra) == ["conv_x"]
    inline, losers = settle_overlay(overlay, {}, 0)
    assert inline == {"u": "conv_a", "v": "conv_d"}
    assert losers == ["conv_b"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["scope", "unscope"]), st.sampled_from("abc"), st.sampled_from("xyz")
        ),
        max_size=30,
    ),
    st.booleans(),
)
def test_buckets_and_inline_state_the_same_directory(
    ops: list[tuple[str, str, str]], split: bool
) -> None:
    """Folding a journal whole, or with part of it already in buckets, states the same
    directory (what a checkpoint stores is a pure function of the journal prefix)."""
    records = [Record(op=o, name=n, target=t) for o, n, t in ops]
    whole = Overlay(Checkpoint(upto=None))
    for r in records:
        whole.apply(r)
    expected, _ = settle_overlay(whole, {}, 0)
    cut = len(records) // 2 if split else 0
    first = Overlay(Checkpoint(upto=None))
    for r in records[:cut]:
        first.apply(r)
    inline, _ = settle_overlay(first, {}, 0)
    capacity = slot_capacity_bits(ASCII)
    layout = flush_layout((), [], inline, capacity)
    contents = [dict(zip(b[::2], b[1::2], strict=True)) for b in layout if isinstance(b, list)]
    second = Overlay(Checkpoint(upto="x", scope_buckets=tuple(f"b{i}" for i in range(len(layout)))))
    for r in records[cut:]:
        second.apply(r)
    maps = dict(enumerate(contents))
    got, _ = settle_overlay(second, maps, len(layout))
    merged = {k: v for c in contents for k, v in c.items()}
    for name, root in got.items():
        if root:
            merged[name] = root
        else:
            merged.pop(name, None)
    assert merged == expected


def test_settle_and_bucket_index() -> None:
    assert settle(None, [Record(op="scope", name="a", target="1")], "a") == ("1", [])
    assert settle("1", [Record(op="scope", name="a", target="2")], "a") == ("1", ["2"])
    assert settle("1", [Record(op="unscope", name="a", target="1")], "a") == (None, [])
    assert all(0 <= bucket_index(f"n{i}", 7) < 7 for i in range(50))
    assert bucket_index("same", 8) == bucket_index("same", 8)


async def test_a_scope_destroyed_elsewhere_reads_empty_then_is_made_afresh(
    front: Front, kind: str
) -> None:
    """An instance holding a scope that another process destroys reads it as it now is
    (empty); a write into it is refused once (its children deleted), the next makes it."""
    index = await front.create(backend=kind)
    held = index.scope("u")
    await front.call(held, "create_child")
    assert await front.count(held) == 1
    other = await front.open(index.root_id)
    await front.call(other.scope("u"), "destroy")
    assert await front.call(held, "latest", 5) == []
    assert await front.count(held) == 0
    fresh = (await front.call(held, "create_child")).id
    assert await front.listed((await front.open(index.root_id)).scope("u")) == [fresh]
    await front.call(index, "destroy")
    assert front.emulator.live_ids(kind) == set()
