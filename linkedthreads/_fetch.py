"""Reading the children themselves: a screen of IDs (from ``latest(n)``, a page of
``all(newest_first=True)``) becomes their SDK objects (metadata, creation time, ...), read
concurrently, ``read_concurrency`` at a time. Shared by ``ThreadIndex.fetch`` and
``AsyncThreadIndex.fetch`` as one flow (see ``_protocol`` for what a flow is)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import InvalidIdError
from ._protocol.flow import Flow, first_error, send_all
from ._protocol.state import IndexState
from ._protocol.validation import validate_id
from ._transport import NotFound

__all__ = ["fetch_children", "validate_fetch_ids"]


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


def fetch_children(core: IndexState, ids: list[str]) -> Flow[list[Any]]:
    """The SDK object of each ID, in order; ``None`` for an ID the server answers 404 for.

    Each distinct ID is read once; the reads go ``read_concurrency`` at a time, so n
    distinct IDs cost n requests in ceil(n / ``read_concurrency``) rounds. Any other error
    (after the retry policy) is raised once the round it was in has answered; the rounds
    after it are not sent.
    """
    distinct = list(dict.fromkeys(ids))
    found: dict[str, Any] = {}
    step = core.settings.read_concurrency
    for start in range(0, len(distinct), step):
        chunk = distinct[start : start + step]
        outcomes = yield from send_all([core.backend.retrieve(i) for i in chunk])
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
        for id_, outcome in zip(chunk, outcomes, strict=True):
            found[id_] = None if isinstance(outcome.error, NotFound) else outcome.value.raw
    return [found[i] for i in ids]
