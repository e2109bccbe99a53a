"""The scope directory: names of scopes -> their roots (docs/design.md, 4.8). Pure: no I/O.

A checkpoint states the directory as **buckets** (objects like pages, each holding the
``(name, root)`` pairs whose name hashes to it, packed ``[name, root, name, root, ...]``)
overlaid by an **inline** part carried in the record itself (recent bindings, and ``""`` for a
name whose bucket binding was removed). The tail's ``scope`` / ``unscope`` records are folded
over that: the first ``scope`` record of an unbound name binds it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence

from ._codec import chunk_for_pages
from ._journal import Record
from ._overlay import Overlay

__all__ = [
    "DirectoryListing",
    "bucket_index",
    "bucket_pairs",
    "directory",
    "fewest_buckets",
    "flush_layout",
    "inline_size",
    "records_by_name",
    "settle",
    "settle_overlay",
    "unsettled_buckets",
]

HIGH = 1.0
"""The directory keeps its number of buckets while every bucket fits this share of an object
(in bits): a bucket is rewritten only when its content changes."""
LOW = 0.95
"""Once some bucket would not fit ``HIGH``, the number of buckets grows to the smallest (in
steps of about 2%) at which every bucket fits this share, so that the next flushes do not grow
it again at once (4.8): buckets are about 75% to 90% full."""
GROWTH_STEP = 1.02
"""How much larger each count tried in a growth is than the one before (at least 1 more)."""


def bucket_index(name: str, count: int) -> int:
    """Which of ``count`` buckets holds ``name``: BLAKE2b-64 of its UTF-8, modulo."""
    return _digest(name) % count


def bucket_pairs(content: Sequence[str]) -> dict[str, str]:
    """A bucket's packed list ``[name, root, ...]`` as a mapping."""
    return dict(zip(content[::2], content[1::2], strict=False))


def settle(state: str | None, records: Iterable[Record], name: str) -> tuple[str | None, list[str]]:
    """Fold the ``scope``/``unscope`` records of ``name`` over its binding ``state``: the
    binding after them, and the roots of the ``scope`` records that lost."""
    losers: list[str] = []
    for record in records:
        if record.name != name:
            continue
        if record.op == "scope":
            if not state:
                state = record.target
            elif state != record.target:
                losers.append(record.target)
        elif record.op == "unscope" and state == record.target:
            state = None
    return state, losers


def records_by_name(overlay: Overlay) -> dict[str, list[Record]]:
    """The tail's scope records of each unsettled name, in journal order."""
    out: dict[str, list[Record]] = {}
    for record in overlay.scope_log:
        if record.name in overlay.unsettled:
            out.setdefault(record.name, []).append(record)
    return out


class DirectoryListing:
    """Lists the directory bucket by bucket: each bucket's bindings as the overlay leaves
    them (in the bucket's order), then the overlay's own names that no bucket holds (the
    record's inline part, the tail's in the order made, then the unsettled ones by name).
    Memory: the overlay and the names of it met so far, never the buckets consumed."""

    __slots__ = ("_by_name", "_met", "_overlay")

    def __init__(self, overlay: Overlay) -> None:
        self._overlay = overlay
        self._by_name = records_by_name(overlay)
        self._met: set[str] = set()

    def bucket(self, content: Sequence[str]) -> list[tuple[str, str]]:
        """The bindings of one bucket's ``content``, as the overlay leaves them."""
        overlay, out = self._overlay, []
        for name, held in bucket_pairs(content).items():
            root: str | None = held
            if name in overlay.scopes:
                self._met.add(name)
                root = overlay.scopes[name]
            elif name in overlay.unsettled:
                self._met.add(name)
                root, _ = settle(held, self._by_name.get(name, ()), name)
            if root:
                out.append((name, root))
        return out

    def finish(self, *, buckets_read: bool = True) -> list[tuple[str, str]]:
        """The overlay's bindings no bucket held. ``buckets_read`` False (they could not be
        read): the unsettled names, which only a bucket could settle, are left out."""
        overlay = self._overlay
        out = [(n, r) for n, r in overlay.scopes.items() if r and n not in self._met]
        if buckets_read:
            for name in sorted(overlay.unsettled - self._met):
                root, _ = settle(None, self._by_name.get(name, ()), name)
                if root:
                    out.append((name, root))
        return out


