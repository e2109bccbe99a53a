"""Plain SDK calls on threads or conversations, for the alternatives (one request each)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import openai

__all__ = ["Objects"]

BETA = {"OpenAI-Beta": "assistants=v2"}


class Objects:
    """Create, read, update and delete threads or conversations with the official SDK."""

    def __init__(self, client: openai.OpenAI, backend: str) -> None:
        self.client = client
        self.backend = backend

    def create(self, metadata: Mapping[str, str]) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if self.backend == "threads":
                return self.client.beta.threads.create(metadata=dict(metadata)).id
            return self.client.conversations.create(metadata=dict(metadata)).id

    def metadata(self, object_id: str) -> dict[str, str] | None:
        """The object's metadata; ``None`` if it does not exist."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                if self.backend == "threads":
                    obj: Any = self.client.beta.threads.retrieve(object_id)
                else:
                    obj = self.client.conversations.retrieve(object_id)
            except openai.NotFoundError:
                return None
        return dict(obj.metadata or {})

    def update(self, object_id: str, metadata: Mapping[str, str]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if self.backend == "threads":
                self.client.beta.threads.update(object_id, metadata=dict(metadata))
            else:
                self.client.conversations.update(object_id, metadata=dict(metadata))

    def delete(self, object_id: str) -> None:
        """Delete; an object already gone counts as deleted."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                if self.backend == "threads":
                    self.client.beta.threads.delete(object_id)
                else:
                    self.client.conversations.delete(object_id)
            except openai.NotFoundError:
                pass

    def list_page(self, after: str | None, limit: int = 100) -> dict[str, Any]:
        """One page of ``GET /v1/threads`` or ``GET /v1/conversations`` (oldest first)."""
        params: dict[str, Any] = {"limit": limit, "order": "asc"}
        if after is not None:
            params["after"] = after
        if self.backend == "threads":
            page = self.client.get(
                "/threads", cast_to=object, options={"params": params, "headers": BETA}
            )
        else:
            page = self.client.get("/conversations", cast_to=object, options={"params": params})
        if not isinstance(page, dict):
            raise TypeError(f"a list page should be a JSON object, not {page!r:.200}")
        return page
