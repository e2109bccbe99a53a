"""Planning the pages of a new checkpoint. Pure: no I/O.

Two plans (docs/design.md, section 7.2):
- incremental: the leading run of ``extra`` that is certain (unconditional, not hidden) is cut
  into full pages appended after the base's pages; nothing is read.
- rebuild: every visible ID is streamed from the old pages and the overlay and cut into pages
  again; an old page is kept when it is unchanged and nothing before it is left over (so
  removing whole pages' worth of the oldest IDs rewrites nothing).

A planned page is either an old page kept (its ID, a ``str``) or IDs to write (a ``list``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._codec import chunk_for_pages
from ._overlay import Overlay, VisibleIds

__all__ = ["Layout", "PlannedPage", "Rebuilder", "incremental_layout"]

PlannedPage = str | list[str]


@dataclass
class Layout:
    """The pages of a new checkpoint, and what stays in its overlay."""

    pages: list[PlannedPage] = field(default_factory=list)
    extra: list[tuple[str, bool]] = field(default_factory=list)
    hide: set[str] = field(default_factory=set)
    slots: int = 0


def incremental_layout(
    base_pages: Sequence[str], base_slots: int, overlay: Overlay, capacity_bits: int
) -> Layout:
    """Append full pages cut from the certain prefix of ``extra``; keep everything else."""
    items = list(overlay.extra.items())
    certain: list[str] = []
    for id_, conditional in items:
        if conditional or id_ in overlay.hide:
            break
        certain.append(id_)
    layout = Layout(pages=list(base_pages), hide=set(overlay.hide), slots=base_slots)
    moved = 0
    for chunk, full in chunk_for_pages(certain, capacity_bits):
        if not full:
            break
        layout.pages.append(chunk)
        moved += len(chunk)
    layout.slots += moved
    layout.extra = items[moved:]
    return layout


class Rebuilder:
    """Feed the old pages in order; get the new pages as they are decided.

    Memory: about two pages plus the overlay.
    """

    def __init__(self, overlay: Overlay, capacity_bits: int) -> None:
        self._visible = VisibleIds(overlay)
        self._capacity = capacity_bits
        self._buffer: list[str] = []
        self._slots = 0

    def feed(self, page_id: str, content: Sequence[str]) -> list[PlannedPage]:
        shown = self._visible.page(content)
        if not self._buffer and len(shown) == len(content):
            self._slots += len(content)
            return [page_id]
        self._buffer.extend(shown)
        return self._cut()

    def finish(self) -> Layout:
        """The last pages; ``extra`` is what does not fill a page, ``hide`` is empty."""
        self._buffer.extend(self._visible.finish())
        pages = self._cut()
        return Layout(pages=pages, extra=[(i, False) for i in self._buffer], slots=self._slots)

    def _cut(self) -> list[PlannedPage]:
        out: list[PlannedPage] = []
        consumed = 0
        for chunk, full in chunk_for_pages(self._buffer, self._capacity):
            if not full:
                break
            out.append(chunk)
            consumed += len(chunk)
        self._slots += consumed
        self._buffer = self._buffer[consumed:]
        return out
