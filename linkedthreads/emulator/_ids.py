"""Seedable generation of IDs in the shapes OpenAI uses (FACTS.md, "IDs").

| kind              | shape                                                   |
|-------------------|---------------------------------------------------------|
| thread            | ``thread_`` + 24 of [A-Za-z0-9]                         |
| thread message    | ``msg_`` + 24 of [A-Za-z0-9]                            |
| conversation      | ``conv_`` + 48 lowercase hex, the first 8 the Unix time |
| conversation item | ``msg_`` + 48 (or 50) lowercase hex, the first 8 the    |
|                   | Unix time (as in the observed example ID)               |
| run               | ``run_`` + 24 of [A-Za-z0-9]                            |
| request           | ``req_`` + 32 lowercase hex                             |

With a seed, the same sequence of calls yields the same IDs (apart from the time digits).
"""

from __future__ import annotations

import random
import string

BASE62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


class IdGenerator:
    """Makes object IDs from one seeded random stream and request IDs from another, so that
    request IDs do not shift object IDs.

    >>> a, b = IdGenerator(seed=7), IdGenerator(seed=7)
    >>> a.thread_id() == b.thread_id()
    True
    >>> len(a.thread_id()), a.conversation_id(now=0x68542DC6)[:13]
    (31, 'conv_68542dc6')
    """

    def __init__(self, seed: int | None = None) -> None:
        self._objects = random.Random(None if seed is None else f"{seed}:objects")
        self._requests = random.Random(None if seed is None else f"{seed}:requests")

    def _base62(self, n: int) -> str:
        return "".join(self._objects.choices(BASE62, k=n))

    def _hex(self, rng: random.Random, n: int) -> str:
        return f"{rng.getrandbits(4 * n):0{n}x}"

    def thread_id(self) -> str:
        return "thread_" + self._base62(24)

    def message_id(self) -> str:
        return "msg_" + self._base62(24)

    def run_id(self) -> str:
        return "run_" + self._base62(24)

    def conversation_id(self, now: float) -> str:
        return "conv_" + f"{int(now) & 0xFFFFFFFF:08x}" + self._hex(self._objects, 40)

    def item_id(self, now: float, hex_lengths: tuple[int, ...] = (48,)) -> str:
        n = hex_lengths[0] if len(hex_lengths) == 1 else self._objects.choice(hex_lengths)
        return "msg_" + f"{int(now) & 0xFFFFFFFF:08x}" + self._hex(self._objects, n - 8)

    def request_id(self) -> str:
        return "req_" + self._hex(self._requests, 32)
