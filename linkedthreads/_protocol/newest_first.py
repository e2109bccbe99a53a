"""Listing newest first: exactly the reverse of ``list_ids`` (docs/design.md 6.4)."""

from __future__ import annotations

from collections.abc import Sequence

from linkedthreads._overlay import Overlay, VisibleIds

from .flow import Emit, Flow, PageGone
from .pages import Learner, resolved, search_cache
from .reading import cached_pages, page_list, read_view
from .state import IndexState
from .view import View


def list_ids_newest_first(state: IndexState, want: int | None = None) -> Flow[None]:
    """Emit every listed ID newest first: exactly the reverse of ``list_ids`` (design 6.4).

    The journal's tail holds the newest IDs (the overlay's ``extra``), the pages the older
    ones in order; so this emits ``extra`` backwards, then reads the pages from the last one
    back, from this instance's cache where it holds them (pages never change: 7.5), and the
    directories of a very large index from the last one back too. The first round reads as
    many pages as ``want`` more IDs need (one page for a screen of rows), each later round
    twice as many, up to ``read_concurrency``; a caller that stops early reads nothing more.
    A conditional ``extra`` ID (an add by a process that could not say whether the pages
    hold it, 4.4) is placed first: from what this instance knows, else by searching every
    page once (as ``len`` does), which it remembers (7.4).

    Cost: 1 request + the pages (and directories) holding the IDs consumed that this
    instance does not hold: ``latest(n)`` for n up to a page costs 2 (3 when the page list
    is in directories).
    """
    emitted = False
    for attempt in range(3):
        view = yield from read_view(state)
        try:
            base = view.base
            lazy = bool(base.dirs) and not any(view.overlay.extra.values())
            if lazy:  # the directories are read from the last one back, as needed
                overlay, pages = view.overlay, []
            else:
                pages = yield from page_list(state, base)
                overlay = yield from _placed_overlay(state, view, pages)
            tail = [i for i, conditional in overlay.extra.items() if not conditional]
            visible = VisibleIds(overlay, emitted=tail)
            if tail:
                emitted = True
                yield Emit(tail[::-1])
            short = None if want is None else max(0, want - len(tail))
            rounds = 1 if short is None else -(-short // max(1, state.page_capacity))
            step = max(1, min(rounds, state.settings.read_concurrency))
            for directory in reversed(base.dirs) if lazy else [None]:
                if directory is not None:
                    (pages,) = yield from cached_pages(state, [directory])
                step, some = yield from _emit_backwards(state, pages, visible, step)
                emitted = emitted or some
            return
        except PageGone:
            if emitted or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _emit_backwards(
    state: IndexState, pages: Sequence[str], visible: VisibleIds, step: int
) -> Flow[tuple[int, bool]]:
    """Emit the visible IDs of ``pages``, last first, reading ``step`` pages at once and
    twice as many each round (up to ``read_concurrency``); the next step, and whether any
    ID was emitted."""
    emitted = False
    end = len(pages)
    while end > 0:
        chunk = pages[max(0, end - step) : end]
        end -= len(chunk)
        for content in reversed((yield from cached_pages(state, chunk))):
            ids = visible.page(reversed(content))
            if ids:
                emitted = True
                yield Emit(ids)
        step = min(step * 2, state.settings.read_concurrency)
    return step, emitted


def _placed_overlay(state: IndexState, view: View, pages: Sequence[str]) -> Flow[Overlay]:
    """The view's overlay with every conditional ``extra`` ID placed (held by a page: listed
    there; by none: at its own place), so that a reader going backwards knows where each
    goes before it emits the newest. No request unless some are undecided and this instance
    does not hold every page."""
    overlay = resolved(state, view.overlay, pages)
    if not any(overlay.extra.values()):
        return overlay
    learner = Learner(overlay)
    unread = search_cache(state, learner, pages)
    step = state.settings.read_concurrency
    for start in range(0, len(unread), step):
        for content in (yield from cached_pages(state, unread[start : start + step])):
            learner.page(content)
    learner.learn(state, view.base, pages)
    return resolved(state, view.overlay, pages)
