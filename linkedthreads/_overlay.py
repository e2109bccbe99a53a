"""What the journal's records fold into. Pure: no I/O, no ``openai``.

``JournalScan`` finds the base checkpoint and the tail in entries read newest first;
``Overlay`` folds the tail's records over the base (docs/design.md, sections 5 and 6);
``VisibleIds`` and ``fold_pages`` give the IDs a reader lists. The records themselves are
``_journal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ._journal import EMPTY, Checkpoint, Entry, Record

__all__ = ["JournalScan", "Overlay", "VisibleIds", "fold_pages", "page_facts"]


@dataclass
class JournalScan:
    """Finds the base checkpoint and the tail, fed with journal entries newest first.

    The base is the checkpoint whose ``upto`` is the newest entry that any checkpoint covers;
    the tail is every entry after that ``upto``, oldest first. Feed entries with ``feed`` until
    it returns True (found) or the journal ends (then call ``finish``: no checkpoint covers
    anything read, and the whole journal is the tail).
    """

    _newest_first: list[Entry] = field(default_factory=list)
    _targets: dict[str, Checkpoint] = field(default_factory=dict)
    base: Checkpoint | None = None
    newest_id: str | None = None

    def feed(self, entry: Entry) -> bool:
        if self.newest_id is None:
            self.newest_id = entry.id
        target = self._targets.get(entry.id)
        if target is not None:
            self.base = target
            return True
        self._newest_first.append(entry)
        for record in entry.records:
            ck = record.checkpoint
            if ck is not None and ck.upto is not None and ck.upto not in self._targets:
                self._targets[ck.upto] = ck
        return False

    def finish(self) -> None:
        """The journal ended: with no covered entry met, replay everything from empty."""
        if self.base is None:
            self.base = EMPTY

    @property
    def tail(self) -> list[Entry]:
        """Entries after the base's ``upto``, oldest first."""
        return list(reversed(self._newest_first))

    @property
    def tail_length(self) -> int:
        return len(self._newest_first)

    def tail_checkpoints(self) -> Iterator[Checkpoint]:
        """Checkpoints written in the tail (superseded or racing ones), for collection."""
        for entry in self._newest_first:
            for record in entry.records:
                if record.checkpoint is not None:
                    yield record.checkpoint

    def nonces(self) -> set[str]:
        return {r.nonce for e in self._newest_first for r in e.records if r.nonce}


def page_facts(entries: Iterable[Entry], key: str) -> tuple[set[str], set[str]]:
    """What the records of ``entries`` state about the pages named ``key``: the IDs
    they hold once, and the IDs none of them holds (facts for good: pages never change)."""
    held: set[str] = set()
    absent: set[str] = set()
    for entry in entries:
        for record in entry.records:
            if record.at != key:
                continue
            for id_, flag in zip(record.ids, record.placed, strict=True):
                if flag == "1":
                    held.add(id_)
                elif flag == "0":
                    absent.add(id_)
    return held, absent


