"""The record bound: what a server's refusal for length says, and checkpoints carried in
objects when their record would not fit. Pure: no I/O, no ``openai``.

docs/design.md, 4.6: no journal entry is longer than the instance's record limit
(``max_record_chars``, lowered to what the server is learned to accept). A checkpoint whose
record would be longer is written, whole, into the metadata of **body** objects (created
before it, never changed, collected like pages), and the journal carries a short record of
format 2 that names them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Final

from ._codec import ASCII, decode_slots, encode_slots, slot_capacity_bits
from ._errors import CorruptIndexError

__all__ = [
    "BODY_BYTES",
    "MIN_RECORD_LIMIT",
    "body_metadata",
    "body_text",
    "learned_limit",
]

BODY_BYTES: Final = slot_capacity_bits(ASCII) // 8
"""Bytes of a checkpoint's (compressed) text one body object carries: 7,534."""

MIN_RECORD_LIMIT: Final = 1_000
"""Below this a server's entry limit is not learned: every record of one ID fits in far
less, so a refusal that would take the limit lower is not about length."""

_HEADER: Final = 8  # 4 bytes of length, 4 of CRC-32, before the compressed text
_MAXIMUM = re.compile(r"maximum length (\d+)")


def body_metadata(text: str) -> list[dict[str, str]]:
    """A checkpoint's record text -> the metadata of its body objects, in order (ASCII
    slots, so nothing a server keeps of ASCII metadata can alter it unnoticed)."""
    data = zlib.compress(text.encode("utf-8"), 9)
    stream = len(data).to_bytes(4, "big") + zlib.crc32(data).to_bytes(4, "big") + data
    out = []
    for start in range(0, len(stream), BODY_BYTES):
        piece = stream[start : start + BODY_BYTES]
        out.append(encode_slots(int.from_bytes(piece, "big"), 8 * len(piece), ASCII))
    return out


def body_text(metadata: Sequence[Mapping[str, str]]) -> str:
    """Inverse of ``body_metadata``; ``CorruptIndexError`` if anything was altered."""
    stream = b""
    for md in metadata:
        value, nbits = decode_slots(dict(md))
        nbytes = nbits // 8  # padding is under one character, so under 8 bits
        stream += (value >> (nbits - 8 * nbytes)).to_bytes(nbytes, "big")
    if len(stream) < _HEADER:
        raise CorruptIndexError("a checkpoint body is truncated")
    length = int.from_bytes(stream[:4], "big")
    data = stream[_HEADER : _HEADER + length]
    if len(data) != length or zlib.crc32(data) != int.from_bytes(stream[4:8], "big"):
        raise CorruptIndexError("a checkpoint body fails its checksum")
    try:
        return zlib.decompress(data).decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as exc:
        raise CorruptIndexError("a checkpoint body does not decode") from exc


def learned_limit(message: str, code: str | None, longest_sent: int) -> int | None:
    """The entry length a server accepts, from its refusal of texts up to ``longest_sent``
    characters; None when the refusal is not about length.

    OpenAI-style: 400 ``string_above_max_length`` "... Expected a string with maximum length
    N ...". A refusal that says it is about length but names no usable N halves the longest
    text sent."""
    text = message.lower()
    about_length = code == "string_above_max_length" or "string too long" in text
    if not about_length:  # e.g. "array too long": too many items, not too many characters
        return None
    match = _MAXIMUM.search(text)
    limit = int(match.group(1)) if match else 0
    if not 0 < limit < longest_sent:
        limit = longest_sent // 2
    return limit if limit >= MIN_RECORD_LIMIT else None
