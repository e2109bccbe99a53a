"""Seconds at the latency of the real service, computed from the measured round trips.

The emulator answers in well under a millisecond; OpenAI in about 150 ms a request, with
jitter. Injecting 150 ms into every request of the whole run would take hours, and the
time of an operation is (to within the client's CPU, which the round-trip measure leaves
out) its chain of dependent requests times the latency. So the seconds are computed from
what the run measured: the sequential round trips of each operation (requests each sent
after the previous one was answered; requests in flight together count once), each round
costing the latency plus, for a round of c requests in flight, the expected largest of
their c jitters (uniform on +/- ``jitter_ms``: ``jitter_ms * (c - 1) / (c + 1)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Latency"]


@dataclass(frozen=True)
class Latency:
    """The modelled service: ``latency_ms`` a request, uniform jitter of +/- ``jitter_ms``."""

    latency_ms: float = 150.0
    jitter_ms: float = 50.0

    def describe(self) -> str:
        return f"{self.latency_ms:.0f} ms a request, jitter ±{self.jitter_ms:.0f} ms"

    def round_seconds(self, width: int = 1) -> float:
        """Expected seconds of one round of ``width`` requests in flight together."""
        width = max(1, width)
        return (self.latency_ms + self.jitter_ms * (width - 1) / (width + 1)) / 1000

    def seconds(self, rounds: list[int] | float) -> float:
        """Seconds of a chain of rounds: a list of widths, or a number of lone rounds."""
        if isinstance(rounds, list):
            return sum(self.round_seconds(w) for w in rounds)
        return rounds * self.round_seconds(1)

    @staticmethod
    def all_rounds(pages: int, directories: int, concurrency: int) -> list[int]:
        """``all()``: the journal, then directories and pages ``concurrency`` at a time."""
        out = [1]
        for total in (directories, pages):
            full, rest = divmod(total, concurrency)
            out += [concurrency] * full + ([rest] if rest else [])
        return out

    @staticmethod
    def batched_rounds(requests: float, concurrency: int) -> list[int]:
        """``requests`` sent ``concurrency`` at a time."""
        n = math.ceil(requests)
        full, rest = divmod(n, concurrency)
        return [concurrency] * full + ([rest] if rest else [])
