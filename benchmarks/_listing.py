"""Alternatives (b) and (c): a list endpoint on the server.

(b) ``GET /v1/threads?limit=100&after=...``: the listing OpenAI's dashboard used for threads,
never public and gone with the Assistants API. (c) ``GET /v1/conversations?limit=100``: a
conversations list of the kind Azure OpenAI serves; OpenAI has none. Both page by cursor,
100 objects a page, one page after another (each page names the next cursor).

Such an endpoint lists every object of that kind in the project, not a list of yours: the
client keeps its objects apart by a metadata tag (the same tag ``create_child`` puts on a
child) and filters pages by it. Creating or deleting is then one request with nothing to
record; ``remove`` (forget an object but keep it) is a metadata update, and the listing
still returns the object. The emulator serves these routes with ``list_endpoints=True``.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._sdk import Objects

__all__ = ["ListEndpoint"]


class ListEndpoint:
    """A list kept by the server: the objects of one kind that carry ``tag``."""

    def __init__(self, objects: Objects, tag_key: str, tag_value: str) -> None:
        self.objects = objects
        self.tag_key = tag_key
        self.tag_value = tag_value
        self.pages_read = 0
        self.objects_seen = 0

    @property
    def name(self) -> str:
        return (
            "(b) GET /v1/threads"
            if self.objects.backend == "threads"
            else ("(c) GET /v1/conversations")
        )

    def create_child(self) -> str:
        """1 request: the server lists it."""
        return self.objects.create({self.tag_key: self.tag_value})

    def delete(self, id_: str) -> None:
        """1 request."""
        self.objects.delete(id_)

    def __contains__(self, id_: object) -> bool:
        """1 request: read the object and look at its tag."""
        if not isinstance(id_, str):
            return False
        metadata = self.objects.metadata(id_)
        return metadata is not None and metadata.get(self.tag_key) == self.tag_value

    def every_object(self) -> Iterator[dict[str, object]]:
        """Every object of the kind in the project, page after page, oldest first."""
        after: str | None = None
        while True:
            page = self.objects.list_page(after)
            self.pages_read += 1
            data = page.get("data") or []
            assert isinstance(data, list)
            self.objects_seen += len(data)
            yield from data
            if not page.get("has_more") or not data:
                return
            after = str(page.get("last_id") or data[-1]["id"])

    def all(self) -> Iterator[str]:
        """The IDs carrying the tag."""
        for obj in self.every_object():
            metadata = obj.get("metadata")
            if isinstance(metadata, dict) and metadata.get(self.tag_key) == self.tag_value:
                yield str(obj["id"])

    def __len__(self) -> int:
        return sum(1 for _ in self.all())
