"""The scope directory's layout rule (docs/design.md 4.8, "How many buckets"): pure, no I/O.

Buckets keep their number while every one fits an object; past that it grows to the fewest
(not only a power of two) at which all fit ``LOW``, so that the next flushes do not grow it
again at once; it never shrinks; every name sits in the bucket a reader looks in."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from linkedthreads._codec import ASCII, chunk_for_pages, slot_capacity_bits
from linkedthreads._journal import Checkpoint, Entry, Record
from linkedthreads._overlay import Overlay
from linkedthreads._scope_dir import (
    HIGH,
    LOW,
    bucket_index,
    bucket_pairs,
    directory,
    fewest_buckets,
    flush_layout,
)

SMALL = slot_capacity_bits(ASCII) // 8  # a few dozen pairs a bucket: many buckets, fast
ROOT = "conv_" + "ab" * 24


def fits(flat: Sequence[str], limit: float) -> bool:
    if not flat:
        return True
    chunk, full = next(chunk_for_pages(flat, int(limit)))
    return not full and len(chunk) == len(flat)


def scopes(start: int, stop: int) -> dict[str, str]:
    return {f"user-{i}": f"{ROOT[:-6]}{i:06d}" for i in range(start, stop)}


class Directory:
    """What successive checkpoints state: bucket IDs and their contents."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.contents: list[dict[str, str]] = []
        self.written = 0
        self.made = 0

    def flush(self, inline: Mapping[str, str], capacity: int = SMALL) -> list[str | list[str]]:
        layout = flush_layout(self.ids, self.contents, inline, capacity)
        ids: list[str] = []
        contents: list[dict[str, str]] = []
        for i, bucket in enumerate(layout):
            if isinstance(bucket, list):
                self.made += 1
                self.written += 1
                ids.append(f"b{self.made}")
                contents.append(bucket_pairs(bucket))
            else:
                ids.append(bucket)
                contents.append(self.contents[i])
        self.ids, self.contents = ids, contents
        return layout

    def merged(self) -> dict[str, str]:
        return {k: v for c in self.contents for k, v in c.items()}


def check(directory: Directory, capacity: int = SMALL) -> None:
    """Every bucket fits an object and holds exactly the names a reader looks for in it."""
    count = len(directory.contents)
    for i, content in enumerate(directory.contents):
        assert fits([x for kv in content.items() for x in kv], capacity * HIGH)
        assert all(bucket_index(name, count) == i for name in content)


def test_the_number_stays_while_every_bucket_fits() -> None:
    d = Directory()
    d.flush(scopes(0, 40))
    count, ids = len(d.ids), list(d.ids)
    layout = d.flush(scopes(40, 41))  # one name more: one bucket rewritten, the rest kept
    assert len(layout) == count
    assert sum(isinstance(b, list) for b in layout) == 1
    assert sum(a == b for a, b in zip(ids, d.ids, strict=True)) == count - 1
    check(d)


def test_growth_goes_to_the_fewest_buckets_that_fit_low_not_to_double() -> None:
    capacity = slot_capacity_bits(ASCII) // 2  # about 100 pairs a bucket
    d = Directory()
    counts = []
    for start in range(0, 8_000, 200):
        d.flush(scopes(start, start + 200), capacity)
        check(d, capacity)
        counts.append(len(d.ids))
    assert d.merged() == scopes(0, 8_000)
    grown = sorted(set(counts))
    assert any(c & (c - 1) for c in grown)  # counts that are not powers of two
    steps = [b / a for a, b in itertools.pairwise(grown) if a >= 10]
    assert steps
    assert max(steps) < 1.5  # never doubles
    # The buckets hold on average over 65% of an object (doubling: 40% to 80%).
    flat = [x for c in d.contents for kv in c.items() for x in kv]
    objects = sum(1 for _ in chunk_for_pages(flat, capacity))
    assert objects / len(d.ids) > 0.65


