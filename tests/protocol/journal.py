"""Journal entries and pages as a server would hold them, for scripted answers."""

from __future__ import annotations

from linkedthreads._codec import ASCII, Alphabet, encode_slots, ids_to_bits
from linkedthreads._journal import Checkpoint, Record, dump_records


def adds(entry_id: str, *ids: str, nonce: str = "00000000000000a1") -> tuple[str, str]:
    """An entry adding new children ``ids``."""
    return entry_id, dump_records([Record(op="add", ids=ids, new=True)], f"{nonce}.0")


def removes(entry_id: str, *ids: str, nonce: str = "00000000000000b1") -> tuple[str, str]:
    """An entry removing ``ids``."""
    return entry_id, dump_records([Record(op="rm", ids=ids)], f"{nonce}.0")


def checkpoint(entry_id: str, upto: str, pages: tuple[str, ...], slots: int) -> tuple[str, str]:
    """An entry carrying a checkpoint of the journal up to ``upto``."""
    ck = Checkpoint(upto=upto, pages=pages, slots=slots)
    return entry_id, dump_records([Record(op="ckpt", checkpoint=ck)], "00000000000000c1.0")


def page(*ids: str, alphabet: Alphabet = ASCII) -> dict[str, str]:
    """The metadata of a page holding ``ids``."""
    value, nbits = ids_to_bits(list(ids))
    return encode_slots(value, nbits, alphabet)
