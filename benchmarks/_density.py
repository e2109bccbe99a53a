"""Density: IDs a page object holds, against the limit of the medium.

An object's metadata is 16 keys of at most 64 characters and 16 values of at most 512. A
page spends one character of each key on a slot mark, so it carries 16 x (63 + 512) data
characters. In ASCII (94 printable characters) a field of c characters carries
floor(log2(94^c)) bits; in the dense alphabet (2^15 code points) 15 bits a character. A
thread ID is 24 base-62 digits (143 bits), a conversation ID 48 hex digits (192 bits).
"""

from __future__ import annotations

import math
from typing import Any

import openai

from linkedthreads import ThreadIndex

from ._host import Host
from ._measure import count
from ._ours import SETTINGS

__all__ = ["ID_BITS", "ascii_density", "limit_bits", "limits"]

ID_BITS = {"threads": math.ceil(24 * math.log2(62)), "conversations": 48 * 4}
FRAMING_BITS = 3 + 2 + 20 + 32  # version, mode, count, CRC-32 (docs/design.md, 5.1)


def limit_bits(codec: str) -> int:
    if codec == "ascii":
        per_char = math.log2(94)
        return 16 * (math.floor(63 * per_char) + math.floor(512 * per_char))
    return 16 * 15 * (63 + 512)


def limits(backend: str, codec: str) -> dict[str, float]:
    bits = limit_bits(codec)
    return {
        "bits_per_object": bits,
        "id_bits": ID_BITS[backend],
        "limit": bits / ID_BITS[backend],
        "whole_ids_with_framing": (bits - FRAMING_BITS) // ID_BITS[backend],
    }


def ascii_density(
    host: Host, client: openai.OpenAI, backend: str, ids: list[str]
) -> dict[str, Any]:
    """An ASCII index (``codec="ascii"``) holding existing IDs; IDs per page."""
    index = ThreadIndex.create(client, backend=backend, codec="ascii", settings=SETTINGS)  # type: ignore[arg-type]
    sample = ids[: 6 * index.page_capacity + 7]
    index.add_many(sample)
    compacted = count(host, index.compact)
    stats = index.stats()
    out = {
        "codec": index.codec,
        "ids": len(sample),
        "pages": stats.pages,
        "page_slots": stats.page_slots,
        "per_page": stats.page_slots / stats.pages,
        "page_capacity": index.page_capacity,
        "compact_requests": compacted.requests,
    }
    index.close()
    return out
