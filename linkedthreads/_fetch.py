"""Reading the children themselves: a screen of IDs (from ``latest(n)``, a page of
``all(newest_first=True)``) becomes their SDK objects (metadata, creation time, ...), read
concurrently, ``FETCH_CONCURRENCY`` (32) at a time unless the call says otherwise: a screen
in one round, whatever ``read_concurrency`` is. Shared by ``ThreadIndex.fetch`` and
``AsyncThreadIndex.fetch`` as one flow (see ``_protocol`` for what a flow is)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import InvalidIdError
from ._protocol.flow import Flow, first_error, send_all
from ._protocol.state import IndexState
from ._protocol.validation import validate_id
from ._transport import NotFound

__all__ = [
    "FETCH_CONCURRENCY",
    "fetch_children",
    "validate_fetch_concurrency",
    "validate_fetch_ids",
]

FETCH_CONCURRENCY = 32
"""Reads ``fetch`` has in flight at once by default: a screen of up to 32 IDs (a sidebar of
20) is one round of concurrent requests. Its own, not ``read_concurrency`` (page reads of
``all()``), so that the default screen needs no setting."""


def validate_fetch_ids(ids: Iterable[str], prefix: str) -> list[str]:
    """Every ID checked before any request, in the order given (repeats kept: the answer
    has one entry per ID given)."""
    if isinstance(ids, str):
        raise InvalidIdError("pass a list of IDs, not one string")
    try:
        items = list(ids)
    except TypeError:
        raise InvalidIdError(
            f"pass a list of IDs, not {type(ids).__name__}"  # a number, None, ...
        ) from None
    return [validate_id(i, prefix) for i in items]


def validate_fetch_concurrency(concurrency: object) -> int:
    """``fetch``'s ``concurrency``: None (the default, ``FETCH_CONCURRENCY``) or an int of
    at least 1; checked before any request."""
    if concurrency is None:
        return FETCH_CONCURRENCY
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer or None, not {concurrency!r}")
    return concurrency


def fetch_children(core: IndexState, ids: list[str], concurrency: int) -> Flow[list[Any]]:
    """The SDK object of each ID, in order; ``None`` for an ID the server answers 404 for.

    Each distinct ID is read once; the reads go ``concurrency`` at a time (all of them in
    flight at once, whatever the executor's width), so n distinct IDs cost n requests in
    ceil(n / ``concurrency``) rounds. Any other error
    (after the retry policy) is raised once the round it was in has answered; the rounds
    after it are not sent.
    """
    distinct = list(dict.fromkeys(ids))
    found: dict[str, Any] = {}
    step = concurrency
    for start in range(0, len(distinct), step):
        chunk = distinct[start : start + step]
        outcomes = yield from send_all([core.backend.retrieve(i) for i in chunk], step)
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
        for id_, outcome in zip(chunk, outcomes, strict=True):
            found[id_] = None if isinstance(outcome.error, NotFound) else outcome.value.raw
    return [found[i] for i in ids]
