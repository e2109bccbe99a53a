"""Where the flows get the time, randomness and nonces (``Environment``): the process's by
default; a test passes scripted ones and drives any flow step by step."""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


def request_nonce() -> str:
    """A fresh nonce for one append request (its entries are marked ``<nonce>.<n>``: 4.3)."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Environment:
    """The clocks, the random source and the nonce maker a flow uses.

    ``clock`` is the wall clock (journal times, the age of a checkpoint and garbage, 7.3);
    ``monotonic`` measures waits (a server's read-after-write lag, 8.4); ``randint`` picks
    an instance's compaction phase (7.2); ``nonce`` marks each append (4.3)."""

    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    randint: Callable[[int, int], int] = random.randint
    nonce: Callable[[], str] = request_nonce


PROCESS = Environment()
"""The process's own clocks, random source and nonces."""