class Overlay:
    """What a checkpoint's pages do not say: IDs after the pages, and IDs hidden in them.

    Rules (docs/design.md, "Folding records"), for each ID X:
    - add X: no-op if X is already in ``extra``; appended unconditionally if ``new`` (a fresh
      object cannot be in a page) or if X is hidden (its page copy does not count); otherwise
      appended as conditional (listed only if no page already holds it).
    - rm X: X leaves ``extra``; X is hidden unless it was an unconditional extra that is not
      hidden already (then it was never in a visible page).

    ``held`` (a subset of ``hide``) are the hidden IDs known to be in the pages, once each.

    ``scopes`` is the scope directory (4.8) as far as the record tells it: the first
    ``scope`` record of an unbound name binds it (until an ``unscope`` of that binding);
    ``losers`` are the roots of the later ones. When the checkpoint has buckets, a name it
    does not carry inline is ``unsettled``: its bucket decides (``_scope_dir.settle`` over
    ``scope_log``, the tail's scope records in order).
    """

    __slots__ = (
        "applied",
        "bucketed",
        "extra",
        "folded_nonces",
        "held",
        "hide",
        "losers",
        "scope_log",
        "scopes",
        "unsettled",
    )

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.extra: dict[str, bool] = dict(checkpoint.extra)
        self.hide: set[str] = set(checkpoint.hide)
        self.held: set[str] = set(checkpoint.held)
        self.folded_nonces: set[str] = set(checkpoint.nonces)
        self.applied: list[str] = []
        self.scopes: dict[str, str] = dict(checkpoint.scopes)
        self.losers: list[str] = []
        self.bucketed = bool(checkpoint.scope_buckets)
        self.unsettled: set[str] = set()
        self.scope_log: list[Record] = []

    def copy(self) -> Overlay:
        out = Overlay(EMPTY)
        out.extra, out.hide, out.held = dict(self.extra), set(self.hide), set(self.held)
        out.folded_nonces, out.applied = set(self.folded_nonces), list(self.applied)
        out.scopes, out.losers = dict(self.scopes), list(self.losers)
        out.bucketed, out.unsettled = self.bucketed, set(self.unsettled)
        out.scope_log = list(self.scope_log)
        return out

    def unknown(self) -> set[str]:
        """The IDs whose presence in the pages decides the list and is not known: hidden IDs
        not known to be held, and conditional extras."""
        return (self.hide - self.held) | {i for i, cond in self.extra.items() if cond}

    def resolve(self, held: Iterable[str], absent: Iterable[str]) -> None:
        """Apply knowledge of the pages (IDs they hold, IDs none of them holds). The list it
        states does not change: a hidden ID no page holds needs no hiding; a conditional
        extra is listed at its page place if a page holds it, else at its own."""
        for id_ in held:
            if id_ in self.hide:
                self.held.add(id_)
            elif self.extra.get(id_):
                del self.extra[id_]
        for id_ in absent:
            if id_ in self.hide:
                self.hide.discard(id_)
                self.held.discard(id_)
            elif self.extra.get(id_):
                self.extra[id_] = False

    def apply(self, record: Record) -> None:
        if record.op == "add":
            for id_ in record.ids:
                if id_ in self.extra:
                    continue
                self.extra[id_] = not (record.new or id_ in self.hide)
        elif record.op == "rm":
            for id_ in record.ids:
                conditional = self.extra.pop(id_, True)
                if conditional:
                    self.hide.add(id_)
        elif record.op in ("scope", "unscope"):
            self.scope_log.append(record)
            name = record.name
            if name in self.unsettled or (self.bucketed and name not in self.scopes):
                self.unsettled.add(name)  # its bucket decides
            elif record.op == "unscope":
                if self.scopes.get(name) == record.target:
                    self.scopes[name] = ""
            elif not self.scopes.get(name):
                self.scopes[name] = record.target
            elif self.scopes[name] != record.target:  # first record wins: this root is unused
                self.losers.append(record.target)

    def apply_entries(self, entries: Iterable[Entry]) -> None:
        """Fold entries in journal order; an entry whose nonce was already folded (a repeated
        append) is skipped."""
        for entry in entries:
            nonce = entry.nonce
            if nonce:
                if nonce in self.folded_nonces:
                    continue
                self.folded_nonces.add(nonce)
                self.applied.append(nonce)
            for record in entry.records:
                self.apply(record)

    @property
    def exact(self) -> bool:
        """True when ``count`` is the length of the list without reading a page."""
        return self.hide <= self.held and not any(self.extra.values())

    def count(self, slots: int) -> int:
        """The length of the list, when ``exact``: the page IDs less the hidden ones (all in
        the pages), then every extra."""
        return slots - len(self.hide) + len(self.extra)


class VisibleIds:
    """Lists the visible IDs page by page: page IDs not hidden, then the extras still due.

    Memory: the overlay plus the conditional extras met in pages (bounded by the overlay),
    never the pages already consumed.
    """

    __slots__ = ("_listed_extra", "_overlay")

    def __init__(self, overlay: Overlay, emitted: Iterable[str] = ()) -> None:
        """``emitted``: ``extra`` IDs already listed (a reader going backwards lists the
        tail first), so that a page does not list them again."""
        self._overlay = overlay
        self._listed_extra: set[str] = set(emitted)

    def page(self, ids: Iterable[str]) -> list[str]:
        hide, extra, listed = self._overlay.hide, self._overlay.extra, self._listed_extra
        out = []
        for id_ in ids:
            if id_ in hide:
                continue
            if id_ in extra:
                if id_ in listed:
                    continue
                listed.add(id_)
            out.append(id_)
        return out

    def finish(self) -> list[str]:
        return [id_ for id_ in self._overlay.extra if id_ not in self._listed_extra]


def fold_pages(pages: Iterable[Sequence[str]], overlay: Overlay) -> Iterator[str]:
    """The visible IDs, in order, of ``pages`` under ``overlay`` (see ``VisibleIds``)."""
    visible = VisibleIds(overlay)
    for page in pages:
        yield from visible.page(page)
    yield from visible.finish()
