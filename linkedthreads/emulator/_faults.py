"""Seeded fault injection and per-route rate limits.

Each API request draws from three seeded streams, one draw each whatever the settings, so the
fate of the n-th request depends only on the seed and n:

- faults: ``u < fault_rate`` fails the request before it is applied; ``u / fault_rate``
  then picks the kind by the cumulative ``fault_weights``;
- lost responses (write requests only): ``w < lost_response_rate`` applies the write and then
  cuts the connection before the answer;
- latency jitter: ``latency_ms + j * latency_jitter_ms``.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._settings import FAULT_KINDS, EmulatorSettings, FaultKind


@dataclass(frozen=True)
class Decision:
    """What happens to one request."""

    fault: FaultKind | None
    lost_response: bool
    delay_s: float


class FaultInjector:
    """Draws each request's :class:`Decision` from seeded streams.

    >>> s = EmulatorSettings(seed=3, fault_rate=0.5)
    >>> a, b = FaultInjector(3), FaultInjector(3)
    >>> [a.decide(s, True) for _ in range(20)] == [b.decide(s, True) for _ in range(20)]
    True
    """

    def __init__(self, seed: int | None) -> None:
        self._faults = random.Random(None if seed is None else f"{seed}:faults")
        self._lost = random.Random(None if seed is None else f"{seed}:lost")
        self._jitter = random.Random(None if seed is None else f"{seed}:jitter")

    def decide(self, settings: EmulatorSettings, is_write: bool) -> Decision:
        u = self._faults.random()
        w = self._lost.random() if is_write else 1.0
        j = self._jitter.random()
        fault: FaultKind | None = None
        if u < settings.fault_rate:
            fault = pick_kind(u / settings.fault_rate, settings.fault_weights.items())
        lost = fault is None and w < settings.lost_response_rate
        delay_ms = settings.latency_ms + j * settings.latency_jitter_ms
        return Decision(fault=fault, lost_response=lost, delay_s=delay_ms / 1000.0)


def pick_kind(x: float, weights: Iterable[tuple[str, float]]) -> FaultKind:
    """The kind at position ``x`` in [0, 1) of the cumulative weights (in FAULT_KINDS order).

    >>> pick_kind(0.1, {"429": 1, "500": 1}.items()), pick_kind(0.9, {"429": 1, "500": 1}.items())
    ('429', '500')
    """
    table = dict(weights)
    kinds = [(k, table.get(k, 0.0)) for k in FAULT_KINDS if table.get(k, 0.0) > 0]
    total = sum(wt for _, wt in kinds)
    mark = x * total
    for kind, wt in kinds:
        if mark < wt:
            return kind
        mark -= wt
    return kinds[-1][0]


@dataclass(frozen=True)
class Limited:
    """A refused request: wait ``retry_after_s``; ``key`` allows ``limit`` per window."""

    key: str
    limit: int
    retry_after_s: float


class RateLimiter:
    """Sliding-window request counts per key (route template or method).

    Runtime complexity: amortised O(1) per request and key.

    >>> rl = RateLimiter()
    >>> [rl.check({"GET": 2}, 60.0, ["GET"], now=0.0) is None for _ in range(3)]
    [True, True, False]
    """

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def reset(self) -> None:
        self._hits.clear()

    def check(
        self, limits: Mapping[str, int] | None, window_s: float, keys: Iterable[str], now: float
    ) -> Limited | None:
        """``None`` (and the request counted) if every applicable limit allows it."""
        if not limits:
            return None
        applicable = [(k, limits[k]) for k in keys if k in limits]
        for key, limit in applicable:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window_s:
                hits.popleft()
            if len(hits) >= limit:
                wait = (hits[0] + window_s - now) if hits else window_s
                return Limited(key=key, limit=limit, retry_after_s=max(1.0, math.ceil(wait)))
        for key, _ in applicable:
            self._hits[key].append(now)
        return None
