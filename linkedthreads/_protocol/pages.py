"""What an instance knows of pages: where the overlay's undecided IDs are (``Learner``,
docs/design.md 7.4), found in pages read or in this instance's cache (7.5), and the
placement its records state (4.4)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from linkedthreads._journal import Checkpoint, Record
from linkedthreads._overlay import Overlay
from linkedthreads._page_cache import Probe

from .state import IndexState, Resolution
from .view import View


class Learner:
    """Watches pages stream by and learns where the overlay's undecided IDs are."""

    def __init__(self, overlay: Overlay) -> None:
        self.unknown = overlay.unknown()
        self.counts: dict[str, int] = {}

    def page(self, ids: Sequence[str]) -> None:
        if self.unknown:
            for id_ in self.unknown.intersection(ids):
                self.counts[id_] = self.counts.get(id_, 0) + ids.count(id_)

    def statement(self) -> tuple[tuple[str, ...], str]:
        """Once every page was seen: the undecided IDs and a flag each, ``1`` held by the
        pages once, ``0`` held by none, for an ``at`` record (4.5). IDs held more than once
        (a damaged index) are left out."""
        ids = tuple(sorted(i for i in self.unknown if self.counts.get(i, 0) <= 1))
        return ids, "".join("1" if i in self.counts else "0" for i in ids)

    def found(self, counts: Mapping[str, int]) -> None:
        """A page holds these IDs, so many times each (from ``PageCache.find``)."""
        for id_, n in counts.items():
            self.counts[id_] = self.counts.get(id_, 0) + n

    def learn(
        self, state: IndexState, base: Checkpoint, pages: Sequence[str], *, record_soon: bool = True
    ) -> None:
        """Every page was read: remember what they hold, and (``record_soon``) let the next
        write record it."""
        if not self.unknown:
            return
        held = frozenset(i for i, n in self.counts.items() if n == 1)
        absent = frozenset(self.unknown - set(self.counts))
        state.learn_resolution(
            Resolution(tuple(pages), held, absent, base.dirs), record_soon=record_soon
        )


def learn_from_cache(state: IndexState, view: View, pages: Sequence[str]) -> None:
    """When this instance holds every page of the view's base (7.5), learn where the
    overlay's undecided IDs are without a request, so that the checkpoint being planned
    records it (7.4) and every reader's ``len`` costs 1 request."""
    learner = Learner(resolved(state, view.overlay, pages))
    if not learner.unknown or not all(p in state.cache for p in pages):
        return
    if not search_cache(state, learner, pages):  # all still cached: nothing dropped meanwhile
        learner.learn(state, view.base, pages, record_soon=False)


def search_cache(state: IndexState, learner: Learner, pages: Sequence[str]) -> list[str]:
    """Feed ``learner`` what the cached pages hold of its undecided IDs; return the pages
    not cached."""
    counts, unread = count_in_cache(state, pages, learner.unknown)
    learner.found(counts)
    return unread


def count_in_cache(
    state: IndexState, pages: Sequence[str], ids: Iterable[str]
) -> tuple[Counter[str], list[str]]:
    """How many times the cached ``pages`` hold each of ``ids`` (decoding only pages whose
    hashes match), and the pages not cached."""
    probe = Probe(ids)
    total: Counter[str] = Counter()
    unread = []
    for page_id in pages:
        counts = state.cache.find(page_id, probe)
        if counts is None:
            unread.append(page_id)
        else:
            total.update(counts)
    return total, unread


def placed_in_cache(state: IndexState, ids: Sequence[str]) -> tuple[str, str]:
    """Where ``ids`` are in the newest page list this instance knows, when it holds every
    page of it: that list's key and one flag per ID (``1`` held once, ``0`` held by none,
    ``-`` more than once), for a record to state (4.4); else ``("", "")``. No request."""
    newest = state.newest_page_list
    if newest is None or not ids:
        return "", ""
    key, pages = newest
    if not pages or not all(p in state.cache for p in pages):  # nothing to state, or unknown
        return "", ""
    counts, unread = count_in_cache(state, pages, ids)
    if unread:  # dropped meanwhile by another thread of this instance
        return "", ""
    flags = {0: "0", 1: "1"}
    return key, "".join(flags.get(counts[i], "-") for i in ids)


def state_placement(state: IndexState, records: list[Record]) -> list[Record]:
    """``records`` with each ``rm`` and ``add`` (but a ``new`` one, which needs none) stating
    where its IDs are, when this instance knows (4.4)."""
    out = []
    for record in records:
        if record.op in ("add", "rm") and not (record.new or record.at):
            at, placed = placed_in_cache(state, record.ids)
            if at:
                record = dataclasses.replace(record, at=at, placed=placed)
        out.append(record)
    return out


def resolved(state: IndexState, overlay: Overlay, pages: Sequence[str]) -> Overlay:
    """``overlay`` with what this instance knows of ``pages`` applied (same list, fewer
    undecided IDs)."""
    res = state.resolution
    if res is None or res.pages != tuple(pages):
        return overlay
    out = overlay.copy()
    out.resolve(res.held, res.absent)
    return out
