"""What a thread, conversation, message or item holds, as plain text and strings, and a
child's details as the server tells them (``ChildDetails``).

Shared by the command line and the web page, which show children to people; it reads the
SDK's objects by attribute (``getattr``), so it imports neither the SDK nor anything else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LIBRARY_KEY",
    "ChildDetails",
    "index_of",
    "iso_time",
    "metadata_of",
    "role_of",
    "text_of",
    "user_metadata",
]

LIBRARY_KEY = "linkedthreads"  # the metadata key the library puts on a child (docs/design.md)


@dataclass
class ChildDetails:
    """One child as the server sees it now; ``exists`` is False once it was deleted.

    ``first_text`` and ``first_role`` are its first message or item, when read; ``reads``
    the requests made to learn all this.
    """

    id: str
    exists: bool = True
    created_at: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    first_text: str | None = None
    first_role: str | None = None
    reads: int = 0

    @property
    def user_metadata(self) -> dict[str, str]:
        """The metadata without the key the library adds."""
        return user_metadata(self.metadata)

    def to_json(self, *, text: bool = False) -> dict[str, Any]:
        """Plain JSON; with ``text``, the first message or item too."""
        out: dict[str, Any] = {
            "id": self.id,
            "exists": self.exists,
            "created_at": iso_time(self.created_at),
            "metadata": self.user_metadata,
        }
        if text:
            out["first_text"] = self.first_text
            out["first_role"] = self.first_role
        return out


def user_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The metadata without the key the library adds."""
    return {k: v for k, v in metadata.items() if k != LIBRARY_KEY}


def index_of(metadata: dict[str, str]) -> str | None:
    """The root ID of the index a child says it belongs to (its ``linkedthreads`` key)."""
    tag = metadata.get(LIBRARY_KEY, "")
    return tag[3:] if tag.startswith("in:") else None


def iso_time(ts: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC (``2026-05-01T12:00:00Z``)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def metadata_of(obj: Any) -> dict[str, str]:
    """An object's metadata as a plain ``dict`` of strings (``{}`` when it has none)."""
    raw = getattr(obj, "metadata", None)
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def text_of(entry: Any) -> str:
    """The readable text of a conversation item or thread message (other parts named in
    brackets, e.g. ``[input_image]``)."""
    content = getattr(entry, "content", None)
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return f"[{getattr(entry, 'type', 'item')}]"
    parts: list[str] = []
    for part in content:
        text = getattr(part, "text", None)
        value = getattr(text, "value", None)
        refusal = getattr(part, "refusal", None)
        if isinstance(text, str):
            parts.append(text)
        elif isinstance(value, str):
            parts.append(value)
        elif isinstance(refusal, str):
            parts.append(refusal)
        else:
            parts.append(f"[{getattr(part, 'type', 'content')}]")
    return "\n".join(parts)


def role_of(entry: Any) -> str:
    """A message's role, or an item's type when it has no role (a function call, ...)."""
    role = getattr(entry, "role", None)
    return role if isinstance(role, str) else str(getattr(entry, "type", "item"))
