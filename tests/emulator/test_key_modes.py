"""The ``metadata_keys`` setting: what each server the record does not rule out does with a
non-ASCII metadata key, through the real SDK (values and ASCII keys are never touched)."""

from __future__ import annotations

import openai
import pytest

from linkedthreads.emulator import Emulator, EmulatorSettings
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # some tests read threads with the SDK themselves

KEY = "a" + "丁" * 20 + "한" * 2  # 23 characters, 67 UTF-8 bytes; 한 decomposes under NFD
VALUE = "丁한" * 256  # 512 characters: values are never altered by this setting


def create(client: openai.OpenAI, metadata: dict[str, str]) -> dict[str, str]:
    """A conversation and a thread made with ``metadata``: what both answered (the same)."""
    conv = client.conversations.create(metadata=metadata)
    thread = client.beta.threads.create(metadata=metadata)
    assert conv.metadata == thread.metadata
    assert client.conversations.retrieve(conv.id).metadata == conv.metadata
    return dict(conv.metadata or {})


@pytest.mark.parametrize(
    ("mode", "stored"),
    [
        ("intact", KEY),
        ("ascii_replace", "a" + "?" * 22),
        ("nfd", "a" + "丁" * 20 + "\u1112\u1161\u11ab" * 2),
        ("utf8_cut", "a" + "丁" * 20 + "한"),  # 1 + 21 * 3 = 64 bytes
    ],
)
def test_a_key_is_stored_and_answered_as_the_mode_says(
    emulator: Emulator, client: openai.OpenAI, mode: str, stored: str
) -> None:
    emulator.update_settings(metadata_keys=mode)
    assert create(client, {KEY: VALUE, "ascii": "é"}) == {stored: VALUE, "ascii": "é"}


def test_non_ascii_keys_refused(emulator: Emulator, client: openai.OpenAI) -> None:
    emulator.update_settings(metadata_keys="ascii_reject")
    assert create(client, {"plain": VALUE}) == {"plain": VALUE}
    live = emulator.live_ids("conversations")
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.create(metadata={"plain": "x", "clé": "x"})
    assert info.value.body == {
        "message": "Invalid property name in 'metadata': 'clé' contains non-ASCII characters. "
        "Expected a string of ASCII characters.",
        "type": "invalid_request_error",
        "param": "metadata.clé",
        "code": "invalid_value",
    }
    assert emulator.live_ids("conversations") == live, "a refused create makes nothing"


def test_key_length_counted_in_utf8_bytes(emulator: Emulator, client: openai.OpenAI) -> None:
    emulator.update_settings(metadata_keys="utf8_length")
    fits = "a" + "丁" * 21  # 64 bytes
    assert create(client, {fits: "v"}) == {fits: "v"}
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.create(metadata={KEY: "v"})
    assert info.value.code == "property_name_above_max_length"
    assert info.value.param == f"metadata.{KEY}"
    assert "got a string with length 67 instead" in str(info.value.body)


def test_the_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="metadata_keys"):
        EmulatorSettings(metadata_keys="lowercase")  # type: ignore[arg-type]
