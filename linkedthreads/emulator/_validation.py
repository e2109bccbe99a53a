"""Checks of request bodies and query parameters: pure functions that return the normalised
value or raise an :class:`~._errors.APIError`.  No state, no HTTP.

The emulator accepts a well-defined subset of what OpenAI accepts (text messages, metadata,
tool-resource file IDs) and refuses the rest with a 400 that says so, rather than storing
shapes it cannot answer faithfully.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import _errors as e
from ._settings import EmulatorSettings

JSON = Any
Order = Literal["asc", "desc"]

METADATA_MAX_KEYS = 16
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 512
LIST_MIN, LIST_MAX, LIST_DEFAULT = 1, 100, 20

THREAD_MESSAGE_ROLES = ("user", "assistant")
ITEM_ROLES = ("user", "assistant", "system", "developer")
ITEM_STATUSES = ("in_progress", "completed", "incomplete")
ITEM_PHASES = ("commentary", "final_answer")
EASY_ITEM_KEYS = ("role", "content", "phase", "status")
INCLUDE_VALUES = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)


def text_length(text: str, unit: str) -> int:
    """Length in code points, or in UTF-16 code units (non-BMP characters count 2).

    >>> text_length("a\\U0001F600", "codepoints"), text_length("a\\U0001F600", "utf16")
    (2, 3)
    """
    if unit == "utf16" and not text.isascii():
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def _ascii_replace(text: str) -> str:
    return text if text.isascii() else "".join(c if c.isascii() else "?" for c in text)


def _utf8_cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def metadata_key(key: str, settings: EmulatorSettings, param: str) -> str:
    """A metadata key as the server stores it under ``metadata_keys`` (checked for its
    length in characters already): kept, altered, or refused with a 400."""
    mode = settings.metadata_keys
    if mode == "intact" or key.isascii():
        return key
    if mode == "ascii_replace":
        return _ascii_replace(key)
    if mode == "nfd":
        return unicodedata.normalize("NFD", key)
    if mode == "utf8_cut":
        return _utf8_cut(key, METADATA_MAX_KEY)
    if mode == "ascii_reject":
        raise e.metadata_key_not_ascii(key, param)
    size = len(key.encode("utf-8"))  # utf8_length
    if size > METADATA_MAX_KEY:
        raise e.metadata_key_too_long(key, size, METADATA_MAX_KEY, param)
    return key


def body_object(body: JSON) -> dict[str, JSON]:
    """The request body, which must be a JSON object (the HTTP layer passes ``{}`` for an
    empty body where the body is optional)."""
    if not isinstance(body, dict):
        raise e.invalid_type("body", "an object", body)
    return body


def known_keys(obj: Mapping[str, JSON], allowed: Collection[str], prefix: str = "") -> None:
    """Refuse any key not in ``allowed`` (OpenAI answers ``unknown_parameter``)."""
    for key in obj:
        if key not in allowed:
            raise e.unknown_parameter(prefix + key)


def required(obj: Mapping[str, JSON], key: str, prefix: str = "") -> JSON:
    if key not in obj:
        raise e.missing_required(prefix + key)
    return obj[key]


def metadata(
    value: JSON, settings: EmulatorSettings, *, param: str = "metadata"
) -> dict[str, str] | None:
    """Check ``value`` against the metadata rules of FACTS.md and return it normalised
    (``None`` stays ``None``: "no metadata sent").  Raises the FACTS error of the first
    violation: too many keys, key too long, value not a string, value too long."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise e.metadata_not_object(value, param)
    if len(value) > METADATA_MAX_KEYS:
        raise e.metadata_too_many(len(value), METADATA_MAX_KEYS, param)
    unit = settings.metadata_length_unit
    out: dict[str, str] = {}
    for key, val in value.items():
        key_len = text_length(key, unit)
        if key_len > METADATA_MAX_KEY:
            raise e.metadata_key_too_long(key, key_len, METADATA_MAX_KEY, param)
        if not isinstance(val, str):
            raise e.invalid_type(f"{param}.{key}", "a string", val)
        val_len = text_length(val, unit)
        if val_len > METADATA_MAX_VALUE:
            raise e.string_too_long(f"{param}.{key}", val_len, METADATA_MAX_VALUE)
        if settings.metadata_text != "intact" and not (key.isascii() and val.isascii()):
            if settings.metadata_text == "ascii_reject":
                raise e.metadata_not_ascii(key, param)
            key, val = _ascii_replace(key), _ascii_replace(val)
        out[metadata_key(key, settings, param)] = val
    return out


