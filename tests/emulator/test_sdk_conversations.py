"""The real ``openai.OpenAI`` client drives every conversations endpoint over HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import openai
import pytest

from linkedthreads.emulator import Emulator

CONV_ID = re.compile(r"^conv_[0-9a-f]{48}$")
ITEM_ID = re.compile(r"^msg_[0-9a-f]{48}$")


def _text(item: object) -> str:
    return item.content[0].text


def test_create_retrieve_update_delete(client: openai.OpenAI, emulator: Emulator) -> None:
    """A conversation is created, read, merged on update and deleted, in the official shapes."""
    before = int(time.time())
    conv = client.conversations.create(metadata={"a": "1"})
    assert CONV_ID.match(conv.id)
    assert conv.object == "conversation"
    assert before <= conv.created_at <= int(time.time())
    assert int(conv.id[5:13], 16) == conv.created_at  # first 8 hex digits: creation time
    assert conv.metadata == {"a": "1"}
    assert client.conversations.retrieve(conv.id) == conv

    updated = client.conversations.update(conv.id, metadata={"b": "2", "a": "3"})
    assert updated.metadata == {"a": "3", "b": "2"}  # merged: sent keys overwrite, others stay
    assert client.conversations.update(conv.id, metadata=None).metadata == {"a": "3", "b": "2"}
    assert emulator.live_ids("conversations") == {conv.id}

    deleted = client.conversations.delete(conv.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (conv.id, "conversation.deleted", True)
    assert emulator.live_ids("conversations") == set()


def test_default_metadata_is_empty_object(client: openai.OpenAI) -> None:
    """Without metadata a conversation answers ``metadata: {}``."""
    conv = client.conversations.create()
    assert conv.metadata == {}
    raw = client.conversations.with_raw_response.retrieve(conv.id).http_response.json()
    assert raw == {
        "id": conv.id,
        "object": "conversation",
        "created_at": conv.created_at,
        "metadata": {},
    }


def test_items_create_list_retrieve_delete(client: openai.OpenAI, emulator: Emulator) -> None:
    """Items are appended in order, listed both ways, read and deleted one by one."""
    conv = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "first"}]
    )
    created = client.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "assistant", "content": "second"},
            {"role": "developer", "content": [{"type": "input_text", "text": "third"}]},
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "4"}]},
        ],
    )
    assert created.object == "list"
    assert [_text(i) for i in created.data] == ["second", "third", "4"]
    assert created.first_id == created.data[0].id
    assert created.last_id == created.data[-1].id
    assert created.has_more is False
    assert all(ITEM_ID.match(i.id) for i in created.data)

    raw = client.conversations.items.with_raw_response.retrieve(
        created.data[0].id, conversation_id=conv.id
    ).http_response.json()
    assert raw == {
        "id": created.data[0].id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "input_text", "text": "second"}],  # a string: input_text (recorded)
    }
    first = client.conversations.items.list(conv.id, order="asc", limit=1).data[0]
    assert first.model_dump(exclude_none=True) == {
        "id": first.id,
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_text", "text": "first"}],
    }

    asc = [_text(i) for i in client.conversations.items.list(conv.id, order="asc")]
    assert asc == ["first", "second", "third", "4"]
    default = [_text(i) for i in client.conversations.items.list(conv.id)]
    assert default == list(reversed(asc))  # the default order is desc

    answer = client.conversations.items.delete(created.data[1].id, conversation_id=conv.id)
    assert answer.object == "conversation"  # spec + SDK: the conversation object
    assert answer.id == conv.id
    assert [_text(i) for i in client.conversations.items.list(conv.id, order="asc")] == [
        "first",
        "second",
        "4",
    ]
    assert len(emulator.retained_item_ids(conv.id)) == 3


def test_pagination_follows_after_cursor(client: openai.OpenAI) -> None:
    """Pages of ``limit`` items chain through ``after=last_id`` with exact ``has_more``."""
    conv = client.conversations.create()
    for start in range(0, 45, 15):
        client.conversations.items.create(
            conv.id, items=[{"role": "user", "content": str(n)} for n in range(start, start + 15)]
        )
    page = client.conversations.items.list(conv.id, order="asc", limit=20)
    assert [_text(i) for i in page.data] == [str(n) for n in range(20)]
    assert page.has_more is True
    assert page.last_id == page.data[-1].id
    page2 = client.conversations.items.list(conv.id, order="asc", limit=20, after=page.last_id)
    assert [_text(i) for i in page2.data] == [str(n) for n in range(20, 40)]
    page3 = client.conversations.items.list(conv.id, order="asc", limit=20, after=page2.last_id)
    assert [_text(i) for i in page3.data] == [str(n) for n in range(40, 45)]
    assert page3.has_more is False
    every = [_text(i) for i in client.conversations.items.list(conv.id, order="desc", limit=7)]
    assert every == [str(n) for n in reversed(range(45))]  # auto-pagination
    last = client.conversations.items.list(conv.id, order="asc", after=page3.last_id)
    assert (last.data, last.has_more) == ([], False)
    empty = client.conversations.items.with_raw_response.list(
        conv.id, after=page.data[0].id, order="desc"
    )
    assert empty.http_response.json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_deleted_item_cursor_keeps_its_place(client: openai.OpenAI) -> None:
    """Listing after a cursor whose item was deleted continues from where it stood."""
    conv = client.conversations.create()
    ids = [
        i.id
        for i in client.conversations.items.create(
            conv.id, items=[{"role": "user", "content": str(n)} for n in range(5)]
        ).data
    ]
    client.conversations.items.delete(ids[2], conversation_id=conv.id)
    page = client.conversations.items.list(conv.id, order="asc", after=ids[2])
    assert [i.id for i in page.data] == ids[3:]


def test_deleting_a_conversation_keeps_its_items(client: openai.OpenAI, emulator: Emulator) -> None:
    """FACTS: "Items in the conversation will not be deleted." They stay, unreachable."""
    conv = client.conversations.create(items=[{"role": "user", "content": "kept"}])
    item_id = client.conversations.items.list(conv.id).data[0].id
    client.conversations.delete(conv.id)
    assert emulator.retained_item_ids(conv.id) == [item_id]
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(item_id, conversation_id=conv.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conv.id)

    erased = client.conversations.create(items=[{"role": "user", "content": "gone"}])
    for item in client.conversations.items.list(erased.id):
        client.conversations.items.delete(item.id, conversation_id=erased.id)
    client.conversations.delete(erased.id)
    assert emulator.retained_item_ids(erased.id) == []
    with pytest.raises(KeyError):
        emulator.retained_item_ids("conv_" + "0" * 48)


def test_item_delete_compat_shape(emulator_factory: Callable[..., Emulator]) -> None:
    """``item_delete_response="deleted"`` answers ``conversation.item.deleted`` instead."""
    emu = emulator_factory(item_delete_response="deleted")
    client = emu.client(max_retries=0)
    conv = client.conversations.create(items=[{"role": "user", "content": "x"}])
    item_id = client.conversations.items.list(conv.id).data[0].id
    raw = client.conversations.items.with_raw_response.delete(
        item_id, conversation_id=conv.id
    ).http_response.json()
    assert raw == {"id": item_id, "object": "conversation.item.deleted", "deleted": True}


def test_item_id_lengths_setting(emulator_factory: Callable[..., Emulator]) -> None:
    """``item_id_hex_lengths=(48, 50)`` makes item IDs of both observed lengths."""
    emu = emulator_factory(item_id_hex_lengths=(48, 50), seed=5)
    client = emu.client(max_retries=0)
    conv = client.conversations.create(items=[{"role": "user", "content": "x"}] * 20)
    lengths = {len(i.id) - 4 for i in client.conversations.items.list(conv.id, limit=100)}
    assert lengths == {48, 50}


def test_include_is_accepted_and_checked(client: openai.OpenAI) -> None:
    """Known ``include`` values are accepted (and change nothing for text messages)."""
    conv = client.conversations.create(items=[{"role": "user", "content": "x"}])
    page = client.conversations.items.list(conv.id, include=["message.output_text.logprobs"])
    item = client.conversations.items.retrieve(
        page.data[0].id, conversation_id=conv.id, include=["message.input_image.image_url"]
    )
    assert item.id == page.data[0].id
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.items.list(conv.id, include=["nope"])
    assert (info.value.code, info.value.param) == ("invalid_value", "include")


async def test_async_client_every_endpoint(aclient: openai.AsyncOpenAI) -> None:
    """``openai.AsyncOpenAI`` runs every conversations endpoint too."""
    conv = await aclient.conversations.create(metadata={"k": "v"})
    assert (await aclient.conversations.retrieve(conv.id)).metadata == {"k": "v"}
    assert (await aclient.conversations.update(conv.id, metadata={"j": "w"})).metadata == {
        "k": "v",
        "j": "w",
    }
    created = await aclient.conversations.items.create(
        conv.id, items=[{"role": "user", "content": str(n)} for n in range(3)]
    )
    listed = [i.id async for i in aclient.conversations.items.list(conv.id, order="asc", limit=2)]
    assert listed == [i.id for i in created.data]
    item = await aclient.conversations.items.retrieve(listed[0], conversation_id=conv.id)
    assert item.id == listed[0]
    assert (await aclient.conversations.items.delete(listed[0], conversation_id=conv.id)).id == (
        conv.id
    )
    with pytest.raises(openai.NotFoundError):
        await aclient.conversations.items.retrieve(listed[0], conversation_id=conv.id)
    assert (await aclient.conversations.delete(conv.id)).deleted is True
    with pytest.raises(openai.NotFoundError):
        await aclient.conversations.retrieve(conv.id)
