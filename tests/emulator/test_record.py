"""Behaviours taken from recordings of the real service, checked over HTTP with the real SDK
on the exact bytes and fields (docs/emulator.md names the public source of each)."""

from __future__ import annotations

import json

import openai
import pytest

from linkedthreads.emulator import Emulator
from tests.sdk_warnings import OWN_THREADS_CALLS


def test_bodies_are_written_with_spaced_separators(client: openai.OpenAI) -> None:
    """A recorded ``POST /v1/conversations`` answer is 131 bytes: the 124-byte compact body
    written with ``", "`` and ``": "``; a recorded DELETE answer 114 bytes (109 compact).
    ``content-length`` matches the body."""
    created = client.conversations.with_raw_response.create()
    raw = created.http_response
    conv = created.parse()
    assert (
        raw.content
        == (
            f'{{"id": "{conv.id}", "object": "conversation", "created_at": {conv.created_at}, '
            '"metadata": {}}'
        ).encode()
    )
    assert len(raw.content) == 131
    assert raw.headers["content-length"] == "131"
    assert len(json.dumps(raw.json(), separators=(",", ":"))) == 124

    deleted = client.conversations.with_raw_response.delete(conv.id).http_response
    assert (
        deleted.content
        == (f'{{"id": "{conv.id}", "object": "conversation.deleted", "deleted": true}}').encode()
    )
    assert (len(deleted.content), deleted.headers["content-length"]) == (114, "114")

    missing = client.conversations.with_raw_response
    with pytest.raises(openai.NotFoundError) as caught:
        missing.retrieve(conv.id)
    error = caught.value.response
    assert (
        error.content
        == (
            f'{{"error": {{"message": "Conversation with id \'{conv.id}\' not found.", '
            '"type": "invalid_request_error", "param": null, "code": null}}'
        ).encode()
    )
    assert error.headers["content-length"] == str(len(error.content))


def test_a_string_item_is_one_input_text_part_whatever_the_role(client: openai.OpenAI) -> None:
    """Recorded: an ``assistant`` message sent as the string "C'est bien alors !!" lists
    back as ``[{"type": "input_text", "text": "C'est bien alors !!"}]``."""
    conv = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "Bonjour"}]
    )
    client.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "assistant", "content": "C'est bien alors !!"},
            {"role": "system", "content": "s"},
            {"role": "developer", "content": "d"},
        ],
    )
    raw = client.conversations.items.with_raw_response.list(conv.id, order="asc").http_response
    contents = [(i["role"], i["content"]) for i in raw.json()["data"]]
    assert contents == [
        ("user", [{"type": "input_text", "text": "Bonjour"}]),
        ("assistant", [{"type": "input_text", "text": "C'est bien alors !!"}]),
        ("system", [{"type": "input_text", "text": "s"}]),
        ("developer", [{"type": "input_text", "text": "d"}]),
    ]
    assert b'"content": [{"type": "input_text", "text": "C\'est bien alors !!"}]' in raw.content
    parsed = client.conversations.items.list(conv.id, order="asc").data[1]
    assert parsed.content[0].type == "input_text"


def test_items_and_their_pages_are_written_in_the_recorded_key_order(
    client: openai.OpenAI,
) -> None:
    """Recorded item answers: ``{"id", "type", "status", "content", "role"}``, in pages
    ``{"object", "data", "first_id", "has_more", "last_id"}``."""
    conv = client.conversations.create()
    created = client.conversations.items.with_raw_response.create(
        conv.id, items=[{"type": "message", "role": "assistant", "content": "C'est bien alors !!"}]
    )
    item_id = created.parse().data[0].id
    item = (
        f'{{"id": "{item_id}", "type": "message", "status": "completed", "content": '
        '[{"type": "input_text", "text": "C\'est bien alors !!"}], "role": "assistant"}'
    )
    page = (
        f'{{"object": "list", "data": [{item}], "first_id": "{item_id}", "has_more": false, '
        f'"last_id": "{item_id}"}}'
    )
    assert created.http_response.content == page.encode()
    listed = client.conversations.items.with_raw_response.list(conv.id).http_response
    assert listed.content == page.encode()
    one = client.conversations.items.with_raw_response.retrieve(item_id, conversation_id=conv.id)
    assert one.http_response.content == item.encode()


@OWN_THREADS_CALLS
def test_answers_name_the_account_organisation_and_project(emulator: Emulator) -> None:
    """Every answer of an API route, errors included, carries ``openai-organization`` and
    ``openai-project``: the emulated account's (settings). A caller's own
    ``OpenAI-Organization``/``OpenAI-Project`` values (IDs it keeps secret) are never
    echoed, so they cannot reach a log of the answer's headers."""
    with emulator.client(max_retries=0) as anonymous:
        answer = anonymous.conversations.with_raw_response.create().http_response
        assert answer.headers["openai-organization"] == "user-emulator"
        assert answer.headers["openai-project"] == "proj_emulator"
    with emulator.client(
        max_retries=0, organization="org-OwnOrg123", project="proj_OwnProject456"
    ) as own:
        answer = own.conversations.with_raw_response.create().http_response
        assert answer.request.headers["openai-organization"] == "org-OwnOrg123"
        assert answer.headers["openai-organization"] == "user-emulator"
        assert answer.headers["openai-project"] == "proj_emulator"
        with pytest.raises(openai.NotFoundError) as caught:
            own.conversations.retrieve("conv_" + "0" * 48)
        headers = caught.value.response.headers
        assert (headers["openai-organization"], headers["openai-project"]) == (
            "user-emulator",
            "proj_emulator",
        )
        assert "OwnOrg123" not in str(headers)
        assert "OwnProject456" not in str(headers)
    emulator.update_settings(organization="acme", project="proj_acme")
    with emulator.client(max_retries=0) as anonymous:
        answer = anonymous.beta.threads.with_raw_response.create().http_response
        assert (answer.headers["openai-organization"], answer.headers["openai-project"]) == (
            "acme",
            "proj_acme",
        )


def test_settings_refuse_an_unprintable_organisation() -> None:
    from linkedthreads.emulator import EmulatorSettings

    with pytest.raises(ValueError, match="organization"):
        EmulatorSettings(organization="")
    with pytest.raises(ValueError, match="project"):
        EmulatorSettings(project="a\nb")


@OWN_THREADS_CALLS
def test_empty_thread_message_content_is_refused(client: openai.OpenAI) -> None:
    """Recorded: ``POST /v1/threads/{id}/messages`` with empty content answers 400
    "Message content must be non-empty." with ``param: "content"``."""
    thread = client.beta.threads.create()
    for empty in ("", []):
        with pytest.raises(openai.BadRequestError) as caught:
            client.beta.threads.messages.create(thread.id, role="user", content=empty)
        exc = caught.value
        assert exc.body == {
            "message": "Message content must be non-empty.",
            "type": "invalid_request_error",
            "param": "content",
            "code": None,
        }
        assert (exc.param, exc.code, exc.type) == ("content", None, "invalid_request_error")
        assert exc.response.content == (
            b'{"error": {"message": "Message content must be non-empty.", '
            b'"type": "invalid_request_error", "param": "content", "code": null}}'
        )
    assert client.beta.threads.messages.list(thread.id).data == []
