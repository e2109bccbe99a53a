"""Checks of what a caller passes, before any request: child IDs and user metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from linkedthreads._codec import MAX_ID_LENGTH
from linkedthreads._errors import InvalidIdError, MetadataError

from .constants import METADATA_SLOTS, RESERVED_KEYS


def validate_id(id_: object, prefix: str) -> str:
    """Check one child ID: a non-empty string of the backend's kind, without odd characters."""
    if not isinstance(id_, str):
        raise InvalidIdError(f"an ID must be a string, not {type(id_).__name__}")
    if not id_:
        raise InvalidIdError("an ID must not be empty")
    if len(id_) > MAX_ID_LENGTH:
        raise InvalidIdError(
            f"ID {id_[:40]!r}... is {len(id_)} characters long; at most {MAX_ID_LENGTH}"
        )
    if not id_.isprintable() or any(c.isspace() for c in id_):
        raise InvalidIdError(f"ID {id_[:80]!r} contains a space or a control character")
    if any(c in "/?#%" for c in id_):
        raise InvalidIdError(f"ID {id_[:80]!r} contains a character of URLs (/ ? # %)")
    if not id_.startswith(prefix) or len(id_) == len(prefix):
        raise InvalidIdError(f"ID {id_[:80]!r} is not of this index's kind: expected {prefix}...")
    return id_


def validate_ids(ids: Iterable[str], prefix: str, root_id: str = "") -> list[str]:
    """Validate every ID before anything is sent; duplicates keep their first place. The
    index's own root is refused: listing or deleting it would destroy the index."""
    if isinstance(ids, str):
        raise InvalidIdError("pass a list of IDs, not one string")
    out = list(dict.fromkeys(validate_id(i, prefix) for i in ids))
    if root_id and root_id in out:
        raise InvalidIdError(f"{root_id!r} is this index's own root, not a child")
    return out


def validate_user_metadata(metadata: Mapping[str, Any] | None, room: int) -> dict[str, str]:
    """Check user metadata locally, so that a bad key is refused before any request."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise MetadataError(f"metadata must be a mapping of strings, not {type(metadata).__name__}")
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise MetadataError(f"metadata key {key!r} must be a non-empty string")
        if key in RESERVED_KEYS:
            raise MetadataError(f"metadata key {key!r} is reserved by linkedthreads")
        if len(key) > 64:
            raise MetadataError(
                f"metadata key {key[:64]!r}... is {len(key)} characters; at most 64"
            )
        if not isinstance(value, str):
            raise MetadataError(
                f"metadata value of {key!r} must be a string, not {type(value).__name__}"
            )
        if len(value) > 512:
            raise MetadataError(
                f"metadata value of {key!r} is {len(value)} characters; at most 512"
            )
        out[key] = value
    if len(out) > room:
        raise MetadataError(
            f"metadata has {len(out)} keys, but linkedthreads needs {METADATA_SLOTS - room} of an "
            f"object's {METADATA_SLOTS} for itself: at most {room} keys"
        )
    return out
