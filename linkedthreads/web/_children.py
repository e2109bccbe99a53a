"""What the index does not store, read with the SDK for the rows on screen: a child's
creation time, metadata and first message or item, and a whole conversation for the chat
view. Many children are read at once on a thread pool: the rows of a screen in one round.

Cost: 2 requests a row (the object, and its first message/item); 1 with ``first=False``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import openai

from linkedthreads._backends import call, make_backend
from linkedthreads._objects import ChildDetails, metadata_of, role_of, text_of

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class Entry:
    """A message (thread) or item (conversation), as the chat view shows it."""

    role: str
    text: str
    kind: str
    created_at: int | None = None


@dataclass(frozen=True)
class Filter:
    """Which children a listing shows: metadata that must match, and an age bound."""

    metadata: Mapping[str, str] = field(default_factory=dict)
    older_than: float | None = None  # seconds
    newer_than: float | None = None

    @property
    def active(self) -> bool:
        return bool(self.metadata) or self.older_than is not None or self.newer_than is not None

    def matches(self, child: ChildDetails, now: float | None = None) -> bool:
        if not child.exists:
            return False
        now = time.time() if now is None else now
        created = child.created_at
        if self.older_than is not None and (created is None or created > now - self.older_than):
            return False
        if self.newer_than is not None and (created is None or created < now - self.newer_than):
            return False
        return all(child.metadata.get(k) == v for k, v in self.metadata.items())

    def describe(self) -> str:
        parts = []
        if self.older_than is not None:
            parts.append(f"created more than {format_age(self.older_than)} ago")
        if self.newer_than is not None:
            parts.append(f"created in the last {format_age(self.newer_than)}")
        if self.metadata:
            parts.append("with " + ", ".join(f"{k}={v}" for k, v in self.metadata.items()))
        return " and ".join(parts) if parts else "every child"


class BadInput(ValueError):
    """A value typed in the page that cannot be understood; the message says which."""


def parse_age(text: str, what: str) -> float | None:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` in seconds; blank is None."""
    text = text.strip().lower()
    if not text:
        return None
    number, unit = text[:-1].strip(), text[-1:]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in UNITS or value < 0:
        raise BadInput(f"{what}: expected an age like 30d, 12h, 90m or 2w, got {text!r}")
    return value * UNITS[unit]


def parse_metadata(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by commas or new lines."""
    out: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"metadata: expected key=value, got {part!r}")
        out[key.strip()] = value.strip()
    return out


def format_age(seconds: float) -> str:
    for size, name in ((604800, "week"), (86400, "day"), (3600, "hour")):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {name}{'s' if n != 1 else ''}"
    minutes = seconds / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def entry_of(raw: Any) -> Entry:
    created = getattr(raw, "created_at", None)
    return Entry(
        role=role_of(raw),
        text=text_of(raw),
        kind=str(getattr(raw, "type", "message")),
        created_at=created if isinstance(created, int) else None,
    )


class Reader:
    """Reads children's details with one SDK client, ``workers`` requests in flight."""

    def __init__(self, client: openai.OpenAI, backend: str, workers: int = 64) -> None:
        self.client = client
        self.backend = backend
        self._backend = make_backend(backend)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkedthreads-web")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _retrieve(self, child_id: str) -> Any:
        return call(self.client, self._backend.retrieve(child_id)).raw

    def _page(self, child_id: str, *, limit: int, after: str | None) -> tuple[list[Any], bool]:
        """One page of entries, oldest first, and whether there are more."""
        request = self._backend.entries_page(child_id, order="asc", after=after, limit=limit)
        return call(self.client, request)

    def _first(self, child_id: str) -> list[Any]:
        try:
            return self._page(child_id, limit=1, after=None)[0]
        except openai.NotFoundError:
            return []

    def many(self, ids: Iterable[str], *, first: bool = True) -> list[ChildDetails]:
        """Every child's details, in order; all the requests at once (one round)."""
        ids = list(ids)
        objects = [self.pool.submit(self._retrieve, i) for i in ids]
        firsts = [self.pool.submit(self._first, i) for i in ids] if first else []
        out: list[ChildDetails] = []
        error: BaseException | None = None
        for n, child_id in enumerate(ids):
            try:
                obj = objects[n].result()
            except openai.NotFoundError:
                out.append(ChildDetails(child_id, exists=False))
                continue
            except Exception as exc:  # the first error fails the round; the rest drain
                error = error or exc
                continue
            child = ChildDetails(child_id, created_at=obj.created_at, metadata=metadata_of(obj))
            if first:
                try:
                    entries = firsts[n].result()
                except Exception as exc:
                    error = error or exc
                    continue
                if entries:
                    child.first_text = text_of(entries[0])
                    child.first_role = role_of(entries[0])
            out.append(child)
        for f in firsts:
            f.exception()
        if error is not None:
            raise error
        return out

    def stream(self, ids: Iterable[str], *, window: int = 64) -> Iterator[ChildDetails]:
        """Details of many children (no first message), ``window`` at a time, in order."""
        batch: list[str] = []
        for child_id in ids:
            batch.append(child_id)
            if len(batch) >= window:
                yield from self.many(batch, first=False)
                batch = []
        if batch:
            yield from self.many(batch, first=False)

    def one(
        self, child_id: str, *, limit: int = 200
    ) -> tuple[ChildDetails | None, list[Entry], bool]:
        """A child and its first ``limit`` messages/items (None if it does not exist), and
        whether there are more. Cost: 1 + 1 a page of 100."""
        try:
            obj = self._retrieve(child_id)
        except openai.NotFoundError:
            return None, [], False
        child = ChildDetails(child_id, created_at=obj.created_at, metadata=metadata_of(obj))
        entries: list[Entry] = []
        after: str | None = None
        while len(entries) < limit:
            data, has_more = self._page(child_id, limit=min(100, limit - len(entries)), after=after)
            entries.extend(entry_of(e) for e in data)
            if not data or not has_more:
                return child, entries, False
            after = data[-1].id
        return child, entries, True