def merged_metadata(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """Keys sent are added or overwritten, the others stay; the result obeys the 16-key limit."""
    merged = {**old, **new}
    if len(merged) > METADATA_MAX_KEYS:
        raise e.metadata_too_many(len(merged), METADATA_MAX_KEYS)
    return merged


def _text(value: JSON, param: str, settings: EmulatorSettings) -> str:
    if not isinstance(value, str):
        raise e.invalid_type(param, "a string", value)
    if len(value) > settings.max_text_chars:
        raise e.string_too_long(param, len(value), settings.max_text_chars)
    return value


def _string_choice(value: JSON, param: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise e.invalid_type(param, "a string", value)
    if value not in choices:
        raise e.invalid_value(param, value, choices)
    return value


# --- threads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewMessage:
    """A checked thread message: role, content parts in the stored shape, metadata."""

    role: str
    content: list[dict[str, JSON]]
    metadata: dict[str, str]


def thread_message(value: JSON, settings: EmulatorSettings, prefix: str = "") -> NewMessage:
    """Check a ``CreateMessageRequest`` (text content only)."""
    if not isinstance(value, dict):
        raise e.invalid_type(prefix.rstrip(".") or "body", "an object", value)
    known_keys(value, ("role", "content", "attachments", "metadata"), prefix)
    role = _string_choice(required(value, "role", prefix), prefix + "role", THREAD_MESSAGE_ROLES)
    raw = required(value, "content", prefix)
    parts: list[dict[str, JSON]] = []
    if isinstance(raw, str):
        if not raw:
            raise e.empty_message_content(prefix + "content")
        parts.append(_text_part(_text(raw, prefix + "content", settings)))
    elif isinstance(raw, list):
        if not raw:
            raise e.empty_message_content(prefix + "content")
        for i, part in enumerate(raw):
            p = f"{prefix}content[{i}]"
            if not isinstance(part, dict):
                raise e.invalid_type(p, "an object", part)
            kind = _string_choice(
                required(part, "type", p + "."), p + ".type", ("image_file", "image_url", "text")
            )
            if kind != "text":
                raise e.not_emulated(p + ".type", f"'{kind}' content")
            known_keys(part, ("type", "text"), p + ".")
            parts.append(_text_part(_text(required(part, "text", p + "."), p + ".text", settings)))
    else:
        raise e.invalid_type(prefix + "content", "a string or an array", raw)
    attachments = value.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            raise e.invalid_type(prefix + "attachments", "an array", attachments)
        if attachments:
            raise e.not_emulated(prefix + "attachments", "file attachments")
    meta = metadata(value.get("metadata"), settings, param=prefix + "metadata")
    return NewMessage(role=role, content=parts, metadata=meta or {})


def _text_part(text: str) -> dict[str, JSON]:
    return {"type": "text", "text": {"value": text, "annotations": []}}


def _string_list(value: JSON, param: str, max_items: int) -> list[str]:
    if not isinstance(value, list):
        raise e.invalid_type(param, "an array", value)
    if len(value) > max_items:
        raise e.array_too_long(param, len(value), max_items)
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise e.invalid_type(f"{param}[{i}]", "a string", v)
    return list(value)


def tool_resources(value: JSON, *, creating: bool) -> dict[str, JSON] | None:
    """Check thread ``tool_resources`` (file IDs only; the ``vector_stores`` helper that
    would create vector stores is not emulated, so a new thread's ``file_search`` needs
    ``vector_store_ids``).  ``None`` stays ``None``."""
    if value is None:
        return None
    p = "tool_resources."
    if not isinstance(value, dict):
        raise e.invalid_type("tool_resources", "an object", value)
    known_keys(value, ("code_interpreter", "file_search"), p)
    out: dict[str, JSON] = {}
    if "code_interpreter" in value:
        ci = value["code_interpreter"]
        if not isinstance(ci, dict):
            raise e.invalid_type(p + "code_interpreter", "an object", ci)
        known_keys(ci, ("file_ids",), p + "code_interpreter.")
        ids = _string_list(ci.get("file_ids", []), p + "code_interpreter.file_ids", 20)
        out["code_interpreter"] = {"file_ids": ids}
    if "file_search" in value:
        fs = value["file_search"]
        if not isinstance(fs, dict):
            raise e.invalid_type(p + "file_search", "an object", fs)
        known_keys(fs, ("vector_store_ids", "vector_stores"), p + "file_search.")
        if "vector_stores" in fs:
            raise e.not_emulated(p + "file_search.vector_stores", "vector stores")
        entry: dict[str, JSON] = {}
        if "vector_store_ids" in fs:
            entry["vector_store_ids"] = _string_list(
                fs["vector_store_ids"], p + "file_search.vector_store_ids", 1
            )
        elif creating:
            raise e.missing_required(p + "file_search.vector_store_ids")
        out["file_search"] = entry
    return out


# --- conversations -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    """A checked conversation item, in the stored shape but without its ID."""

    role: str
    content: list[dict[str, JSON]]
    phase: str | None


def item_list(value: JSON, settings: EmulatorSettings, *, allow_empty: bool) -> list[NewItem]:
    """Check an ``items`` array (at most ``max_items_per_append``)."""
    if not isinstance(value, list):
        raise e.invalid_type("items", "an array", value)
    if not value and not allow_empty:
        raise e.empty_array("items")
    if len(value) > settings.max_items_per_append:
        raise e.array_too_long("items", len(value), settings.max_items_per_append)
    return [conversation_item(v, settings, f"items[{i}]") for i, v in enumerate(value)]


def conversation_item(value: JSON, settings: EmulatorSettings, param: str) -> NewItem:
    """Check one input item: a message (``type`` "message" or absent) with text content."""
    if not isinstance(value, dict):
        raise e.invalid_type(param, "an object", value)
    kind = value.get("type", "message")
    if not isinstance(kind, str):
        raise e.invalid_type(param + ".type", "a string", kind)
    if kind != "message":
        raise e.not_emulated(param + ".type", f"items of type '{kind}'")
    # A typed message may carry `id` and `status` (an output item passed back); they are
    # not kept.  Without `type` it is an easy input message: `status` only for input roles.
    typed = "type" in value
    allowed = ("type", "role", "content", "phase", "status", "id") if typed else EASY_ITEM_KEYS
    known_keys(value, allowed, param + ".")
    role = _string_choice(required(value, "role", param + "."), param + ".role", ITEM_ROLES)
    if not typed and role == "assistant" and "status" in value:
        raise e.unknown_parameter(param + ".status")
    if value.get("status") is not None:
        _string_choice(value["status"], param + ".status", ITEM_STATUSES)
    if value.get("id") is not None and not isinstance(value["id"], str):
        raise e.invalid_type(param + ".id", "a string", value["id"])
    phase = value.get("phase")
    if phase is not None:
        phase = _string_choice(phase, param + ".phase", ITEM_PHASES)
    raw = required(value, "content", param + ".")
    parts: list[dict[str, JSON]] = []
    if isinstance(raw, str):
        # Recorded: a string is stored as one input_text part whatever the role (an assistant
        # message sent as a string lists back as input_text).
        parts.append(_item_part("input_text", _text(raw, param + ".content", settings)))
    elif isinstance(raw, list):
        for i, part in enumerate(raw):
            p = f"{param}.content[{i}]"
            if not isinstance(part, dict):
                raise e.invalid_type(p, "an object", part)
            ptype = required(part, "type", p + ".")
            if not isinstance(ptype, str):
                raise e.invalid_type(p + ".type", "a string", ptype)
            if ptype == "input_text":
                known_keys(part, ("type", "text", "prompt_cache_breakpoint"), p + ".")
            elif ptype == "output_text":
                known_keys(part, ("type", "text", "annotations", "logprobs"), p + ".")
                for extra in ("annotations", "logprobs"):
                    if part.get(extra) is not None and not isinstance(part[extra], list):
                        raise e.invalid_type(f"{p}.{extra}", "an array", part[extra])
            else:
                raise e.not_emulated(p + ".type", f"'{ptype}' content")
            parts.append(
                _item_part(ptype, _text(required(part, "text", p + "."), p + ".text", settings))
            )
    else:
        raise e.invalid_type(param + ".content", "a string or an array", raw)
    return NewItem(role=role, content=parts, phase=phase)


def _item_part(kind: str, text: str) -> dict[str, JSON]:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


# --- list queries ------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """A checked list request."""

    limit: int = LIST_DEFAULT
    order: Order = "desc"
    after: str | None = None
    before: str | None = None


def list_query(
    query: Mapping[str, str], *, allow_before: bool, include: Collection[str] = ()
) -> ListQuery:
    """Check ``limit`` (1-100, default 20), ``order`` (asc|desc, default desc), ``after``,
    ``before`` (threads only; ignored elsewhere like other unknown query parameters) and
    ``include`` values."""
    check_include(include)
    limit = LIST_DEFAULT
    raw = query.get("limit")
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise e.invalid_type("limit", "an integer", raw) from None
        if limit < LIST_MIN:
            raise e.integer_below_min("limit", limit, LIST_MIN)
        if limit > LIST_MAX:
            raise e.integer_above_max("limit", limit, LIST_MAX)
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise e.invalid_value("order", order, ("asc", "desc"))
    return ListQuery(
        limit=limit,
        order="asc" if order == "asc" else "desc",
        after=query.get("after"),
        before=query.get("before") if allow_before else None,
    )


def check_include(values: Collection[str]) -> None:
    for v in values:
        if v not in INCLUDE_VALUES:
            raise e.invalid_value("include", v, INCLUDE_VALUES)
