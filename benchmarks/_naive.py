"""Alternative (a), the naive design: IDs as comma-separated text in an object's metadata,
rewritten in place (read, then write back), chained object to object when full.

Each object of the chain has a ``next`` key (the next object's ID, or empty) and 15 values
``ids00`` ... ``ids14`` of comma-separated IDs, 512 characters at most each: 135
conversation IDs or 240 thread IDs an object. The first object is the root.

Written to be as cheap as this design allows, so that the comparison is fair: the writer
keeps the tail's ID in memory (no walk from the root to append), a write sends only the one
value it changed, and bulk loading writes each object once. What it cannot avoid: an append
is a read-modify-write of shared state without compare-and-swap, so concurrent writers
overwrite each other (``_concurrency`` measures it); a delete or a membership test walks the
chain from the root; listing reads the chain one object after another (each names the next).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ._sdk import Objects

__all__ = ["NaiveChain", "naive_capacity"]

NEXT = "next"
SLOTS = tuple(f"ids{i:02d}" for i in range(15))
VALUE_MAX = 512


def naive_capacity(id_length: int) -> int:
    """IDs an object of the chain holds."""
    return len(SLOTS) * ((VALUE_MAX + 1) // (id_length + 1))


def _pack(ids: Sequence[str]) -> dict[str, str]:
    """Fill slots in order; raises if the IDs do not fit one object."""
    out: dict[str, str] = {}
    it = iter(ids)
    pending = next(it, None)
    for key in SLOTS:
        value = ""
        while pending is not None:
            grown = f"{value},{pending}" if value else pending
            if len(grown) > VALUE_MAX:
                break
            value, pending = grown, next(it, None)
        if value:
            out[key] = value
        if pending is None:
            return out
    raise ValueError("the IDs do not fit one object")


def _ids_of(metadata: dict[str, str]) -> list[str]:
    return [i for key in SLOTS for i in (metadata.get(key) or "").split(",") if i]


class NaiveChain:
    """A list of IDs kept as comma-separated text, read-modify-write, chained."""

    def __init__(self, objects: Objects, root_id: str, tail_id: str | None = None) -> None:
        self.objects = objects
        self.root_id = root_id
        self._tail = tail_id or root_id

    @classmethod
    def create(cls, objects: Objects) -> NaiveChain:
        """1 request."""
        return cls(objects, objects.create({NEXT: ""}))

    @classmethod
    def open(cls, objects: Objects, root_id: str) -> NaiveChain:
        """1 request (the tail is found on the first append, following ``next``)."""
        if objects.metadata(root_id) is None:
            raise LookupError(root_id)
        return cls(objects, root_id)

    # -- writing --------------------------------------------------------------------------

    def create_child(self) -> str:
        """Create an object and append its ID: 1 + 2 requests (+ 2 when an object fills)."""
        child = self.objects.create({})
        self.add(child)
        return child

    def add(self, id_: str) -> None:
        """Read the tail, append the ID to a value with room, write that value back."""
        while True:
            metadata = self.objects.metadata(self._tail)
            if metadata is None:
                raise LookupError(self._tail)
            if metadata.get(NEXT):  # another writer chained an object: follow it
                self._tail = metadata[NEXT]
                continue
            for key in SLOTS:
                value = metadata.get(key) or ""
                grown = f"{value},{id_}" if value else id_
                if len(grown) <= VALUE_MAX:
                    self.objects.update(self._tail, {key: grown})
                    return
            new = self.objects.create({NEXT: "", SLOTS[0]: id_})
            self.objects.update(self._tail, {NEXT: new})
            self._tail = new
            return

    def bulk_load(self, ids: Sequence[str], per_object: int) -> None:
        """Setup: write ``ids`` into a new chain after the root, one request an object."""
        chunks = [ids[i : i + per_object] for i in range(0, len(ids), per_object)]
        if not chunks:
            return
        following = ""
        tail = ""
        for chunk in reversed(chunks[1:]):
            following = self.objects.create({NEXT: following, **_pack(chunk)})
            tail = tail or following
        self.objects.update(self.root_id, {NEXT: following, **_pack(chunks[0])})
        self._tail = tail or self.root_id

    def remove(self, id_: str) -> bool:
        """Walk from the root to the object holding the ID; write its value back without it."""
        for object_id, metadata in self._walk():
            for key in SLOTS:
                ids = (metadata.get(key) or "").split(",")
                if id_ in ids:
                    ids.remove(id_)
                    self.objects.update(object_id, {key: ",".join(ids)})
                    return True
        return False

    def delete(self, id_: str) -> None:
        """Delete the object, then remove its ID."""
        self.objects.delete(id_)
        self.remove(id_)

    # -- reading --------------------------------------------------------------------------

    def _walk(self) -> Iterator[tuple[str, dict[str, str]]]:
        object_id = self.root_id
        while object_id:
            metadata = self.objects.metadata(object_id)
            if metadata is None:
                raise LookupError(object_id)
            yield object_id, metadata
            object_id = metadata.get(NEXT) or ""

    def all(self) -> Iterator[str]:
        """Every ID: one request per object of the chain, one after another."""
        for _, metadata in self._walk():
            yield from _ids_of(metadata)

    def __len__(self) -> int:
        return sum(1 for _ in self.all())

    def __contains__(self, id_: object) -> bool:
        return any(id_ in _ids_of(md) for _, md in self._walk())

    def objects_in_chain(self) -> int:
        return sum(1 for _ in self._walk())
