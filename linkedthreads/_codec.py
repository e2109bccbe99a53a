"""Pure ID packing: lists of opaque IDs <-> compact text, and text <-> metadata slots.

No I/O and no ``openai`` here. Three layers, each a pure function with an inverse:

1. ``ids_to_bits`` / ``bits_to_ids``: a list of IDs becomes one bit string. Known shapes are
   packed as integers (``thread_`` + 24 base62 -> 143 bits; ``conv_`` + 48 lowercase hex ->
   192 bits); anything else is kept losslessly as UTF-8 bytes with a length. A CRC-32 of the
   IDs ends the stream, so an altered page or record is detected, never misread.
2. ``bits_to_text`` / ``text_to_bits``: bits become text in an alphabet. ``ASCII`` uses the 94
   printable ASCII characters other than space (nothing a server could trim or escape away);
   ``DENSE`` uses 2**15 CJK and Hangul code points of the Basic Multilingual Plane, 15 bits a
   character, and is used only after a probe showed the server keeps it intact.
3. ``encode_slots`` / ``decode_slots``: text is spread over the 16 metadata pairs of an object
   (keys of 64 characters, values of 512), the first character of each key naming its slot.

See docs/design.md, "Appendix A: encoding", for the exact layout and test vectors.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from ._errors import CorruptIndexError

__all__ = [
    "ASCII",
    "DENSE",
    "DENSE_PROBE",
    "KEY_PROBE",
    "MAX_ID_LENGTH",
    "Alphabet",
    "bits_to_ids",
    "decode_ids",
    "decode_slots",
    "encode_ids",
    "encode_slots",
    "ids_to_bits",
    "slot_capacity_bits",
]

MAX_ID_LENGTH: Final = 256
"""Longest ID the codec (and so the index) accepts, in characters."""

FORMAT_VERSION: Final = 1

_BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_INDEX: Final = {c: i for i, c in enumerate(_BASE62)}
_HEX: Final = "0123456789abcdef"

_THREAD_PREFIX: Final = "thread_"
_CONV_PREFIX: Final = "conv_"
_THREAD_BITS: Final = (62**24 - 1).bit_length()  # 143
_CONV_BITS: Final = 192

# Shapes (2 bits in mixed streams).
_SHAPE_THREAD: Final = 0
_SHAPE_CONV: Final = 1
_SHAPE_RAW: Final = 2
# Stream modes (2 bits): every ID of one shape, or a tag before each ID.
_MODE_MIXED: Final = 3

_VERSION_BITS: Final = 3
_MODE_BITS: Final = 2
_COUNT_BITS: Final = 20
_RAW_LEN_BITS: Final = 10  # UTF-8 length - 1; MAX_ID_LENGTH * 4 bytes fits in 1024
_CRC_BITS: Final = 32


class _BitWriter:
    """Collects fields and joins them pairwise at the end: linear in the bits written (a
    shift of the whole value per field was quadratic: 0.12 s for 2,000 IDs)."""

    __slots__ = ("_nbits", "_parts")

    def __init__(self) -> None:
        self._parts: list[tuple[int, int]] = []
        self._nbits = 0

    def write(self, value: int, nbits: int) -> None:
        self._parts.append((value, nbits))
        self._nbits += nbits

    def result(self) -> tuple[int, int]:
        parts = self._parts
        while len(parts) > 1:
            joined = [
                ((a << nb) | b, na + nb)
                for (a, na), (b, nb) in zip(parts[0::2], parts[1::2], strict=False)
            ]
            if len(parts) % 2:
                joined.append(parts[-1])
            parts = joined
        return (parts[0][0], self._nbits) if parts else (0, 0)


class _BitReader:
    """Reads fields from the binary digits of the value (linear, like ``_BitWriter``)."""

    __slots__ = ("_digits", "_nbits", "_pos")

    def __init__(self, value: int, nbits: int) -> None:
        self._digits = format(value, f"0{nbits}b") if nbits else ""
        self._nbits = nbits
        self._pos = 0

    def read(self, nbits: int) -> int:
        if self._pos + nbits > self._nbits:
            raise CorruptIndexError("packed IDs end early")
        start = self._pos
        self._pos += nbits
        return int(self._digits[start : self._pos], 2) if nbits else 0


def _shape(id_: str) -> int:
    if (
        len(id_) == 31
        and id_.startswith(_THREAD_PREFIX)
        and all(c in _BASE62_INDEX for c in id_[7:])
    ):
        return _SHAPE_THREAD
    if len(id_) == 53 and id_.startswith(_CONV_PREFIX) and all(c in _HEX for c in id_[5:]):
        return _SHAPE_CONV
    return _SHAPE_RAW


def _write_id(writer: _BitWriter, id_: str, shape: int) -> None:
    if shape == _SHAPE_THREAD:
        n = 0
        for c in id_[7:]:
            n = n * 62 + _BASE62_INDEX[c]
        writer.write(n, _THREAD_BITS)
    elif shape == _SHAPE_CONV:
        writer.write(int(id_[5:], 16), _CONV_BITS)
    else:
        data = id_.encode("utf-8")
        if not 1 <= len(data) <= 1 << _RAW_LEN_BITS:
            raise ValueError(f"ID {id_[:40]!r} is too long to pack ({len(data)} UTF-8 bytes)")
        writer.write(len(data) - 1, _RAW_LEN_BITS)
        writer.write(int.from_bytes(data, "big"), 8 * len(data))


def _read_id(reader: _BitReader, shape: int) -> str:
    if shape == _SHAPE_THREAD:
        n = reader.read(_THREAD_BITS)
        if n >= 62**24:
            raise CorruptIndexError("packed thread ID out of range")
        digits = []
        for _ in range(24):
            n, r = divmod(n, 62)
            digits.append(_BASE62[r])
        return _THREAD_PREFIX + "".join(reversed(digits))
    if shape == _SHAPE_CONV:
        return _CONV_PREFIX + format(reader.read(_CONV_BITS), "048x")
    length = reader.read(_RAW_LEN_BITS) + 1
    data = reader.read(8 * length).to_bytes(length, "big")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptIndexError("packed ID is not valid UTF-8") from exc


def _crc(ids: Sequence[str]) -> int:
    return zlib.crc32("\n".join(ids).encode("utf-8", "surrogatepass"))


def ids_to_bits(ids: Sequence[str]) -> tuple[int, int]:
    """Pack IDs into ``(value, nbits)``; ``bits_to_ids`` is its inverse.

    Runtime: O(total length of the IDs).
    """
    if len(ids) >= 1 << _COUNT_BITS:
        raise ValueError(f"too many IDs to pack at once: {len(ids)}")
    shapes = [_shape(i) for i in ids]
    distinct = set(shapes)
    mode = _MODE_MIXED if len(distinct) > 1 else (shapes[0] if shapes else _SHAPE_THREAD)
    writer = _BitWriter()
    writer.write(FORMAT_VERSION, _VERSION_BITS)
    writer.write(mode, _MODE_BITS)
    writer.write(len(ids), _COUNT_BITS)
    for id_, shape in zip(ids, shapes, strict=True):
        if mode == _MODE_MIXED:
            writer.write(shape, 2)
        _write_id(writer, id_, shape)
    writer.write(_crc(ids), _CRC_BITS)
    return writer.result()


def bits_to_ids(value: int, nbits: int) -> list[str]:
    """Inverse of ``ids_to_bits``; trailing padding bits are ignored.

    Raises ``CorruptIndexError`` when the stream is truncated, of an unknown version, or
    fails its checksum.
    """
    reader = _BitReader(value, nbits)
    version = reader.read(_VERSION_BITS)
    if version != FORMAT_VERSION:
        raise CorruptIndexError(f"packed IDs use format version {version}, this library reads 1")
    mode = reader.read(_MODE_BITS)
    count = reader.read(_COUNT_BITS)
    ids = []
    for _ in range(count):
        shape = reader.read(2) if mode == _MODE_MIXED else mode
        if shape > _SHAPE_RAW:
            raise CorruptIndexError("packed ID has an unknown shape tag")
        ids.append(_read_id(reader, shape))
    if reader.read(_CRC_BITS) != _crc(ids):
        raise CorruptIndexError("packed IDs fail their checksum")
    return ids


@dataclass(frozen=True)
class Alphabet:
    """A set of characters that carries bits; ``symbols`` is ordered (digit value)."""

    name: str
    symbols: str
    slot_marks: str  # 16 characters, the first of each metadata key, one per slot

    def __post_init__(self) -> None:
        index = {c: i for i, c in enumerate(self.symbols)}
        object.__setattr__(self, "_index", index)
        power = len(self.symbols).bit_length() - 1
        exact = 1 << power == len(self.symbols)
        object.__setattr__(self, "_power_of_two", power if exact else 0)

    def capacity_bits(self, chars: int) -> int:
        """How many bits ``chars`` characters of this alphabet carry (exact)."""
        if self._power_of_two:  # type: ignore[attr-defined]
            return int(self._power_of_two) * chars  # type: ignore[attr-defined]
        return int((len(self.symbols) ** chars).bit_length() - 1)

    def chars_for(self, nbits: int) -> int:
        """The fewest characters that carry ``nbits`` bits."""
        if self._power_of_two:  # type: ignore[attr-defined]
            return -(-nbits // int(self._power_of_two))  # type: ignore[attr-defined]
        chars = max(0, int(nbits / math.log2(len(self.symbols))) - 2)  # a lower bound
        while self.capacity_bits(chars) < nbits:
            chars += 1
        return chars

    def to_text(self, value: int, chars: int) -> str:
        """``value`` (< 2**capacity_bits(chars)) as exactly ``chars`` digits."""
        base = len(self.symbols)
        if chars > 32:  # halves: a division of the whole value per digit was quadratic
            high, low = divmod(value, _power(base, chars // 2))
            return self.to_text(high, chars - chars // 2) + self.to_text(low, chars // 2)
        out = []
        for _ in range(chars):
            value, digit = divmod(value, base)
            out.append(self.symbols[digit])
        return "".join(reversed(out))

    def from_text(self, text: str) -> int:
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        base = len(self.symbols)
        value = 0
        try:
            for c in text:
                value = value * base + index[c]
        except KeyError as exc:
            raise CorruptIndexError(f"unexpected character {exc.args[0]!r} in packed text") from exc
        if value >= 1 << self.capacity_bits(len(text)):
            raise CorruptIndexError("packed text is out of range")
        return value


@functools.lru_cache(maxsize=64)
def _power(base: int, exponent: int) -> int:
    return int(base**exponent)


def _dense_symbols() -> str:
    ranges = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xAC00, 0xD7A3)]
    out: list[str] = []
    for lo, hi in ranges:
        out.extend(chr(c) for c in range(lo, hi + 1))
    return "".join(out[: 1 << 15])


ASCII: Final = Alphabet(
    name="ascii",
    symbols="".join(chr(c) for c in range(0x21, 0x7F)),  # 94: printable, no space
    slot_marks="ABCDEFGHIJKLMNOP",
)
DENSE: Final = Alphabet(name="dense", symbols=_dense_symbols(), slot_marks="abcdefghijklmnop")
_ALPHABETS: Final = (ASCII, DENSE)

# Records (journal text) are cut into chunks so that base conversion stays linear.
_TEXT_CHUNK: Final = 512


def encode_ids(ids: Sequence[str], alphabet: Alphabet = ASCII) -> str:
    """IDs -> text in ``alphabet`` (for journal records). Inverse: ``decode_ids``.

    >>> decode_ids(encode_ids(["thread_abc", "conv_1"])) == ["thread_abc", "conv_1"]
    True
    """
    value, nbits = ids_to_bits(ids)
    return _bits_to_chunked_text(value, nbits, alphabet)


def decode_ids(text: str, alphabet: Alphabet = ASCII) -> list[str]:
    value, nbits = _chunked_text_to_bits(text, alphabet)
    return bits_to_ids(value, nbits)


def _bits_to_chunked_text(value: int, nbits: int, alphabet: Alphabet) -> str:
    chunk_bits = alphabet.capacity_bits(_TEXT_CHUNK)
    parts = []
    remaining = nbits
    while remaining > 0:
        take = min(chunk_bits, remaining)
        remaining -= take
        piece = (value >> remaining) & ((1 << take) - 1)
        chars = alphabet.chars_for(take) if take < chunk_bits else _TEXT_CHUNK
        pad = alphabet.capacity_bits(chars) - take
        parts.append(alphabet.to_text(piece << pad, chars))
    return "".join(parts)


def _chunked_text_to_bits(text: str, alphabet: Alphabet) -> tuple[int, int]:
    value = 0
    nbits = 0
    for start in range(0, len(text), _TEXT_CHUNK):
        piece = text[start : start + _TEXT_CHUNK]
        bits = alphabet.capacity_bits(len(piece))
        value = (value << bits) | alphabet.from_text(piece)
        nbits += bits
    return value, nbits


# --- metadata slots -------------------------------------------------------------------------

SLOTS: Final = 16
KEY_CHARS: Final = 64
VALUE_CHARS: Final = 512


def _slot_layout(reserved_keys: int) -> list[tuple[int, int]]:
    """(slot number, characters) for each data field, in fill order: key, then value."""
    layout = []
    for slot in range(SLOTS - reserved_keys):
        layout.append((slot, KEY_CHARS - 1))
        layout.append((slot, VALUE_CHARS))
    return layout


def slot_capacity_bits(alphabet: Alphabet, reserved_keys: int = 0) -> int:
    """Bits that the metadata of one object carries in ``alphabet``."""
    return sum(alphabet.capacity_bits(chars) for _, chars in _slot_layout(reserved_keys))


def encode_slots(
    value: int, nbits: int, alphabet: Alphabet, reserved_keys: int = 0
) -> dict[str, str]:
    """Spread ``nbits`` bits over metadata pairs. Raises ``ValueError`` if they do not fit."""
    if nbits > slot_capacity_bits(alphabet, reserved_keys):
        raise ValueError(f"{nbits} bits do not fit in one object's metadata")
    fields: list[str] = []
    remaining = nbits
    for _, chars in _slot_layout(reserved_keys):
        if remaining <= 0:
            break
        cap = alphabet.capacity_bits(chars)
        take = min(cap, remaining)
        remaining -= take
        piece = (value >> remaining) & ((1 << take) - 1)
        width = chars if take == cap else alphabet.chars_for(take)
        pad = alphabet.capacity_bits(width) - take
        fields.append(alphabet.to_text(piece << pad, width))
    if len(fields) % 2:
        fields.append("")
    metadata = {}
    for slot in range(len(fields) // 2):
        metadata[alphabet.slot_marks[slot] + fields[2 * slot]] = fields[2 * slot + 1]
    return metadata


def decode_slots(metadata: dict[str, str], ignore: Iterable[str] = ()) -> tuple[int, int]:
    """Inverse of ``encode_slots``: the bits (with padding) held in ``metadata``.

    Keys in ``ignore`` are skipped. Raises ``CorruptIndexError`` on anything else that is not
    a slot of one alphabet, numbered from the first mark without gaps.
    """
    skip = set(ignore)
    keys = [k for k in metadata if k not in skip]
    if not keys:
        raise CorruptIndexError("the object has no packed metadata")
    alphabet = next((a for a in _ALPHABETS if keys[0][:1] in a.slot_marks), None)
    if alphabet is None:
        raise CorruptIndexError(f"a metadata key starts with {keys[0][:1]!r}, not a slot mark")
    by_slot: dict[int, str] = {}
    for key in keys:
        slot = alphabet.slot_marks.find(key[:1])
        if not key or slot < 0 or slot in by_slot:
            raise CorruptIndexError(
                f"a metadata key starting with {key[:1]!r} is not a {alphabet.name} slot"
            )
        by_slot[slot] = key
    if sorted(by_slot) != list(range(len(by_slot))):
        raise CorruptIndexError("the packed metadata has a missing slot")
    value = 0
    nbits = 0
    for slot in range(len(by_slot)):
        key = by_slot[slot]
        for text in (key[1:], metadata[key]):
            if not isinstance(text, str):
                raise CorruptIndexError(f"the value of slot {key[:1]!r} is not a string")
            bits = alphabet.capacity_bits(len(text))
            value = (value << bits) | alphabet.from_text(text)
            nbits += bits
    return value, nbits


def alphabet_named(name: str) -> Alphabet:
    for alphabet in _ALPHABETS:
        if alphabet.name == name:
            return alphabet
    raise ValueError(f"unknown codec {name!r}: expected 'ascii' or 'dense'")


DENSE_PROBE: Final = "".join(DENSE.symbols[i] for i in range(0, 1 << 15, 64))
"""512 characters spread over the dense alphabet's ranges: a value as long as a dense page's."""

KEY_PROBE: Final = "~" + "".join(DENSE.symbols[round(i * ((1 << 15) - 1) / 62)] for i in range(63))
"""A key shaped like a dense page's longest: one ASCII mark, then 63 characters spread over
the dense alphabet (its first and last symbols, each range, Hangul syllables that NFD would
decompose): 64 characters, 190 UTF-8 bytes. With ``DENSE_PROBE`` as its value, it stored
intact means every way a dense page uses metadata is kept (docs/design.md, 5.3)."""


_HEADER_BITS: Final = _VERSION_BITS + _MODE_BITS + _COUNT_BITS + _CRC_BITS


def _id_cost(id_: str, shape: int) -> int:
    if shape == _SHAPE_THREAD:
        return _THREAD_BITS
    if shape == _SHAPE_CONV:
        return _CONV_BITS
    return _RAW_LEN_BITS + 8 * len(id_.encode("utf-8"))


def page_bits(sample_id: str, n: int) -> int:
    """Bits a page of ``n`` IDs of ``sample_id``'s shape takes (the header included)."""
    return _HEADER_BITS + n * _id_cost(sample_id, _shape(sample_id))


def chunk_for_pages(ids: Iterable[str], capacity_bits: int) -> Iterator[tuple[list[str], bool]]:
    """Cut IDs, in order, into the longest runs whose packing fits ``capacity_bits``.

    Yields ``(chunk, full)``: ``full`` is False only for the last chunk when it could still
    take more IDs. Runtime: O(number of IDs).
    """
    chunk: list[str] = []
    shapes: set[int] = set()
    cost = _HEADER_BITS
    for id_ in ids:
        shape = _shape(id_)
        new_shapes = shapes | {shape}
        mixed = len(new_shapes) > 1
        step = _id_cost(id_, shape) + (2 if mixed else 0)
        total = cost + step + (2 * len(chunk) if mixed and len(shapes) == 1 else 0)
        if chunk and total > capacity_bits:
            yield chunk, True
            chunk, shapes, cost = [], set(), _HEADER_BITS
            new_shapes, mixed = {shape}, False
            total = cost + _id_cost(id_, shape)
        chunk.append(id_)
        shapes = new_shapes
        cost = total
    if chunk:
        yield chunk, False
