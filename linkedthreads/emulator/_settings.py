"""Every knob of the emulator in one frozen dataclass.

Where the public record (``FACTS.md``) states how OpenAI behaves, the emulator follows it and
there is no setting.  Where the record is silent or contradicts itself, the behaviour is a
setting whose default is the most likely answer; ``docs/emulator.md`` lists each one with the
reason for its default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["429", "500", "503", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "drop")

MetadataUpdate = Literal["merge", "replace"]
ItemDeleteResponse = Literal["conversation", "deleted"]
LengthUnit = Literal["codepoints", "utf16"]
MetadataText = Literal["intact", "ascii_replace", "ascii_reject"]
MetadataKeys = Literal["intact", "ascii_replace", "nfd", "utf8_cut", "ascii_reject", "utf8_length"]
METADATA_KEY_MODES: tuple[MetadataKeys, ...] = (
    "intact",
    "ascii_replace",
    "nfd",
    "utf8_cut",
    "ascii_reject",
    "utf8_length",
)
UnknownCursor = Literal["not_found", "empty"]


def _default_fault_weights() -> dict[str, float]:
    return {"429": 1.0, "500": 1.0, "503": 1.0, "drop": 1.0}


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices!r}, not {value!r}")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, not {value!r}")


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulator behaves.  Immutable: use ``dataclasses.replace`` or
    ``Emulator.update_settings(**changes)`` to change a running emulator.

    >>> EmulatorSettings().thread_metadata_update
    'merge'
    >>> EmulatorSettings(fault_rate=2.0)
    Traceback (most recent call last):
    ...
    ValueError: fault_rate must be between 0 and 1, not 2.0
    """

    api_key: str | None = None
    """If set, only ``Authorization: Bearer <api_key>`` is accepted (401 ``invalid_api_key``
    otherwise).  If ``None``, any non-empty bearer key is accepted.  Never logged nor saved."""

    control_key: str | None = None
    """If set, the control routes (``/_emulator/*``) need ``Authorization: Bearer
    <control_key>`` (401 otherwise); if ``None``, they need ``api_key`` when that is set, and
    nothing but a request from this machine's programs (no foreign ``Origin``, a loopback or
    IP ``Host``, JSON bodies) when neither is.  Never logged nor saved."""

    latency_ms: float = 0.0
    """Added to every API request before it is answered (not to ``/_emulator`` routes)."""

    latency_jitter_ms: float = 0.0
    """A seeded uniform extra delay in ``[0, latency_jitter_ms]`` added to ``latency_ms``."""

    fault_rate: float = 0.0
    """Probability that an API request fails before it is applied: a seeded draw among the kinds
    weighted by ``fault_weights``."""

    fault_weights: Mapping[str, float] = field(default_factory=_default_fault_weights)
    """Relative weights of the injected fault kinds: ``"429"`` (rate_limit_exceeded with a
    ``retry-after`` header), ``"500"``, ``"503"`` and ``"drop"`` (the connection is cut
    before any answer; nothing is applied).  Missing kinds weigh 0."""

    retry_after_s: float | None = 1.0
    """Value of the ``retry-after`` header on injected 429s; a rate-limited 429 carries the
    seconds until its window frees a slot instead.  ``None``: no header on any 429 (the
    record does not confirm the header; the spec declares it, an integer >= 1)."""

    lost_response_rate: float = 0.0
    """Probability that a write request (POST, DELETE) is applied and then its connection is cut
    before the answer, so the client sees a connection error and may retry the write."""

    rate_limits: Mapping[str, int] | None = None
    """Requests allowed per ``rate_limit_window_s``, keyed by route template
    (``"POST /v1/conversations"``) or by method (``"POST"``); both may apply.  Excess requests
    answer 429 ``rate_limit_exceeded`` like the real service."""

    rate_limit_window_s: float = 60.0
    """Length of the sliding window for ``rate_limits`` (OpenAI counts per minute)."""

    seed: int | None = None
    """Seed of every random choice (IDs, faults, jitter).  ``None``: unpredictable."""

    thread_metadata_update: MetadataUpdate = "merge"
    """What ``POST /threads/{id}`` (and ``/messages/{id}``) does with metadata: ``merge`` keys
    like conversations do, or ``replace`` the whole object.  The record is silent for threads."""

    item_delete_response: ItemDeleteResponse = "conversation"
    """Answer of ``DELETE /conversations/{id}/items/{item_id}``: the conversation object (spec and
    SDK) or ``{id, object: "conversation.item.deleted", deleted: true}`` (compatible servers)."""

    threads_sunset: bool = False
    """Answer every ``/v1/threads`` route with 404 ``Invalid URL`` as api.openai.com has since
    the Assistants API sunset on 2026-08-26."""

    item_id_hex_lengths: tuple[int, ...] = (48,)
    """Hex lengths a conversation item ID may have after ``msg_``; each new item draws one.
    OpenAI was seen using 48 and 50."""

    metadata_length_unit: LengthUnit = "codepoints"
    """How metadata key and value lengths are counted: Unicode code points or UTF-16 units (a
    character outside the Basic Multilingual Plane counts 2).  The record is silent."""

    metadata_text: MetadataText = "intact"
    """Non-ASCII metadata: stored ``intact``, stored with each non-ASCII character replaced by
    ``?`` (``ascii_replace``), or refused with 400 ``invalid_value`` (``ascii_reject``)."""

    metadata_keys: MetadataKeys = "intact"
    """What happens to metadata KEYS (values are kept as ``metadata_text`` says); the record
    does not say whether non-ASCII keys are kept, refused or altered. ``intact``: stored as
    sent. Altered, and answered altered: ``ascii_replace`` (each non-ASCII character becomes
    ``?``), ``nfd`` (normalised to NFD: Hangul syllables become jamo), ``utf8_cut`` (cut at
    64 UTF-8 bytes, on a character boundary). Refused with 400: ``ascii_reject`` (any
    non-ASCII key), ``utf8_length`` (keys counted in UTF-8 bytes, over 64 refused)."""

    max_text_chars: int = 256_000
    """Maximum length of one message or item text; longer answers 400
    ``string_above_max_length``."""

    max_items_per_append: int = 20
    """Maximum number of items per ``POST /conversations/{id}/items`` and per create."""

    unknown_cursor: UnknownCursor = "not_found"
    """A list cursor (``after``/``before``) naming no message/item of that thread/conversation:
    answer 404 with the not-found message of that ID, or an ``empty`` page.  A cursor naming a
    deleted message/item keeps its place in either case.  The record is silent."""
    organization: str = "user-emulator"
    """``openai-organization`` on every answer of an API route: the name of the emulated
    account's organisation (OpenAI names the caller's; a personal account's is ``user-``
    and 24 characters). A caller's own ``OpenAI-Organization`` value is never echoed."""

    project: str = "proj_emulator"
    """``openai-project`` on every answer of an API route (the emulated account's project;
    a caller's own ``OpenAI-Project`` value is never echoed)."""

    list_endpoints: bool = False
    """Serve ``GET /v1/threads`` and ``GET /v1/conversations`` (cursor pages, ``limit`` 1-100,
    ``order``, ``after``), in creation order.  NOT OpenAI's behaviour, which has no list
    endpoint: this models OpenAI's former dashboard-only thread listing and Azure AI Foundry's
    conversation listing, for the benchmarks that compare linkedthreads with them.  Off by
    default: then those requests answer 405 like any unsupported method."""

    read_after_write_lag_s: float = 0.0
    """Read-after-write lag: for this many seconds after a thread or conversation is created,
    ``GET /threads/{id}`` and ``GET /conversations/{id}`` answer 404 not found as if it did
    not exist (every other route sees it at once: appends, item and message lists, updates,
    deletes).  The record is silent on whether OpenAI lags; 0 (the default) never lags."""

    def __post_init__(self) -> None:
        # Private copies, so that changing a dict after passing it changes nothing here.
        object.__setattr__(self, "fault_weights", dict(self.fault_weights))
        if self.rate_limits is not None:
            object.__setattr__(self, "rate_limits", dict(self.rate_limits))
        object.__setattr__(self, "item_id_hex_lengths", tuple(self.item_id_hex_lengths))
        _check_rate("fault_rate", self.fault_rate)
        _check_rate("lost_response_rate", self.lost_response_rate)
        for name in ("latency_ms", "latency_jitter_ms"):
            if not getattr(self, name) >= 0:  # NaN too
                raise ValueError(f"{name} must be >= 0")
        unknown = set(self.fault_weights) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)!r}; use {FAULT_KINDS!r}")
        if any(w < 0 for w in self.fault_weights.values()):
            raise ValueError("fault_weights must be >= 0")
        if self.fault_rate > 0 and sum(self.fault_weights.values()) <= 0:
            raise ValueError("fault_rate > 0 needs a positive fault weight")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")
        if self.rate_limits is not None and any(v < 0 for v in self.rate_limits.values()):
            raise ValueError("rate_limits values must be >= 0")
        if self.rate_limit_window_s <= 0:
            raise ValueError("rate_limit_window_s must be > 0")
        _check_choice("thread_metadata_update", self.thread_metadata_update, ("merge", "replace"))
        _check_choice(
            "item_delete_response", self.item_delete_response, ("conversation", "deleted")
        )
        _check_choice("metadata_length_unit", self.metadata_length_unit, ("codepoints", "utf16"))
        _check_choice(
            "metadata_text", self.metadata_text, ("intact", "ascii_replace", "ascii_reject")
        )
        _check_choice("metadata_keys", self.metadata_keys, METADATA_KEY_MODES)
        _check_choice("unknown_cursor", self.unknown_cursor, ("not_found", "empty"))
        if not self.item_id_hex_lengths or any(n < 8 for n in self.item_id_hex_lengths):
            raise ValueError("item_id_hex_lengths must be non-empty, each >= 8")
        for name in ("organization", "project"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value and value.isascii() and value.isprintable()):
                raise ValueError(f"{name} must be a non-empty printable ASCII string")
        if self.max_text_chars < 1 or self.max_items_per_append < 1:
            raise ValueError("max_text_chars and max_items_per_append must be >= 1")
        if not 0 <= self.read_after_write_lag_s <= 3600:
            raise ValueError("read_after_write_lag_s must be between 0 and 3600")

    def replace(self, **changes: Any) -> EmulatorSettings:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)
