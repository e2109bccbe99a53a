"""What an index instance remembers of the pages it wrote or read (docs/design.md, 7.5).

Pages and directories are never changed once written, so their contents, keyed by object
ID, stay true for good: a cached copy can stand in for a read. The cache is a bounded LRU,
measured in IDs, holding each page as the bit string its slots decode to (about 26 bytes a
conversation ID, 19 a thread ID: what reading or writing the page computes anyway, so caching
costs no encoding), and an instance's memory stays under ``IndexSettings.page_cache_ids``
IDs' worth whatever N is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ._codec import bits_to_ids

__all__ = ["PageCache"]


class PageCache:
    """Contents of immutable index objects by ID, least recently used dropped first."""

    def __init__(self, max_ids: int) -> None:
        self.max_ids = max_ids
        # object ID -> (packed bits, bit count, ID count)
        self._entries: OrderedDict[str, tuple[int, int, int]] = OrderedDict()
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

    def get(self, object_id: str) -> list[str] | None:
        with self._lock:
            found = self._entries.get(object_id)
            if found is None:
                return None
            self._entries.move_to_end(object_id)
        return bits_to_ids(found[0], found[1])

    def put(self, object_id: str, value: int, nbits: int, size: int) -> None:
        """Remember that ``object_id`` holds the ``size`` IDs packed in ``value``."""
        if size > self.max_ids:
            return
        with self._lock:
            old = self._entries.pop(object_id, None)
            if old is not None:
                self._ids -= old[2]
            self._entries[object_id] = (value, nbits, size)
            self._ids += size
            while self._ids > self.max_ids:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._ids -= dropped
