"""The flow machinery: what a flow yields (``Batch``, ``Emit``, ``Pause``), how it sends
requests (``send``, ``send_all``) and starts a read again when a page it needed was
collected (``restarting``).

A flow is a generator. It yields ``Batch`` (requests to send, concurrently, whose
``Outcome`` list it receives back), ``Emit`` (IDs, or scope pairs, for the caller of a
streaming operation) or ``Pause``, and returns its result. The sync and async front ends
only drive flows (as httpx drives an ``Auth.auth_flow``), so the protocol exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from linkedthreads._backends import Request
from linkedthreads._errors import ConcurrentChangeError, CorruptIndexError
from linkedthreads._transport import NotFound, Outcome

T = TypeVar("T")
E = TypeVar("E")


@dataclass(frozen=True)
class Batch:
    """Requests to send concurrently; the flow receives one ``Outcome`` for each.

    ``width``: the most of them in flight at once; None, the executor's own (the larger of
    ``read_concurrency`` and ``write_concurrency``). ``fetch`` sends a screen in one round
    this way, whatever those settings."""

    requests: Sequence[Request[Any]]
    width: int | None = None


@dataclass(frozen=True)
class Emit(Generic[E]):
    """What a streaming flow hands to its caller: IDs (``all()``), or ``(name, root ID)``
    pairs (``scopes()``)."""

    items: Sequence[E]


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` before the flow goes on (``time.sleep`` or ``asyncio.sleep``): how a
    flow lets a lagging server catch up (docs/design.md 8.4)."""

    seconds: float


Step = Batch | Emit[Any] | Pause
Flow = Generator[Step, Any, T]


def send(request: Request[T]) -> Flow[T]:
    """One request; raises its error."""
    (outcome,) = yield Batch([request])
    return outcome.unwrap()  # type: ignore[no-any-return]


def send_all(requests: Sequence[Request[Any]], width: int | None = None) -> Flow[list[Outcome]]:
    """Requests sent concurrently (``width`` at most in flight, as ``Batch``); their
    outcomes, in order."""
    if not requests:
        return []
    outcomes: list[Outcome] = yield Batch(requests, width)
    return outcomes


def first_error(
    outcomes: Iterable[Outcome], ignore_not_found: bool = False
) -> BaseException | None:
    for o in outcomes:
        if o.error is not None and not (ignore_not_found and isinstance(o.error, NotFound)):
            return o.error
    return None


class PageGone(ConcurrentChangeError, CorruptIndexError):
    """A page named by a checkpoint does not exist: collected by a concurrent compaction
    (start over) or deleted by hand (``verify(repair=True)``)."""

    def __init__(self, page_id: str) -> None:
        super().__init__(
            f"index page {page_id!r} is gone: a concurrent compaction collected it (try "
            "again), or it was deleted by hand (run verify(repair=True))"
        )
        self.page_id = page_id


def restarting(make: Callable[[], Flow[T]], attempts: int = 3) -> Flow[T]:
    """Run a reading flow again from a fresh view when a page it needed was collected."""
    for attempt in range(attempts):
        try:
            return (yield from make())
        except PageGone:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