def directory(overlay: Overlay, buckets: Sequence[Sequence[str]] | None) -> list[tuple[str, str]]:
    """Every binding as (name, root), in ``DirectoryListing``'s order, over the buckets'
    ``buckets`` contents; None (not readable) leaves out the names only they could settle."""
    listing = DirectoryListing(overlay)
    out = [pair for content in buckets or () for pair in listing.bucket(content)]
    return out + listing.finish(buckets_read=buckets is not None)


def unsettled_buckets(overlay: Overlay, count: int) -> list[int]:
    """The buckets whose contents decide the names the overlay could not settle."""
    if not count:
        return []
    return sorted({bucket_index(name, count) for name in overlay.unsettled})


def settle_overlay(
    overlay: Overlay, buckets: Mapping[int, Mapping[str, str]], count: int
) -> tuple[dict[str, str], list[str]]:
    """The inline part a new checkpoint carries (``""``: removed from its bucket), and the
    losing roots, given the buckets of the unsettled names."""
    inline = dict(overlay.scopes)
    losers = list(overlay.losers)
    by_name = records_by_name(overlay)
    for name in sorted(overlay.unsettled):
        held = buckets[bucket_index(name, count)].get(name)
        state, lost = settle(held, by_name.get(name, ()), name)
        losers.extend(lost)
        if state != held:
            inline[name] = state or ""
    if not count:  # no bucket: a removal needs no mark
        inline = {name: root for name, root in inline.items() if root}
    return inline, losers


def inline_size(inline: Mapping[str, str]) -> int:
    """About the characters the inline part takes in a record (name, root, separators)."""
    return sum(len(name) + len(root) + 4 for name, root in inline.items())


def flush_layout(
    old: Sequence[str],
    contents: Sequence[Mapping[str, str]],
    inline: Mapping[str, str],
    capacity_bits: int,
) -> list[str | list[str]]:
    """The buckets of the whole directory (``old`` buckets with ``contents``, then
    ``inline``): an old bucket kept where unchanged, else its new packed list. Their number
    stays while every bucket fits ``HIGH`` of an object; else it grows to the smallest count
    tried (each about ``GROWTH_STEP`` times the one before) at which every bucket fits
    ``LOW``, and all are written. It never shrinks."""
    merged: dict[str, str] = {}
    for pairs in contents:
        merged.update(pairs)
    for name, root in inline.items():
        if root:
            merged[name] = root
        else:
            merged.pop(name, None)
    names = sorted(merged)
    digests = [_digest(name) for name in names]
    count = max(1, len(old))
    split = _split(names, digests, merged, count)
    if not all(_fits(b, int(capacity_bits * HIGH)) for b in split):
        flat = [x for name in names for x in (name, merged[name])]
        objects = sum(1 for _ in chunk_for_pages(flat, capacity_bits))  # at 100% full
        count = max(count + 1, math.ceil(objects / LOW))
        limit = int(capacity_bits * LOW)
        while True:
            split = _split(names, digests, merged, count)
            if all(_fits(b, limit) for b in split):
                break
            count = max(count + 1, math.ceil(count * GROWTH_STEP))
    out: list[str | list[str]] = []
    for i, flat_pairs in enumerate(split):
        same = count == len(old) and bucket_pairs(flat_pairs) == dict(contents[i])
        out.append(old[i] if same else flat_pairs)
    return out


def fewest_buckets(pairs: Mapping[str, str], capacity_bits: int) -> int:
    """The fewest buckets at which every bucket of ``pairs`` fits an object: what any rule
    for their number reads at the least to list them all (the fullest bucket, not the mean,
    must fit, so this is above the objects the pairs fill when packed whole)."""
    names = sorted(pairs)
    digests = [_digest(name) for name in names]
    flat = [x for name in names for x in (name, pairs[name])]
    count = max(1, sum(1 for _ in chunk_for_pages(flat, capacity_bits)))
    while not all(_fits(b, capacity_bits) for b in _split(names, digests, pairs, count)):
        count += 1
    return count


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def _split(
    names: Sequence[str], digests: Sequence[int], merged: Mapping[str, str], count: int
) -> list[list[str]]:
    """The packed lists of ``count`` buckets (``bucket_index`` of each name, by name)."""
    split: list[list[str]] = [[] for _ in range(count)]
    for name, digest in zip(names, digests, strict=True):
        split[digest % count].extend((name, merged[name]))
    return split


def _fits(flat: list[str], limit: int) -> bool:
    if not flat:
        return True
    chunk, full = next(chunk_for_pages(flat, limit))
    return not full and len(chunk) == len(flat)
