"""Journal records and the state they fold into. Pure: no I/O, no ``openai``.

A journal entry is the text of one message (threads) or item (conversations) on the root:
one or more records, one compact JSON object a line. See docs/design.md, "Records".
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ._codec import decode_ids, encode_ids
from ._errors import CorruptIndexError, UnsupportedFormatError

__all__ = [
    "RECORD_VERSION",
    "SPILLED_VERSION",
    "Checkpoint",
    "Entry",
    "JournalScan",
    "Overlay",
    "Record",
    "VisibleIds",
    "checkpoint_text",
    "dump_records",
    "fold_pages",
    "page_facts",
    "page_list_key",
    "parse_checkpoint_text",
    "parse_entry",
    "retirement_stamp",
    "written_by_append",
]

RECORD_VERSION: Final = 1
SPILLED_VERSION: Final = 2
"""The record format of a checkpoint carried in body objects (4.6); every other record is
written as format 1, so that readers of format 1 read them; they refuse format 2 clearly."""
READ_VERSION: Final = SPILLED_VERSION
_MARK: Final = '{"lt":'


def retirement_stamp(t: float) -> float:
    """A page's retirement time as records carry it: rounded UP to the millisecond, so a page
    never looks retired earlier than it was and its grace is never cut short (7.3)."""
    return math.ceil(t * 1000) / 1000


PLACING_OPS = ("add", "rm", "at")
"""Records that carry IDs and may state where they are in a list of pages (4.4, 4.5)."""


def page_list_key(pages: Sequence[str], dirs: Sequence[str]) -> str:
    """A short name for a checkpoint's list of pages (or of directories, which stand for the
    pages they list), under which a record states what those pages hold (4.4)."""
    text = ("d" if dirs else "p") + "\n".join(dirs or pages)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Record:
    """One journal record: ``add``, ``rm``, ``at``, ``ckpt`` or ``end`` (the tombstone a
    destroy appends first: docs/design.md 4.7; it carries nothing but its nonce).

    An ``rm``, or an ``add`` that is not ``new``, may state where its IDs are in the list of
    pages named ``at`` (``page_list_key``): ``placed`` holds one flag per ID, ``1`` held by
    those pages once, ``0`` held by none, ``-`` not stated (docs/design.md 4.4). An ``at``
    record states only that, and changes no list (4.5).
    """

    op: str
    ids: tuple[str, ...] = ()
    new: bool = False
    nonce: str = ""
    checkpoint: Checkpoint | None = None
    at: str = ""
    placed: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """The whole state as of journal entry ``upto`` (inclusive), stored outside the journal.

    ``pages`` (or, for large indexes, the pages listed by ``dirs``) hold ``slots`` IDs in order,
    every one visible unless named in ``hide``. ``extra`` follows the pages: IDs that do not fill
    a page yet, each ``True`` when conditional (to be listed only if not already in a page).
    ``garbage`` lists pages that no current checkpoint needs, with the time they were retired.
    ``held`` is the part of ``hide`` known to be in the pages (each once), so that a count
    needs no page read when every hidden ID is held; a record carries it as one flag per
    hidden ID, so only its hidden part is kept.
    ``ascii``: pages of this index are written in ASCII from now on, whatever the root's
    probe says (a dense page was altered or refused: docs/design.md 5.4).
    """

    upto: str | None
    pages: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()
    slots: int = 0
    extra: tuple[tuple[str, bool], ...] = ()
    hide: frozenset[str] = frozenset()
    garbage: tuple[tuple[tuple[str, ...], float], ...] = ()
    time: float = 0.0
    nonces: tuple[str, ...] = ()
    held: frozenset[str] = frozenset()
    ascii: bool = False
    # Body objects (4.6): when set and ``loaded`` is False, the record only names them and
    # every other field is still to be read from them.
    body: tuple[str, ...] = ()
    loaded: bool = True

    @property
    def exact(self) -> bool:
        """True when the count needs no page read: every hidden ID known to be in the pages,
        nothing conditional."""
        return self.hide <= self.held and not any(cond for _, cond in self.extra)

    def referenced(self) -> set[str]:
        """Every index object this checkpoint needs (pages, directories, body objects)."""
        return set(self.pages) | set(self.dirs) | set(self.body)


EMPTY: Final = Checkpoint(upto=None)


@dataclass(frozen=True)
class Entry:
    """A journal entry as read back: its server ID and its records."""

    id: str
    records: tuple[Record, ...]

    @property
    def nonce(self) -> str:
        """The writer's unique mark of this entry ("" if none): a repeated append repeats it."""
        return next((r.nonce for r in self.records if r.nonce), "")


def _pack(ids: Sequence[str]) -> str:
    return _packed(tuple(ids)) if ids else ""


