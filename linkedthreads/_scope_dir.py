"""The scope directory: names of scopes -> their roots (docs/design.md, 4.8). Pure: no I/O.

A checkpoint states the directory as **buckets** (objects like pages, each holding the
``(name, root)`` pairs whose name hashes to it, packed ``[name, root, name, root, ...]``)
overlaid by an **inline** part carried in the record itself (recent bindings, and ``""`` for a
name whose bucket binding was removed). The tail's ``scope`` / ``unscope`` records are folded
over that: the first ``scope`` record of an unbound name binds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from ._codec import chunk_for_pages
from ._journal import Overlay, Record

__all__ = [
    "bucket_index",
    "bucket_pairs",
    "flush_layout",
    "inline_size",
    "records_by_name",
    "settle",
    "settle_overlay",
    "unsettled_buckets",
]

FILL = 0.8
"""A bucket is rewritten into twice as many once it would be fuller than this (in bits)."""


def bucket_index(name: str, count: int) -> int:
    """Which of ``count`` buckets holds ``name``: BLAKE2b-64 of its UTF-8, modulo."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


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
    ``inline``): an old bucket kept where unchanged, else its new packed list; doubled in
    number until every bucket fits ``FILL`` of an object."""
    merged: dict[str, str] = {}
    for pairs in contents:
        merged.update(pairs)
    for name, root in inline.items():
        if root:
            merged[name] = root
        else:
            merged.pop(name, None)
    count = max(1, len(old))
    limit = int(capacity_bits * FILL)
    while True:
        split: list[list[str]] = [[] for _ in range(count)]
        for name in sorted(merged):
            split[bucket_index(name, count)].extend((name, merged[name]))
        if all(_fits(b, limit) for b in split):
            break
        count *= 2
    out: list[str | list[str]] = []
    for i, flat in enumerate(split):
        same = count == len(old) and bucket_pairs(flat) == dict(contents[i])
        out.append(old[i] if same else flat)
    return out


def _fits(flat: list[str], limit: int) -> bool:
    if not flat:
        return True
    chunk, full = next(chunk_for_pages(flat, limit))
    return not full and len(chunk) == len(flat)
