"""The pure journal layer: records round-trip, and folding with what is known of the pages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkedthreads._codec import encode_ids
from linkedthreads._errors import CorruptIndexError
from linkedthreads._journal import (
    Checkpoint,
    Record,
    dump_records,
    page_list_key,
    parse_entry,
    retirement_stamp,
)
from linkedthreads._overlay import Overlay, fold_pages, page_facts

IDS = [f"thread_{i:024d}" for i in range(12)]
some_ids = st.lists(st.sampled_from(IDS), unique=True, max_size=6)


@given(
    pages=some_ids,
    extra=st.lists(st.tuples(st.sampled_from(IDS), st.booleans()), max_size=5),
    hide=some_ids,
    held=some_ids,
)
def test_a_checkpoint_round_trips(
    pages: list[str], extra: list[tuple[str, bool]], hide: list[str], held: list[str]
) -> None:
    """Every field comes back; ``held`` is kept only where it is hidden too."""
    ck = Checkpoint(
        upto="msg_1",
        pages=tuple(pages),
        slots=len(pages) * 3,
        extra=tuple(dict(extra).items()),
        hide=frozenset(hide),
        held=frozenset(held) & frozenset(hide),
        garbage=((tuple(pages), 12.5),),
        time=3.25,
        nonces=("ab.0",),
    )
    entry = parse_entry("msg_2", dump_records([Record(op="ckpt", checkpoint=ck)], "cd.0"))
    (record,) = entry.records
    assert record.checkpoint == ck
    assert entry.nonce == "cd.0"


def test_held_is_a_flag_per_hidden_id() -> None:
    """``held`` travels as one flag per hidden ID in packed order (not another ID list); none
    held writes no field, and flags that do not match the hidden IDs are refused, naming the
    entry."""
    ck = Checkpoint(upto=None, hide=frozenset(IDS[:3]), held=frozenset([IDS[0], IDS[2]]))
    obj = json.loads(dump_records([Record(op="ckpt", checkpoint=ck)]))
    assert obj["held"] == "101"
    assert '"held"' not in dump_records([Record(op="ckpt", checkpoint=Checkpoint(upto=None))])
    for bad in ("10", "1x1", encode_ids(IDS[:1]), 7):
        obj["held"] = bad
        with pytest.raises(CorruptIndexError, match=r"entry_9.*held"):
            parse_entry("entry_9", json.dumps(obj))


@given(
    op=st.sampled_from(["add", "rm", "at"]),
    ids=st.lists(st.sampled_from(IDS), min_size=1, max_size=6),
    data=st.data(),
)
def test_a_record_that_states_placement_round_trips(
    op: str, ids: list[str], data: st.DataObject
) -> None:
    """An ``add``, ``rm`` or ``at`` that states where its IDs are in a page list (design 4.4,
    4.5) carries the list's key and one flag per ID, and comes back whole."""
    flags = data.draw(st.text(alphabet="01-", min_size=len(ids), max_size=len(ids)))
    key = page_list_key(["conv_a", "conv_b"], [])
    record = Record(op=op, ids=tuple(ids), at=key, placed=flags, nonce="ab.0")
    (back,) = parse_entry("msg_1", dump_records([record])).records
    assert back == record


def test_placement_is_checked_and_read_only_for_its_page_list() -> None:
    """Flags that do not match the IDs are refused, naming the entry; ``page_facts`` reads
    only records stated for the page list asked about; lists in directories and inline lists
    have different keys."""
    key = page_list_key(["p1", "p2"], [])
    assert key != page_list_key(["p1"], []) != page_list_key([], ["p1"])
    assert key == page_list_key(("p1", "p2"), ("",)[:0])
    good = Record(op="rm", ids=tuple(IDS[:3]), at=key, placed="10-")
    obj = json.loads(dump_records([good]))
    assert (obj["at"], obj["in"]) == (key, "10-")
    for bad in ("10", "1x-", 7):
        obj["in"] = bad
        with pytest.raises(CorruptIndexError, match=r"entry_9.*flags"):
            parse_entry("entry_9", json.dumps(obj))
    other = Record(op="add", ids=(IDS[5],), at=page_list_key(["p9"], []), placed="1")
    entries = [parse_entry(f"e{i}", dump_records([r])) for i, r in enumerate([good, other])]
    assert page_facts(entries, key) == ({IDS[0]}, {IDS[1]})
    assert page_facts(entries, page_list_key(["p3"], [])) == (set(), set())
    assert "at" not in json.loads(dump_records([Record(op="rm", ids=(IDS[0],))]))


