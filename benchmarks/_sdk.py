"""Plain SDK calls on threads or conversations, for the alternatives (one request each),
through the library's one SDK adapter (``linkedthreads._backends``)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import openai

from linkedthreads._backends import call, make_backend

__all__ = ["Objects"]

BETA = {"OpenAI-Beta": "assistants=v2"}


class Objects:
    """Create, read, update and delete threads or conversations with the official SDK."""

    def __init__(self, client: openai.OpenAI, backend: str) -> None:
        self.client = client
        self.backend = backend
        self.requests = make_backend(backend)

    def create(self, metadata: Mapping[str, str]) -> str:
        return call(self.client, self.requests.create(metadata, {})).id

    def metadata(self, object_id: str) -> dict[str, str] | None:
        """The object's metadata; ``None`` if it does not exist."""
        try:
            return dict(call(self.client, self.requests.retrieve(object_id)).metadata)
        except openai.NotFoundError:
            return None

    def update(self, object_id: str, metadata: Mapping[str, str]) -> None:
        call(self.client, self.requests.update(object_id, metadata))

    def delete(self, object_id: str) -> None:
        """Delete; an object already gone counts as deleted."""
        with contextlib.suppress(openai.NotFoundError):
            call(self.client, self.requests.delete(object_id))

    def list_page(self, after: str | None, limit: int = 100) -> dict[str, Any]:
        """One page of ``GET /v1/threads`` or ``GET /v1/conversations`` (oldest first): an
        endpoint OpenAI does not offer (the emulator does, for the comparison), so no SDK
        method and no adapter request."""
        params: dict[str, Any] = {"limit": limit, "order": "asc"}
        if after is not None:
            params["after"] = after
        headers = BETA if self.backend == "threads" else {}
        options: Any = {"params": params, "headers": headers}
        page = self.client.get(f"/{self.backend}", cast_to=object, options=options)
        if not isinstance(page, dict):
            raise TypeError(f"a list page should be a JSON object, not {page!r:.200}")
        return page
