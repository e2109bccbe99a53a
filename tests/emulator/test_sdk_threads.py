"""The real ``openai.OpenAI`` client drives every threads endpoint over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable

import openai
import pytest

from linkedthreads.emulator import Emulator
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # these tests call client.beta.threads themselves

THREAD_ID = re.compile(r"^thread_[A-Za-z0-9]{24}$")
MESSAGE_ID = re.compile(r"^msg_[A-Za-z0-9]{24}$")


def _value(message: object) -> str:
    return message.content[0].text.value


def test_thread_create_retrieve_update_delete(client: openai.OpenAI, emulator: Emulator) -> None:
    """A thread is created (with messages), read, updated and deleted in the official shapes."""
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}],
        metadata={"a": "1"},
    )
    assert THREAD_ID.match(thread.id)
    raw = client.beta.threads.with_raw_response.retrieve(thread.id).http_response.json()
    assert raw == {
        "id": thread.id,
        "object": "thread",
        "created_at": thread.created_at,
        "metadata": {"a": "1"},
        "tool_resources": {},
    }
    assert [_value(m) for m in client.beta.threads.messages.list(thread.id, order="asc")] == [
        "hello",
        "hi",
    ]
    updated = client.beta.threads.update(
        thread.id,
        metadata={"b": "2"},
        tool_resources={"code_interpreter": {"file_ids": ["file-1"]}},
    )
    assert updated.metadata == {"a": "1", "b": "2"}  # default thread_metadata_update="merge"
    assert updated.tool_resources is not None
    assert updated.tool_resources.code_interpreter is not None
    assert updated.tool_resources.code_interpreter.file_ids == ["file-1"]
    assert emulator.live_ids("threads") == {thread.id}

    deleted = client.beta.threads.delete(thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (thread.id, "thread.deleted", True)
    assert emulator.live_ids("threads") == set()
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)


def test_empty_thread_defaults(client: openai.OpenAI) -> None:
    """Without metadata a thread answers ``metadata: {}`` and ``tool_resources: {}``."""
    thread = client.beta.threads.create()
    raw = client.beta.threads.with_raw_response.retrieve(thread.id).http_response.json()
    assert (raw["metadata"], raw["tool_resources"]) == ({}, {})


def test_messages_create_list_retrieve_update_delete(client: openai.OpenAI) -> None:
    """Messages: create (string or text parts), list, read, change metadata, delete."""
    thread = client.beta.threads.create()
    m1 = client.beta.threads.messages.create(
        thread.id, role="user", content="one", metadata={"k": "v"}
    )
    m2 = client.beta.threads.messages.create(
        thread.id, role="assistant", content=[{"type": "text", "text": "two"}]
    )
    assert MESSAGE_ID.match(m1.id)
    raw = client.beta.threads.messages.with_raw_response.retrieve(
        m1.id, thread_id=thread.id
    ).http_response.json()
    assert raw == {
        "id": m1.id,
        "object": "thread.message",
        "created_at": m1.created_at,
        "assistant_id": None,
        "thread_id": thread.id,
        "run_id": None,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
        "role": "user",
        "content": [{"type": "text", "text": {"value": "one", "annotations": []}}],
        "attachments": [],
        "metadata": {"k": "v"},
    }
    assert _value(client.beta.threads.messages.retrieve(m2.id, thread_id=thread.id)) == "two"
    changed = client.beta.threads.messages.update(m1.id, thread_id=thread.id, metadata={"j": "w"})
    assert changed.metadata == {"k": "v", "j": "w"}
    page = client.beta.threads.messages.list(thread.id)
    assert [m.id for m in page.data] == [m2.id, m1.id]  # default order desc
    assert (page.first_id, page.last_id, page.has_more) == (m2.id, m1.id, False)

    deleted = client.beta.threads.messages.delete(m1.id, thread_id=thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (m1.id, "thread.message.deleted", True)
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == [m2.id]
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(m1.id, thread_id=thread.id)


def test_after_and_before_cursors(client: openai.OpenAI) -> None:
    """``after`` pages forward; ``before`` returns the page just before the cursor."""
    thread = client.beta.threads.create()
    ids = [
        client.beta.threads.messages.create(thread.id, role="user", content=str(n)).id
        for n in range(10)
    ]
    asc = client.beta.threads.messages.list(thread.id, order="asc", limit=3, after=ids[2])
    assert ([m.id for m in asc.data], asc.has_more) == (ids[3:6], True)
    before = client.beta.threads.messages.list(thread.id, order="asc", limit=3, before=ids[7])
    assert ([m.id for m in before.data], before.has_more) == (ids[4:7], True)
    desc = client.beta.threads.messages.list(thread.id, order="desc", limit=3, before=ids[7])
    assert ([m.id for m in desc.data], desc.has_more) == ([ids[9], ids[8]], False)
    both = client.beta.threads.messages.list(
        thread.id, order="asc", limit=10, after=ids[1], before=ids[5]
    )
    assert [m.id for m in both.data] == ids[2:5]
    every = [m.id for m in client.beta.threads.messages.list(thread.id, order="desc", limit=4)]
    assert every == ids[::-1]
    assert client.beta.threads.messages.list(thread.id, run_id="run_x").data == []


def test_replace_setting_for_thread_metadata(emulator_factory: Callable[..., Emulator]) -> None:
    """``thread_metadata_update="replace"`` swaps the whole metadata object."""
    client = emulator_factory(thread_metadata_update="replace").client(max_retries=0)
    thread = client.beta.threads.create(metadata={"a": "1"})
    assert client.beta.threads.update(thread.id, metadata={"b": "2"}).metadata == {"b": "2"}
    assert client.beta.threads.update(thread.id).metadata == {"b": "2"}  # nothing sent


def test_sunset_answers_404_on_every_threads_route(
    emulator_factory: Callable[..., Emulator],
) -> None:
    """``threads_sunset=True``: every /v1/threads route is an unknown URL, as on OpenAI."""
    client = emulator_factory(threads_sunset=True).client(max_retries=0)
    calls: list[Callable[[], object]] = [
        lambda: client.beta.threads.create(),
        lambda: client.beta.threads.retrieve("thread_x"),
        lambda: client.beta.threads.update("thread_x", metadata={}),
        lambda: client.beta.threads.delete("thread_x"),
        lambda: client.beta.threads.messages.create("thread_x", role="user", content="x"),
        lambda: client.beta.threads.messages.list("thread_x"),
        lambda: client.beta.threads.messages.retrieve("msg_x", thread_id="thread_x"),
        lambda: client.beta.threads.messages.delete("msg_x", thread_id="thread_x"),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert info.value.body == {
            "message": f"Invalid URL ({info.value.request.method} {info.value.request.url.path})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    assert client.conversations.create().object == "conversation"  # conversations unaffected


async def test_async_client_every_endpoint(aclient: openai.AsyncOpenAI) -> None:
    """``openai.AsyncOpenAI`` runs every threads endpoint too."""
    thread = await aclient.beta.threads.create(metadata={"k": "v"})
    assert (await aclient.beta.threads.retrieve(thread.id)).metadata == {"k": "v"}
    assert (await aclient.beta.threads.update(thread.id, metadata={"j": "w"})).metadata == {
        "k": "v",
        "j": "w",
    }
    made = [
        (await aclient.beta.threads.messages.create(thread.id, role="user", content=str(n))).id
        for n in range(3)
    ]
    listed = [
        m.id async for m in aclient.beta.threads.messages.list(thread.id, order="asc", limit=2)
    ]
    assert listed == made
    got = await aclient.beta.threads.messages.retrieve(made[0], thread_id=thread.id)
    assert got.id == made[0]
    updated = await aclient.beta.threads.messages.update(
        made[0], thread_id=thread.id, metadata={"x": "y"}
    )
    assert updated.metadata == {"x": "y"}
    assert (await aclient.beta.threads.messages.delete(made[0], thread_id=thread.id)).deleted
    assert (await aclient.beta.threads.delete(thread.id)).deleted is True
    with pytest.raises(openai.NotFoundError):
        await aclient.beta.threads.retrieve(thread.id)


def test_create_and_run_creates_the_thread(client: openai.OpenAI, emulator: Emulator) -> None:
    """POST /threads/runs makes the thread with its messages and answers a queued run on it;
    streamed, the events thread.created, thread.run.created, thread.run.queued, then done."""
    run = client.beta.threads.create_and_run(
        assistant_id="asst_any",
        thread={"messages": [{"role": "user", "content": "hello"}], "metadata": {"a": "1"}},
    )
    assert (run.object, run.status, run.assistant_id) == ("thread.run", "queued", "asst_any")
    thread = client.beta.threads.retrieve(run.thread_id)
    assert thread.metadata == {"a": "1"}
    assert [_value(m) for m in client.beta.threads.messages.list(thread.id)] == ["hello"]
    events = list(client.beta.threads.create_and_run(assistant_id="asst_any", stream=True))
    assert [e.event for e in events] == [
        "thread.created",
        "thread.run.created",
        "thread.run.queued",
    ]
    assert THREAD_ID.match(events[0].data.id)
    assert events[1].data.thread_id == events[0].data.id
    assert emulator.live_ids("threads") == {run.thread_id, events[0].data.id}
    with pytest.raises(openai.BadRequestError, match="assistant_id"):
        client.post(
            "/threads/runs",
            body={"thread": {}},
            cast_to=object,
            options={"headers": {"OpenAI-Beta": "assistants=v2"}},
        )