def test_after_growth_every_bucket_fits_low_so_the_next_flush_keeps_the_number() -> None:
    d = Directory()
    d.flush(scopes(0, 300))
    before = len(d.ids)
    start = 300
    while len(d.ids) == before:  # add until the number grows
        d.flush(scopes(start, start + 10))
        start += 10
    for content in d.contents:
        assert fits([x for kv in content.items() for x in kv], SMALL * LOW)
    grown = len(d.ids)
    d.flush(scopes(start, start + 10))  # the slack below LOW takes the next flush
    assert len(d.ids) == grown


def test_the_number_never_shrinks_and_removals_keep_the_others() -> None:
    d = Directory()
    d.flush(scopes(0, 500))
    count = len(d.ids)
    layout = d.flush({f"user-{i}": "" for i in range(0, 500, 2)})  # half removed
    assert len(layout) == count
    assert d.merged() == {k: v for k, v in scopes(0, 500).items() if int(k[5:]) % 2}
    check(d)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.text(st.characters(codec="utf-8", categories=["L", "N", "P"]), min_size=1),
            st.sampled_from([ROOT, "thread_" + "A" * 24, ""]),
            max_size=60,
        ),
        max_size=6,
    )
)
def test_any_flushes_state_the_directory_folded(flushes: list[dict[str, str]]) -> None:
    """Whatever the names and flushes, the buckets state exactly the bindings folded in
    order (``""``: removed), each in the bucket its name hashes to, each fitting."""
    d = Directory()
    expected: dict[str, str] = {}
    for inline in flushes:
        d.flush(inline)
        for name, root in inline.items():
            if root:
                expected[name] = root
            else:
                expected.pop(name, None)
        assert d.merged() == expected
        check(d)


def test_directory_folds_the_tail_over_the_buckets_and_leaves_out_what_it_cannot_read() -> None:
    """``directory``: the buckets' bindings, then the record's inline part and the tail's
    records; without the buckets (gone), only the names the record and the tail settle."""
    bucketed = scopes(0, 4)
    buckets = [[part for name, root in bucketed.items() for part in (name, root)]]
    base = Checkpoint(upto=None, scopes=(("user-9", ROOT),), scope_buckets=("b1",))
    overlay = Overlay(base)
    records = (
        Record(op="unscope", name="user-1", target=bucketed["user-1"]),  # in its bucket
        Record(op="scope", name="user-2", target="conv_loser"),  # bound already: loses
        Record(op="scope", name="user-5", target="conv_new"),  # new
    )
    overlay.apply_entries([Entry(id="e1", records=records)])
    assert dict(directory(overlay, buckets)) == {
        "user-0": bucketed["user-0"],
        "user-2": bucketed["user-2"],
        "user-3": bucketed["user-3"],
        "user-9": ROOT,
        "user-5": "conv_new",
    }
    assert dict(directory(overlay, None)) == {"user-9": ROOT}


def test_the_fewest_buckets_are_a_floor_of_the_layout() -> None:
    """``fewest_buckets``: every bucket fits an object at that number and, above the objects
    the pairs fill packed whole, not at one fewer; the layout rule never reads fewer."""
    pairs = scopes(0, 400)
    floor = fewest_buckets(pairs, SMALL)
    assert all(fits(b, SMALL) for b in split_into(pairs, floor))
    flat = [x for name in sorted(pairs) for x in (name, pairs[name])]
    packed = sum(1 for _ in chunk_for_pages(flat, SMALL))
    assert floor > packed  # hashing never fills every bucket alike
    assert not all(fits(b, SMALL) for b in split_into(pairs, floor - 1))
    assert len(flush_layout([], [], pairs, SMALL)) >= floor


def split_into(pairs: Mapping[str, str], count: int) -> list[list[str]]:
    out: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(pairs):
        out[bucket_index(name, count)].extend((name, pairs[name]))
    return out