@functools.lru_cache(maxsize=128)
def _packed(ids: tuple[str, ...]) -> str:
    # Cached: an entry's length is measured before it is sent (4.6), with the same IDs.
    return encode_ids(ids)


def _unpack(text: Any, where: str) -> tuple[str, ...]:
    if text == "" or text is None:
        return ()
    if not isinstance(text, str):
        raise CorruptIndexError(f"{where}: packed IDs are not text")
    try:
        return tuple(decode_ids(text))
    except CorruptIndexError as exc:
        raise CorruptIndexError(f"{where}: {exc}") from exc


def _record_to_json(record: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"lt": RECORD_VERSION, "op": record.op}
    if record.op in PLACING_OPS:
        out["ids"] = _pack(record.ids)
        if record.new:
            out["new"] = 1
        if record.at:
            out["at"] = record.at
            out["in"] = record.placed
    elif record.checkpoint is not None and record.checkpoint.body:
        # Carried in body objects (4.6): a short record of format 2 that names them.
        stub = record.checkpoint
        out = {"lt": SPILLED_VERSION, "op": "ckpt", "upto": stub.upto, "body": _pack(stub.body)}
        out["t"] = round(stub.time, 3)
    elif record.op == "ckpt":
        ck = record.checkpoint
        assert ck is not None
        out["upto"] = ck.upto
        out["pages"] = _pack(ck.pages)
        if ck.dirs:
            out["dirs"] = _pack(ck.dirs)
        out["slots"] = ck.slots
        out["extra"] = _pack([i for i, _ in ck.extra])
        out["cond"] = "".join("1" if c else "0" for _, c in ck.extra)
        hide = sorted(ck.hide)
        out["hide"] = _pack(hide)
        if ck.held & ck.hide:
            # One flag per hidden ID, in the packed order: a character per ID instead of the
            # 22 to 29 of another list of IDs, so L hidden IDs fit with room (7.2, 7.4).
            out["held"] = "".join("1" if i in ck.held else "0" for i in hide)
        out["garbage"] = [[_pack(ids), retirement_stamp(t)] for ids, t in ck.garbage]
        out["t"] = round(ck.time, 3)
        out["seen"] = list(ck.nonces)
        if ck.ascii:
            out["codec"] = "ascii"
    if record.nonce:
        out["w"] = record.nonce
    return out


def dump_records(records: Iterable[Record], nonce: str = "") -> str:
    """Records -> entry text (one JSON object a line), each marked with the entry's nonce."""
    lines = []
    for r in records:
        obj = _record_to_json(r)
        if nonce:
            obj["w"] = nonce
        lines.append(json.dumps(obj, separators=(",", ":")))
    return "\n".join(lines)


def written_by_append(request_nonce: str) -> Callable[[str], bool]:
    """Whether an entry's text was written by the append of ``request_nonce``: that append
    marks each entry ``<request_nonce>.<n>`` (``dump_records``, 4.3). The check the transport
    makes before it sends again an append whose answer was lost."""
    mark = f'"w":"{request_nonce}.'
    return lambda text: mark in text


