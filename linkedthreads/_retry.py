"""The one retry layer for the library's requests (tenacity).

The SDK's own retries are switched off for every request the library makes
(``client.with_options(max_retries=0)``), so attempts do not multiply. Transient failures
(connection errors, timeouts, 408, 409, 429, 5xx) are retried with exponential backoff and
full jitter, honouring ``retry-after-ms`` / ``retry-after``, bounded by attempts and time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: the SDK costs about a second of start-up
    from tenacity import RetryCallState

__all__ = ["RetryPolicy", "is_transient", "retry_after_seconds"]

_TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How the library retries a failed request.

    ``attempts`` bounds the tries of one request (1 means no retry); ``max_delay`` bounds the
    seconds spent on one request; waits grow from ``initial_wait`` by doubling up to
    ``max_wait`` with full jitter, unless the server said how long to wait
    (``retry-after``), which is honoured up to ``max_wait_after``.
    ``RetryPolicy.none()`` turns retries off; ``RetryPolicy.instant()`` keeps them but
    never sleeps (for tests).
    """

    attempts: int = 6
    max_delay: float = 60.0
    initial_wait: float = 0.25
    max_wait: float = 8.0
    max_wait_after: float = 60.0
    sleep: bool = True

    @classmethod
    def none(cls) -> RetryPolicy:
        return cls(attempts=1)

    @classmethod
    def instant(cls, attempts: int = 10) -> RetryPolicy:
        return cls(attempts=attempts, sleep=False)

    def wait_seconds(self, state: RetryCallState) -> float:
        if not self.sleep:
            return 0.0
        exc = state.outcome.exception() if state.outcome is not None else None
        told = retry_after_seconds(exc)
        if told is not None:
            return min(told, self.max_wait_after)
        ceiling = min(self.max_wait, self.initial_wait * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed request may succeed if sent again."""
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _TRANSIENT_STATUS
    return False


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """The wait the server asked for in ``retry-after-ms`` or ``retry-after``, if any."""
    response: Any = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None
