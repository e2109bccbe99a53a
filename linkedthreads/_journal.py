"""Journal records: their types, their encoding and parsing. Pure: no I/O, no ``openai``.

A journal entry is the text of one message (threads) or item (conversations) on the root:
one or more records, one compact JSON object a line. See docs/design.md, "Records". What
the records fold into (the base and tail, the overlay, the visible IDs) is ``_overlay``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._codec import decode_ids, encode_ids
from ._errors import CorruptIndexError, UnsupportedFormatError

__all__ = [
    "RECORD_VERSION",
    "SCOPED_VERSION",
    "SCOPE_OPS",
    "SPILLED_VERSION",
    "Checkpoint",
    "Entry",
    "Record",
    "checkpoint_text",
    "dump_records",
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
SCOPED_VERSION: Final = 3
"""The record format of scopes (docs/design.md, 4.8): ``scope`` and ``unscope`` records, and
every checkpoint whose scope directory is not empty. Readers of formats 1 and 2 refuse them
clearly, so that none lists, compacts or destroys an index with scopes as if it had none."""
SCOPE_OPS: Final = ("scope", "unscope")
READ_VERSION: Final = SCOPED_VERSION
_MARK: Final = '{"lt":'
_REMOVED: Final = "-"  # in a packed scope directory: the name's bucket binding was removed


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
    # ``scope`` and ``unscope`` records (4.8): the scope's name and its root's ID.
    name: str = ""
    target: str = ""


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
    # The scope directory as of ``upto`` (4.8): its buckets (objects like pages), and the
    # inline part over them: (name, scope root ID, or "" for a name removed from its bucket).
    scopes: tuple[tuple[str, str], ...] = ()
    scope_buckets: tuple[str, ...] = ()

    @property
    def exact(self) -> bool:
        """True when the count needs no page read: every hidden ID known to be in the pages,
        nothing conditional."""
        return self.hide <= self.held and not any(cond for _, cond in self.extra)

    def referenced(self) -> set[str]:
        """Every index object this checkpoint needs (pages, directories, body objects, the
        scope directory's buckets)."""
        return set(self.pages) | set(self.dirs) | set(self.body) | set(self.scope_buckets)


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
    if record.op in SCOPE_OPS:
        out = {"lt": SCOPED_VERSION, "op": record.op, "name": record.name, "id": record.target}
    elif record.op in PLACING_OPS:
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
        if stub.scopes or stub.scope_buckets:  # readers that predate scopes refuse it (4.8)
            out["lt"] = SCOPED_VERSION
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
        if ck.scopes or ck.scope_buckets:  # readers that predate scopes refuse it (4.8)
            out["lt"] = SCOPED_VERSION
            out["scopes"] = _pack([x or _REMOVED for pair in ck.scopes for x in pair])
            if ck.scope_buckets:
                out["sbuckets"] = _pack(ck.scope_buckets)
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
    if (
        version > READ_VERSION
        or (version == SPILLED_VERSION and op != "ckpt")
        or (version == SCOPED_VERSION and op not in (*SCOPE_OPS, "ckpt"))
    ):
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
    if op in SCOPE_OPS and version == SCOPED_VERSION:
        name, target = obj.get("name"), obj.get("id")
        if not isinstance(name, str) or not name or not isinstance(target, str) or not target:
            raise CorruptIndexError(f"{where}: a {op} record is malformed")
        return Record(op=op, nonce=nonce, name=name, target=target)
    if op == "ckpt" and (version == SPILLED_VERSION or "body" in obj):
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
                scopes=_scope_pairs(_unpack(obj.get("scopes"), where), where),
                scope_buckets=_unpack(obj.get("sbuckets"), where),
            )
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise CorruptIndexError(f"{where}: checkpoint is malformed ({exc})") from exc
        return Record(op="ckpt", nonce=nonce, checkpoint=checkpoint)
    # An unknown op of this version: ignore (forward compatible within a version).
    return Record(op=str(op), nonce=nonce)


def _scope_pairs(flat: Sequence[str], where: str) -> tuple[tuple[str, str], ...]:
    if len(flat) % 2:
        raise CorruptIndexError(f"{where}: the scope directory is not a list of pairs")
    return tuple(
        (name, "" if root == _REMOVED else root)
        for name, root in zip(flat[::2], flat[1::2], strict=True)
    )


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
    if (
        not isinstance(obj, dict)
        or obj.get("lt") not in (RECORD_VERSION, SCOPED_VERSION)
        or obj.get("op") != "ckpt"
        or "body" in obj
    ):
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