def _parse_record(obj: Any, entry_id: str) -> Record:
    where = f"journal entry {entry_id}"
    if not isinstance(obj, dict):
        raise CorruptIndexError(f"{where}: a record is not an object")
    version = obj.get("lt")
    if not isinstance(version, int):
        raise CorruptIndexError(f"{where}: a record has no format version")
    op = obj.get("op")
    # Format 2 defines one record, a checkpoint in body objects (4.6); any other record of
    # format 2, like any of a later format, comes from a newer writer.
    if version > READ_VERSION or (version == SPILLED_VERSION and op != "ckpt"):
        raise UnsupportedFormatError(
            f"{where} was written by a newer linkedthreads (record format {version}); "
            "upgrade linkedthreads to read this index"
        )
    nonce = obj.get("w", "")
    if not isinstance(nonce, str):
        nonce = ""
    if op in PLACING_OPS:
        ids = _unpack(obj.get("ids"), where)
        at, placed = obj.get("at", ""), obj.get("in", "")
        if at or placed or op == "at":
            if (
                not isinstance(at, str)
                or not isinstance(placed, str)
                or len(placed) != len(ids)
                or placed.strip("01-")
                or not at
            ):
                raise CorruptIndexError(f"{where}: placement flags do not match its IDs")
        else:
            at, placed = "", ""
        return Record(op=op, ids=ids, new=bool(obj.get("new")), nonce=nonce, at=at, placed=placed)
    if op == "ckpt" and version == SPILLED_VERSION:
        upto, body = obj.get("upto"), _unpack(obj.get("body"), where)
        if (upto is not None and not isinstance(upto, str)) or not body:
            raise CorruptIndexError(f"{where}: a checkpoint in body objects is malformed")
        try:
            t = float(obj.get("t", 0.0))
        except (TypeError, ValueError) as exc:
            raise CorruptIndexError(f"{where}: checkpoint time is invalid") from exc
        stub = Checkpoint(upto=upto, time=t, body=body, loaded=False)
        return Record(op="ckpt", nonce=nonce, checkpoint=stub)
    if op == "ckpt":
        try:
            extra_ids = _unpack(obj.get("extra"), where)
            flags = obj.get("cond", "")
            if not isinstance(flags, str) or len(flags) != len(extra_ids):
                raise CorruptIndexError(f"{where}: checkpoint flags do not match its IDs")
            upto = obj.get("upto")
            if upto is not None and not isinstance(upto, str):
                raise CorruptIndexError(f"{where}: checkpoint position is not an ID")
            slots = obj.get("slots", 0)
            if not isinstance(slots, int) or slots < 0:
                raise CorruptIndexError(f"{where}: checkpoint slot count is invalid")
            garbage = []
            for item in obj.get("garbage", []):
                garbage.append((_unpack(item[0], where), float(item[1])))
            hide_ids = _unpack(obj.get("hide"), where)
            held_flags = obj.get("held", "")
            if (
                not isinstance(held_flags, str)
                or held_flags.strip("01")
                or (held_flags and len(held_flags) != len(hide_ids))
            ):
                raise CorruptIndexError(
                    f"{where}: checkpoint held flags do not match its hidden IDs"
                )
            hide = frozenset(hide_ids)
            checkpoint = Checkpoint(
                upto=upto,
                pages=_unpack(obj.get("pages"), where),
                dirs=_unpack(obj.get("dirs"), where),
                slots=slots,
                extra=tuple(zip(extra_ids, (f == "1" for f in flags), strict=True)),
                hide=hide,
                garbage=tuple(garbage),
                time=float(obj.get("t", 0.0)),
                nonces=tuple(str(n) for n in obj.get("seen", [])),
                held=frozenset(i for i, f in zip(hide_ids, held_flags, strict=False) if f == "1"),
                ascii=obj.get("codec") == "ascii",
            )
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise CorruptIndexError(f"{where}: checkpoint is malformed ({exc})") from exc
        return Record(op="ckpt", nonce=nonce, checkpoint=checkpoint)
    # An unknown op of this version: ignore (forward compatible within a version).
    return Record(op=str(op), nonce=nonce)


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The format-1 record of a checkpoint, whole (what body objects carry: 4.6)."""
    full = dataclasses.replace(checkpoint, body=(), loaded=True)
    return json.dumps(_record_to_json(Record(op="ckpt", checkpoint=full)), separators=(",", ":"))


def parse_checkpoint_text(stub: Checkpoint, text: str, where: str) -> Checkpoint:
    """The checkpoint a body carries, checked against the record that named it."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptIndexError(f"{where}: a checkpoint body is damaged: {exc.msg}") from exc
    if not isinstance(obj, dict) or obj.get("lt") != RECORD_VERSION or obj.get("op") != "ckpt":
        raise CorruptIndexError(f"{where}: a checkpoint body is not a checkpoint")
    ck = _parse_record(obj, where).checkpoint
    if ck is None or ck.upto != stub.upto:
        raise CorruptIndexError(f"{where}: a checkpoint body does not match its record")
    return dataclasses.replace(ck, body=stub.body, loaded=True)


def parse_entry(entry_id: str, text: str) -> Entry:
    """Entry text -> records. Text that is not ours (no ``{"lt":`` mark) yields no records.

    Raises ``CorruptIndexError`` for text that is marked as ours but does not parse, and
    ``UnsupportedFormatError`` for records of a newer format.
    """
    records = []
    for line in text.splitlines():
        if not line.startswith(_MARK):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorruptIndexError(f"journal entry {entry_id} is damaged: {exc.msg}") from exc
        records.append(_parse_record(obj, entry_id))
    return Entry(id=entry_id, records=tuple(records))


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
    """

    __slots__ = ("applied", "extra", "folded_nonces", "held", "hide")

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.extra: dict[str, bool] = dict(checkpoint.extra)
        self.hide: set[str] = set(checkpoint.hide)
        self.held: set[str] = set(checkpoint.held)
        self.folded_nonces: set[str] = set(checkpoint.nonces)
        self.applied: list[str] = []

    def copy(self) -> Overlay:
        out = Overlay(EMPTY)
        out.extra, out.hide, out.held = dict(self.extra), set(self.hide), set(self.held)
        out.folded_nonces, out.applied = set(self.folded_nonces), list(self.applied)
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
