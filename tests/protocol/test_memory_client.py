"""The in-memory client follows the SDK's real types: a call the SDK would refuse fails the
same way, answers are the SDK's own models, errors are raised by the SDK itself. So a new
SDK release that changes them fails here, not silently in every protocol test."""

from __future__ import annotations

import inspect

import openai
import pytest
from openai.resources.beta.threads.messages import Messages
from openai.resources.beta.threads.threads import Threads
from openai.resources.conversations.conversations import Conversations
from openai.resources.conversations.items import Items
from openai.types.beta import Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted
from openai.types.conversations import Conversation, ConversationDeletedResource
from openai.types.conversations import Message as ItemMessage

from tests.memory_client import MemoryClient
from tests.sdk_errors import connection_error, not_found, status_error, timeout_error

# Every SDK method the library calls, with the double that stands for it.
SURFACE = [
    (Threads, "create"),
    (Threads, "retrieve"),
    (Threads, "delete"),
    (Messages, "create"),
    (Messages, "list"),
    (Messages, "delete"),
    (Conversations, "create"),
    (Conversations, "retrieve"),
    (Conversations, "delete"),
    (Items, "create"),
    (Items, "list"),
    (Items, "delete"),
]


@pytest.mark.parametrize(("resource", "name"), SURFACE, ids=lambda v: getattr(v, "__name__", v))
def test_the_sdk_still_has_what_the_library_calls(resource: type, name: str) -> None:
    """The library's calls bind against the installed SDK's signatures."""
    signature = inspect.signature(getattr(resource, name))
    calls = {
        ("Threads", "create"): ((), {"metadata": {"a": "b"}}),
        ("Threads", "retrieve"): (("thread_x",), {}),
        ("Threads", "delete"): (("thread_x",), {}),
        ("Messages", "create"): (("thread_x",), {"role": "user", "content": "t"}),
        ("Messages", "list"): (("thread_x",), {"order": "desc", "limit": 100, "after": "m"}),
        ("Messages", "delete"): (("msg_x",), {"thread_id": "thread_x"}),
        ("Conversations", "create"): ((), {"metadata": {"a": "b"}}),
        ("Conversations", "retrieve"): (("conv_x",), {}),
        ("Conversations", "delete"): (("conv_x",), {}),
        ("Items", "create"): (("conv_x",), {"items": []}),
        ("Items", "list"): (("conv_x",), {"order": "asc", "limit": 100, "after": "m"}),
        ("Items", "delete"): (("msg_x",), {"conversation_id": "conv_x"}),
    }
    args, kwargs = calls[(resource.__name__, name)]
    signature.bind(None, *args, **kwargs)


def test_calls_the_sdk_would_refuse_are_refused() -> None:
    threads = MemoryClient("threads")
    with pytest.raises(TypeError):
        threads.beta.threads.create(items=[{"role": "user", "content": "x"}])
    with pytest.raises(TypeError):
        threads.beta.threads.messages.create("thread_x", "user", "x")  # keyword-only in the SDK
    conversations = MemoryClient("conversations")
    with pytest.raises(TypeError):
        conversations.conversations.items.delete("msg_x", "conv_x")  # conversation_id= only
    with pytest.raises(TypeError):
        conversations.with_options(retries=0)


def test_answers_are_the_sdks_models() -> None:
    client = MemoryClient("threads")
    thread = client.beta.threads.create(
        metadata={"k": "v"}, messages=[{"role": "user", "content": "first"}]
    )
    assert type(thread) is Thread
    assert type(client.beta.threads.retrieve(thread.id)) is Thread
    message = client.beta.threads.messages.create(thread.id, role="user", content="second")
    assert type(message) is Message
    page = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.content[0].text.value for m in page.data] == ["first", "second"]
    assert isinstance(page, openai.pagination.SyncCursorPage)
    deleted = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert type(deleted) is MessageDeleted
    assert type(client.beta.threads.delete(thread.id)) is ThreadDeleted

    client = MemoryClient("conversations")
    conv = client.conversations.create(items=[{"role": "user", "content": "first"}])
    assert type(conv) is Conversation
    created = client.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
        ],
    )
    assert [type(i) for i in created.data] == [ItemMessage]
    page = client.conversations.items.list(conv.id, order="asc")
    assert isinstance(page, openai.pagination.SyncConversationCursorPage)
    assert [i.content[0].text for i in page.data] == ["first", "x"]
    assert type(client.conversations.items.delete(created.data[0].id, conversation_id=conv.id)) is (
        Conversation
    )
    assert type(client.conversations.delete(conv.id)) is ConversationDeletedResource
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)


def test_sdk_errors_are_the_sdks_own() -> None:
    """Built by the SDK from a real httpx2 answer: the attributes the library reads."""
    limited = status_error(429, "slow down", code="rate_limit_exceeded", request_id="req_1")
    assert type(limited) is openai.RateLimitError
    assert (limited.status_code, limited.code, limited.request_id) == (
        429,
        "rate_limit_exceeded",
        "req_1",
    )
    assert limited.body == {
        "message": "slow down",
        "type": "invalid_request_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert type(not_found("conv_x")) is openai.NotFoundError
    assert type(status_error(500, "boom")) is openai.InternalServerError
    assert type(status_error(400, "bad", param="metadata")) is openai.BadRequestError
    assert type(connection_error()) is openai.APIConnectionError
    assert type(timeout_error()) is openai.APITimeoutError