def test_an_at_record_states_facts_and_changes_no_list() -> None:
    """An ``at`` record (design 4.5) must name its page list; ``page_facts`` reads it like
    the placement of an ``add`` or ``rm``, and folding it changes nothing."""
    key = page_list_key(["p1", "p2"], [])
    at = Record(op="at", ids=(IDS[0], IDS[1]), at=key, placed="10")
    obj = json.loads(dump_records([at]))
    assert obj == {"lt": 1, "op": "at", "ids": encode_ids(IDS[:2]), "at": key, "in": "10"}
    for field in ("at", "in"):
        broken = {k: v for k, v in obj.items() if k != field}
        with pytest.raises(CorruptIndexError, match=r"entry_9.*flags"):
            parse_entry("entry_9", json.dumps(broken))
    entry = parse_entry("e1", dump_records([at], "ab.0"))
    assert page_facts([entry], key) == ({IDS[0]}, {IDS[1]})
    overlay = Overlay(Checkpoint(upto=None, hide=frozenset(IDS[:1]), extra=((IDS[2], True),)))
    overlay.apply_entries([entry])
    assert (overlay.hide, overlay.extra) == ({IDS[0]}, {IDS[2]: True})


@given(
    pages=st.lists(some_ids, max_size=3),
    records=st.lists(st.tuples(st.sampled_from(["add", "rm"]), some_ids, st.booleans())),
)
def test_what_is_learned_of_the_pages_keeps_the_list_and_makes_it_countable(
    pages: list[list[str]], records: list[tuple[str, list[str], bool]]
) -> None:
    """Folding an overlay over the pages gives the same list before and after ``resolve``
    with the true facts (which of its undecided IDs the pages hold); after it, the overlay is
    exact and ``count`` is the length of that list."""
    in_pages: set[str] = set()
    unique_pages = []
    for page in pages:  # pages never repeat an ID (design 7.2)
        unique_pages.append([i for i in page if i not in in_pages])
        in_pages.update(page)
    overlay = Overlay(Checkpoint(upto=None))
    for op, ids, new in records:
        fresh = new and op == "add" and not set(ids) & in_pages  # `new`: never in a page
        overlay.apply(Record(op=op, ids=tuple(ids), new=fresh))
    before = list(fold_pages(unique_pages, overlay))
    unknown = overlay.unknown()
    overlay.resolve(unknown & in_pages, unknown - in_pages)
    assert list(fold_pages(unique_pages, overlay)) == before
    assert overlay.exact
    assert overlay.count(sum(len(p) for p in unique_pages)) == len(before)


@given(t=st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_a_retirement_stamp_is_never_earlier_than_the_retirement(t: float) -> None:
    """Stamps round up (a grace is never cut short) by less than a millisecond, and survive
    the record's JSON unchanged."""
    stamp = retirement_stamp(t)
    assert t <= stamp < t + 0.0011
    assert json.loads(json.dumps(stamp)) == stamp


def test_a_checkpoint_says_pages_go_out_in_ascii() -> None:
    """``codec: "ascii"`` (design 4.3, 5.4) round-trips; absent, it is False; a reader that
    predates it sees the same checkpoint otherwise (the field is additive)."""
    ck = Checkpoint(upto="msg_1", pages=("conv_" + "a" * 48,), slots=3, ascii=True)
    text = dump_records([Record(op="ckpt", checkpoint=ck)], "n.0")
    assert json.loads(text)["codec"] == "ascii"
    (back,) = parse_entry("e1", text).records
    assert back.checkpoint == ck
    plain = dump_records([Record(op="ckpt", checkpoint=Checkpoint(upto="msg_1"))])
    assert "codec" not in json.loads(plain)
    (old,) = parse_entry("e2", plain).records
    assert old.checkpoint is not None
    assert not old.checkpoint.ascii
