"""What a thread, conversation, message or item holds, as plain text and strings.

Shared by the command line and the web page, which show children to people; it reads the
SDK's objects by attribute (``getattr``), so it imports neither the SDK nor anything else.
"""

from __future__ import annotations

from typing import Any

__all__ = ["metadata_of", "role_of", "text_of"]


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
