"""What an index instance remembers of the pages it wrote or read (docs/design.md, 7.5).

Pages and directories are never changed once written, so their contents, keyed by object
ID, stay true for good: a cached copy can stand in for a read. The cache is a bounded LRU,
measured in IDs, holding each page as the bit string its slots decode to (about 26 bytes a
conversation ID, 19 a thread ID: what reading or writing the page computes anyway, so caching
costs no encoding), plus a sorted array of the IDs' hashes (8 bytes an ID) so that testing
whether a page holds an ID decodes nothing unless the hash matches. An instance's memory stays
under ``IndexSettings.page_cache_ids`` IDs' worth whatever N is.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from ._codec import bits_to_ids

__all__ = ["PageCache", "Probe"]


class _Entry(NamedTuple):
    value: int  # the packed bits
    nbits: int
    hashes: array[int]  # hash() of each ID, sorted: a fast, exact-on-confirmation "holds"


class Probe:
    """IDs to look for in cached pages, hashed once for all the pages searched."""

    __slots__ = ("hashes", "ids")

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = frozenset(ids)
        self.hashes = frozenset(hash(i) for i in self.ids)


class PageCache:
    """Contents of immutable index objects by ID, least recently used dropped first."""

    def __init__(self, max_ids: int) -> None:
        self.max_ids = max_ids
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._ids = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._entries

    @property
    def ids(self) -> int:
        """How many IDs the cached pages hold in all."""
        return self._ids

    def clear(self) -> None:
        """Forget every cached object (the memory goes; nothing changes but later costs)."""
        with self._lock:
            self._entries.clear()
            self._ids = 0

    def get(self, object_id: str) -> list[str] | None:
        found = self._touch(object_id)
        return None if found is None else bits_to_ids(found.value, found.nbits)

    def holds(self, object_id: str, child_id: str) -> bool | None:
        """Whether the cached object holds ``child_id``; None when it is not cached.

        Exact: a matching hash is confirmed by decoding the page, so only a page that holds
        the ID (or, once in about 2**64 / size tests, a colliding one) is decoded.
        """
        found = self._touch(object_id)
        if found is None:
            return None
        key = hash(child_id)
        at = bisect_left(found.hashes, key)
        if at == len(found.hashes) or found.hashes[at] != key:
            return False
        return child_id in bits_to_ids(found.value, found.nbits)

    def find(self, object_id: str, probe: Probe) -> Counter[str] | None:
        """How many times the cached object holds each of ``probe``'s IDs that it holds at
        all; None when it is not cached.

        Exact, and decodes the page only when a hash matches (as ``holds``).
        """
        found = self._touch(object_id)
        if found is None:
            return None
        if len(probe.hashes) * 16 < len(found.hashes):  # few IDs: binary search each
            hashes = found.hashes
            hit = any(
                (at := bisect_left(hashes, h)) < len(hashes) and hashes[at] == h
                for h in probe.hashes
            )
        else:
            hit = not probe.hashes.isdisjoint(found.hashes)
        if not hit:
            return Counter()
        return Counter(i for i in bits_to_ids(found.value, found.nbits) if i in probe.ids)

    def put(self, object_id: str, value: int, nbits: int, ids: Sequence[str]) -> None:
        """Remember that ``object_id`` holds ``ids``, packed in ``value``."""
        if len(ids) > self.max_ids:
            return
        entry = _Entry(value, nbits, array("q", sorted(hash(i) for i in ids)))
        with self._lock:
            old = self._entries.pop(object_id, None)
            if old is not None:
                self._ids -= len(old.hashes)
            self._entries[object_id] = entry
            self._ids += len(ids)
            while self._ids > self.max_ids:
                _, dropped = self._entries.popitem(last=False)
                self._ids -= len(dropped.hashes)

    def _touch(self, object_id: str) -> _Entry | None:
        with self._lock:
            found = self._entries.get(object_id)
            if found is not None:
                self._entries.move_to_end(object_id)
            return found
