"""The record bound (docs/design.md 4.6): no journal entry is longer than the record limit,
a server's refusal for length teaches it, and a checkpoint too long for it is carried in body
objects. Issue 16, finding 2: an entry longer than the server accepts wedged the index."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks._populate import create_objects
from linkedthreads import (
    CorruptIndexError,
    IndexSettings,
    InvalidIdError,
    RetryPolicy,
    ThreadIndex,
    UnsupportedFormatError,
)
from linkedthreads._journal import (
    Checkpoint,
    Record,
    checkpoint_text,
    dump_records,
    parse_checkpoint_text,
    parse_entry,
)
from linkedthreads._protocol.entries import group_entries
from linkedthreads._spill import MIN_RECORD_LIMIT, body_metadata, body_text, learned_limit
from linkedthreads.emulator import Emulator
from tests.conftest import BACKENDS
from tests.sdk_warnings import OWN_THREADS_CALLS
from torture.objects import read_journal_texts

pytestmark = OWN_THREADS_CALLS  # the harness reads threads journals with the SDK itself

FAST = RetryPolicy.instant()


def fake_ids(backend: str, n: int, rng: random.Random) -> list[str]:
    if backend == "threads":
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return ["thread_" + "".join(rng.choices(digits, k=24)) for _ in range(n)]
    return ["conv_" + f"{rng.getrandbits(192):048x}" for _ in range(n)]


def longest_entry(client: Any, backend: str, root_id: str) -> int:
    return max(len(t) for _, t in read_journal_texts(client, backend, root_id))


def journal_checkpoints(client: Any, backend: str, root_id: str) -> list[Checkpoint]:
    """The checkpoints of the journal, in order."""
    return [
        r.checkpoint
        for entry_id, text in read_journal_texts(client, backend, root_id)
        for r in parse_entry(entry_id, text).records
        if r.checkpoint is not None
    ]


def spilled(client: Any, backend: str, root_id: str) -> int:
    """Checkpoints of the journal carried in body objects."""
    return sum(1 for ck in journal_checkpoints(client, backend, root_id) if ck.body)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_entry_limit_does_not_wedge_the_index(backend: str) -> None:
    """The issue's reproduction: on main, compact() got 400 'string too long' and every
    write failed after it."""
    with Emulator(max_text_chars=10_000) as emu:
        client = emu.client()
        settings = IndexSettings(max_record_chars=10_000, retry=FAST)
        ix = ThreadIndex.create(client, backend=backend, settings=settings)
        kids = [c.id for c in ix.create_children(2000)]
        ix.compact()
        kids += [ix.create_child().id for _ in range(3)]
        ix.compact(full=True)
        reader = ThreadIndex.open(emu.client(), ix.root_id, settings=settings)
        assert list(reader.all()) == kids
        assert len(reader) == len(kids)
        assert reader.verify().ok
        assert longest_entry(client, backend, ix.root_id) <= 10_000


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_limit_below_max_record_chars_is_learned_and_writes_resume(backend: str) -> None:
    """Index settings at their default (64,000): the server's 2,000 is learned from its
    refusal, what was refused goes out split, and later writes are never refused."""
    with Emulator(max_text_chars=2_000) as emu:
        client = emu.client()
        ix = ThreadIndex.create(client, backend=backend, settings=IndexSettings(retry=FAST))
        ids = fake_ids(backend, 3000, random.Random(1))
        ix.add_many(ids)  # entries of 100 IDs (over 2,000 characters) are refused: learned
        assert ix.record_limit == 2_000
        kids = [c.id for c in ix.create_children(300)]
        ix.remove_many(ids[:500])
        ix.compact()
        before = ix.requests
        ix.add_many(fake_ids(backend, 200, random.Random(2)))
        assert ix.requests - before <= 4  # no refusal: split at once (and no compaction due)
        fresh = ThreadIndex.open(emu.client(), ix.root_id)
        listed = list(fresh.all())
        assert listed[: len(ids) - 500] == ids[500:]
        assert listed[len(ids) - 500 : len(ids) - 500 + 300] == kids
        assert longest_entry(client, backend, ix.root_id) <= 2_000


@pytest.mark.parametrize("backend", BACKENDS)
def test_user_records_do_not_wait_behind_a_checkpoint_too_long(backend: str) -> None:
    """A checkpoint planned within max_record_chars but longer than the server takes rides
    with a user's records: the refusal sends the records alone (the call succeeds), and
    the checkpoint goes out in body objects."""
    with Emulator(max_text_chars=8_000) as emu:
        client = emu.client()
        # A limit of 60,000 (as if learned elsewhere): the checkpoint fits it.
        # A compaction due after the six appends below, at the create_child.
        settings = IndexSettings(
            retry=FAST, compact_every=8, first_compaction_after=6, max_record_chars=60_000
        )
        ix = ThreadIndex.create(client, backend=backend, codec="dense", settings=settings)
        # Every record fits 8,000 but the overlay of 600 unpaged IDs does not.
        ids = fake_ids(backend, 600, random.Random(3))
        for start in range(0, 600, 100):
            ix.add_many(ids[start : start + 100])
        assert ix.stats().checkpointed is False  # no compaction yet
        child = ix.create_child().id  # plans a checkpoint, whose append is refused
        assert ix.record_limit == 8_000
        assert spilled(client, backend, ix.root_id) == 1
        # No checkpoint is left waiting: a pending one would ride on the next append.
        appended = len(journal_checkpoints(client, backend, ix.root_id))
        last = ix.create_child().id  # no compaction due: the countdown just restarted
        assert len(journal_checkpoints(client, backend, ix.root_id)) == appended
        assert list(ThreadIndex.open(emu.client(), ix.root_id).all()) == [*ids, child, last]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_compact_and_repair_recover_when_the_server_limit_drops(backend: str) -> None:
    """An index built on a roomy server, whose overlay and garbage then exceed what the
    server accepts: compact(), compact(full=True) and verify(repair=True) all succeed."""
    with Emulator() as emu:
        client = emu.client()
        settings = IndexSettings(retry=FAST, max_overlay=1_000, gc_grace_seconds=60)
        ix = ThreadIndex.create(client, backend=backend, settings=settings)
        rng = random.Random(4)
        ids = create_objects(emu.base_url, backend, 3000)  # real: verify reads every child
        ix.add_many(ids)
        ix.compact()
        gone = set(rng.sample(ids[:2500], 800))
        ix.remove_many(sorted(gone))
        emu.update_settings(max_text_chars=4_000)
        expected = [i for i in ids if i not in gone]
        for step in (
            ix.compact,
            lambda: ix.compact(full=True),
            lambda: ix.verify(repair=True),
        ):
            step()
            fresh = ThreadIndex.open(emu.client(), ix.root_id, settings=settings)
            assert list(fresh.all()) == expected
        assert ix.record_limit == 4_000
        more = ix.create_child().id
        assert list(ThreadIndex.open(emu.client(), ix.root_id).all()) == [*expected, more]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hundred_thousand_children_with_removals_under_32k(backend: str) -> None:
    """The issue's second case: at max_text_chars=32,768 with the default settings, main
    stopped writing at about 37,000 children (checkpoints of 61,239 characters)."""
    rng = random.Random(5)
    with Emulator(max_text_chars=32_768) as emu:
        client = emu.client()
        ix = ThreadIndex.create(client, backend=backend, settings=IndexSettings(retry=FAST))
        listed = fake_ids(backend, 90_000, rng)
        ix.add_many(listed)  # cheap population: fabricated IDs (all() never reads children)
        ix.compact()
        for _ in range(4):
            batch = fake_ids(backend, 2500, rng)
            ix.add_many(batch)
            listed += batch
            gone = set(rng.sample(listed, 300))
            ix.remove_many(sorted(gone))
            listed = [i for i in listed if i not in gone]
            ix.compact()
        fresh = ThreadIndex.open(emu.client(), ix.root_id)
        assert list(fresh.all()) == listed
        assert len(fresh) == len(listed)
        assert longest_entry(client, backend, ix.root_id) <= 32_768


@pytest.mark.slow
def test_add_many_a_million_ids() -> None:
    """2**20 IDs: on main a bare ValueError ('too many IDs to pack': the packed count is 20
    bits). Now one request per 20 entries of 100 IDs each (6.3)."""
    n = 1 << 20
    ids = fake_ids("conversations", n, random.Random(6))
    with Emulator() as emu:
        settings = IndexSettings(retry=FAST)
        ix = ThreadIndex.create(emu.client(), backend="conversations", settings=settings)
        with pytest.raises(InvalidIdError):
            ix.add_many([*ids[:10], "conv_not/valid", *ids[10:]])
        before = ix.requests
        ix.add_many(ids)
        sent = ix.requests - before
        entries = len(read_journal_texts(emu.client(), "conversations", ix.root_id))
        assert entries == -(-n // 100)  # ENTRY_IDS an entry, about 3,100 characters
        assert sent <= entries // 20 + 3  # 20 entries an append (+ the compaction check)
        # (A fresh reader lists them all: decoding a million IDs takes long, so only its
        # first and last entries are checked here.)
        texts = read_journal_texts(emu.client(), "conversations", ix.root_id)
        first = parse_entry("a", texts[0][1]).records[0].ids
        last = parse_entry("z", texts[-1][1]).records[-1].ids
        assert ids[: len(first)] == list(first)
        assert ids[-len(last) :] == list(last)


# -- pure parts -------------------------------------------------------------------------------


def test_learned_limit_reads_the_refusal() -> None:
    msg = (
        "append to conversation conv_x: HTTP 400: Invalid 'items[0].content[0].text': string "
        "too long. Expected a string with maximum length 10000, but got a string with length "
        "18131 instead."
    )
    assert learned_limit(msg, "string_above_max_length", 18_131) == 10_000
    assert learned_limit("HTTP 400: too big", "string_above_max_length", 18_000) == 9_000
    # Named limit not below what was sent: the server counts otherwise; halve.
    assert learned_limit(msg, "string_above_max_length", 9_000) == 4_500
    # Too many items, not too many characters; and other refusals.
    assert (
        learned_limit("array too long. Expected an array with maximum length 20", None, 1) is None
    )
    assert learned_limit("HTTP 400: bad", "invalid_value", 50_000) is None
    assert learned_limit(msg, "string_above_max_length", 1_500) is None  # under the floor


ids_st = st.lists(
    st.sampled_from(
        fake_ids("conversations", 50, random.Random(7)) + fake_ids("threads", 50, random.Random(8))
    ),
    max_size=400,
)


@st.composite
def checkpoints(draw: Any) -> Checkpoint:
    extra = draw(
        st.lists(
            st.tuples(
                st.sampled_from(fake_ids("conversations", 3000, random.Random(9))), st.booleans()
            ),
            max_size=1500,
            unique_by=lambda t: t[0],
        )
    )
    hide = frozenset(draw(ids_st))
    held = frozenset(i for i in hide if draw(st.booleans()))
    garbage = tuple(
        (tuple(draw(ids_st)), draw(st.floats(1.7e9, 1.8e9))) for _ in range(draw(st.integers(0, 3)))
    )
    seen = tuple(
        f"{draw(st.integers(0, 2**64 - 1)):016x}.{draw(st.integers(0, 19))}"
        for _ in range(draw(st.integers(0, 128)))
    )
    return Checkpoint(
        upto="msg_" + "a" * 48,
        pages=tuple(draw(ids_st)),
        slots=draw(st.integers(0, 10**6)),
        extra=tuple(extra),
        hide=hide,
        held=held,
        garbage=garbage,
        time=1.75e9,
        nonces=seen,
    )


@given(
    ck=checkpoints(),
    adds=st.lists(st.tuples(st.booleans(), ids_st), max_size=4),
    limit=st.integers(MIN_RECORD_LIMIT, 70_000),
)
def test_every_entry_the_library_builds_is_within_the_limit(
    ck: Checkpoint, adds: list[tuple[bool, list[str]]], limit: int
) -> None:
    """For random overlays and limits: every entry group_entries makes is within the limit
    with its nonces, a checkpoint too long for it is returned apart, and that checkpoint in
    body objects round-trips and its short record fits."""
    records = [Record(op="ckpt", checkpoint=ck)]
    records += [
        Record(op="add" if a else "rm", ids=tuple(dict.fromkeys(ids))) for a, ids in adds if ids
    ]
    entries, oversize = group_entries(records, limit)
    for i, entry in enumerate(entries):
        assert len(dump_records(entry, f"{'f' * 16}.{i % 20}")) <= limit
    sent = [r for e in entries for r in e if r.op != "ckpt"]
    for op in ("add", "rm"):
        want = [i for r in records if r.op == op for i in r.ids]
        assert [i for r in sent if r.op == op for i in r.ids] == want
    for record in oversize:
        assert record.op == "ckpt"
        assert record.checkpoint is not None
        text = checkpoint_text(record.checkpoint)
        fields = body_metadata(text)
        assert body_text(fields) == text
        body = tuple(fake_ids("conversations", len(fields), random.Random(len(fields))))
        stub = Checkpoint(upto=ck.upto, time=ck.time, body=body)
        line = dump_records([Record(op="ckpt", checkpoint=stub)], "f" * 16 + ".19")
        assert len(line) <= limit
        (parsed,) = parse_entry("e", line).records
        assert parsed.checkpoint is not None
        assert not parsed.checkpoint.loaded
        back = parse_checkpoint_text(parsed.checkpoint, body_text(fields), "test")
        assert back.extra == ck.extra
        assert back.hide == ck.hide
        assert back.body == body
        assert [ids for ids, _ in back.garbage] == [ids for ids, _ in ck.garbage]


def test_a_damaged_body_is_refused_never_misread() -> None:
    """A body that fails its checksum, or holds another checkpoint than its record names,
    raises CorruptIndexError; a record of format 2 other than a checkpoint is refused as
    newer (UnsupportedFormatError)."""
    ck = Checkpoint(upto="msg_1", extra=(("conv_" + "1" * 48, False),), time=1.75e9)
    fields = body_metadata(checkpoint_text(ck))
    key = next(iter(fields[0]))
    damaged = [
        {**fields[0], key: fields[0][key][:-1] + ("A" if fields[0][key][-1:] != "A" else "B")}
    ]
    with pytest.raises(CorruptIndexError):
        body_text(damaged)
    stub = Checkpoint(upto="msg_2", body=("conv_" + "2" * 48,), loaded=False)
    with pytest.raises(CorruptIndexError):
        parse_checkpoint_text(stub, body_text(fields), "test")
    with pytest.raises(UnsupportedFormatError):
        parse_entry("e", '{"lt":2,"op":"rm","ids":""}')
    with pytest.raises(CorruptIndexError):
        parse_entry("e", '{"lt":2,"op":"ckpt","upto":"msg_1","body":""}')
