"""Journal entries from records: neighbouring records merged, records split and grouped into
entries within the record limit, nonces included (docs/design.md 4.6), of at most
``ENTRY_IDS`` IDs (6.3). Pure."""

from __future__ import annotations

import dataclasses

from linkedthreads._codec import encode_ids
from linkedthreads._errors import LinkedThreadsError
from linkedthreads._journal import PLACING_OPS, Record, dump_records

from .state import WEIGHT_IDS

ENTRY_IDS = WEIGHT_IDS
"""The most IDs one entry of ``add``, ``rm`` or ``at`` records carries (docs/design.md, 6.3):
a bulk record is split into entries of at most 100 IDs (about 3,200 characters), so that
the newest entries a reader's first journal answer decodes are small whatever the history
(an ``add_many`` of 2,000 IDs is 20 entries, still one append of conversations), and each
of our entries counts 1 toward ``compact_every``."""

_NONCE_SAMPLE = "f" * 16 + ".99"  # the longest nonce an entry gets (up to 20 a request)


def line_length(record: Record) -> int:
    return len(dump_records([record], _NONCE_SAMPLE))


def merge_records(records: list[Record]) -> list[Record]:
    """Join neighbouring records of the same kind (fewer characters, same meaning)."""
    out: list[Record] = []
    for r in records:
        if out and r.op in ("add", "rm") and out[-1].op == r.op and out[-1].new == r.new:
            prev = out.pop()
            out.append(Record(op=r.op, ids=prev.ids + r.ids, new=r.new))
        else:
            out.append(r)
    return out


def group_entries(records: list[Record], max_chars: int) -> tuple[list[list[Record]], list[Record]]:
    """Group records into entries whose text, nonces included, is at most ``max_chars``
    long: a hard bound (4.6), and that carry at most ``ENTRY_IDS`` IDs (6.3). Records of
    IDs are split as needed; a checkpoint longer than ``max_chars`` alone is returned apart
    (to be carried in body objects)."""
    entries: list[list[Record]] = []
    oversize: list[Record] = []
    current: list[Record] = []
    size = carried = 0
    for record in records:
        for piece, length in _split(record, max_chars):
            if length > max_chars:
                if piece.op != "ckpt":  # pragma: no cover - one ID is far below any limit
                    raise LinkedThreadsError(
                        f"a journal record of one ID is {length} characters, over the "
                        f"record limit of {max_chars}"
                    )
                oversize.append(piece)
                continue
            ids = len(piece.ids)
            if current and (size + 1 + length > max_chars or carried + ids > ENTRY_IDS):
                entries.append(current)
                current, size, carried = [], 0, 0
            size += length + (1 if current else 0)
            carried += ids
            current.append(piece)
    if current:
        entries.append(current)
    return entries, oversize


def _split(record: Record, limit: int) -> list[tuple[Record, int]]:
    """``record`` in pieces whose line is at most ``limit`` long, each with its length."""
    if record.op not in PLACING_OPS or not record.ids:
        return [(record, line_length(record))]
    ids = record.ids
    sample = ids[:200]
    per_id = len(encode_ids(sample)) / len(sample) * 1.05 + (1 if record.placed else 0)
    per = max(1, min(ENTRY_IDS, int((limit - 200) / per_id)))
    out: list[tuple[Record, int]] = []
    for i in range(0, len(ids), per):
        piece = dataclasses.replace(record, ids=ids[i : i + per], placed=record.placed[i : i + per])
        _halve_to_fit(piece, limit, out)
    return out


def _halve_to_fit(record: Record, limit: int, out: list[tuple[Record, int]]) -> None:
    length = line_length(record)
    if length <= limit or len(record.ids) == 1:
        out.append((record, length))
        return
    half = len(record.ids) // 2
    for part in (slice(0, half), slice(half, None)):
        piece = dataclasses.replace(record, ids=record.ids[part], placed=record.placed[part])
        _halve_to_fit(piece, limit, out)
