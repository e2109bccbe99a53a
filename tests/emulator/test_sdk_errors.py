"""Every error case of FACTS.md, through the real SDK: status, ``code``, ``param`` and the
exact message (``err.body``), plus OpenAI's usual validation errors the emulator adds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import openai
import pytest

from linkedthreads.emulator import Emulator
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # these tests call client.beta.threads themselves

REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")
MISSING_CONV = "conv_" + "ab" * 24
MISSING_THREAD = "thread_" + "A" * 24
MISSING_MSG = "msg_" + "B" * 24


def check(
    err: openai.APIStatusError,
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    type: str = "invalid_request_error",
) -> None:
    """The SDK error carries exactly this OpenAI error body (and a request ID)."""
    assert err.status_code == status
    assert err.body == {"message": message, "type": type, "param": param, "code": code}
    assert (err.code, err.param, err.type) == (code, param, type)
    assert err.request_id is not None
    assert REQUEST_ID.match(err.request_id)


# --- metadata: the FACTS table ------------------------------------------------------------

KEY65 = "k" * 65
METADATA_CASES: list[tuple[str, Any, str | None, str, str]] = [
    (
        "17 keys",
        {f"k{i}": "v" for i in range(17)},
        "metadata",
        "object_above_max_properties",
        "Invalid 'metadata': too many properties. Expected an object with at most 16 "
        "properties, but got an object with 17 properties instead.",
    ),
    (
        "key over 64",
        {KEY65: "v"},
        f"metadata.{KEY65}",
        "property_name_above_max_length",
        f"Invalid property name in 'metadata': '{KEY65}' is too long. Expected a string with "
        "maximum length 64, but got a string with length 65 instead.",
    ),
    (
        "value over 512",
        {"k": "v" * 513},
        "metadata.k",
        "string_above_max_length",
        "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, but "
        "got a string with length 513 instead.",
    ),
    (
        "integer value",
        {"k": 1},
        "metadata.k",
        "invalid_type",
        "Invalid type for 'metadata.k': expected a string, but got an integer instead.",
    ),
    (
        "null value",
        {"k": None},
        "metadata.k",
        "invalid_type",
        "Invalid type for 'metadata.k': expected a string, but got null instead.",
    ),
    (
        "not an object",
        "text",
        "metadata",
        "invalid_type",
        "Invalid type for 'metadata': expected a metadata object, but got a string instead.",
    ),
]


def _metadata_calls(client: openai.OpenAI) -> dict[str, Callable[[Any], object]]:
    conv = client.conversations.create()
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="x")
    return {
        "conversations.create": lambda m: client.conversations.create(metadata=m),
        "conversations.update": lambda m: client.conversations.update(conv.id, metadata=m),
        "threads.create": lambda m: client.beta.threads.create(metadata=m),
        "threads.update": lambda m: client.beta.threads.update(thread.id, metadata=m),
        "messages.create": lambda m: client.beta.threads.messages.create(
            thread.id, role="user", content="x", metadata=m
        ),
        "messages.update": lambda m: client.beta.threads.messages.update(
            message.id, thread_id=thread.id, metadata=m
        ),
    }


@pytest.mark.parametrize(
    ("metadata", "param", "code", "message"),
    [case[1:] for case in METADATA_CASES],
    ids=[case[0] for case in METADATA_CASES],
)
def test_metadata_violations(
    client: openai.OpenAI, metadata: Any, param: str, code: str, message: str
) -> None:
    """Each metadata violation answers the FACTS error on every call that takes metadata."""
    for name, call in _metadata_calls(client).items():
        with pytest.raises(openai.BadRequestError) as info:
            call(metadata)
        try:
            check(info.value, 400, message, param=param, code=code)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_metadata_limits_are_inclusive(client: openai.OpenAI) -> None:
    """16 keys, 64-character keys and 512-character values are accepted."""
    full = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    for call in _metadata_calls(client).values():
        call(full)


def test_metadata_counts_characters_not_bytes(client: openai.OpenAI) -> None:
    """Limits count characters: 512 'é' (1024 UTF-8 bytes) fit."""
    conv = client.conversations.create(metadata={"é" * 64: "é" * 512})
    assert conv.metadata == {"é" * 64: "é" * 512}


def test_merge_beyond_16_keys_is_refused(client: openai.OpenAI) -> None:
    """A merge that would make 17 keys answers the too-many-properties error with 17."""
    conv = client.conversations.create(metadata={f"k{i}": "v" for i in range(10)})
    client.conversations.update(conv.id, metadata={f"k{i}": "w" for i in range(5, 16)})
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.update(conv.id, metadata={"k16": "v"})
    check(
        info.value,
        400,
        "Invalid 'metadata': too many properties. Expected an object with at most 16 properties,"
        " but got an object with 17 properties instead.",
        param="metadata",
        code="object_above_max_properties",
    )
    assert len(client.conversations.retrieve(conv.id).metadata) == 16


def test_update_conversation_requires_metadata(client: openai.OpenAI) -> None:
    """``POST /conversations/{id}`` without ``metadata`` is refused."""
    conv = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as info:
        client.post(f"/conversations/{conv.id}", body={}, cast_to=object)
    check(
        info.value,
        400,
        "Missing required parameter: 'metadata'.",
        param="metadata",
        code="missing_required_parameter",
    )


# --- missing objects, wrong prefixes, deleting twice ---------------------------------------


def test_missing_thread(client: openai.OpenAI) -> None:
    """Every route on a missing thread: 404 "No thread found with id '<id>'."."""
    message = f"No thread found with id '{MISSING_THREAD}'."
    calls: list[Callable[[], object]] = [
        lambda: client.beta.threads.retrieve(MISSING_THREAD),
        lambda: client.beta.threads.update(MISSING_THREAD, metadata={}),
        lambda: client.beta.threads.delete(MISSING_THREAD),
        lambda: client.beta.threads.messages.create(MISSING_THREAD, role="user", content="x"),
        lambda: client.beta.threads.messages.list(MISSING_THREAD),
        lambda: client.beta.threads.messages.retrieve(MISSING_MSG, thread_id=MISSING_THREAD),
        lambda: client.beta.threads.messages.delete(MISSING_MSG, thread_id=MISSING_THREAD),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as info:
            call()
        check(info.value, 404, message)


def test_missing_message(client: openai.OpenAI) -> None:
    """A missing message (or one of another thread): 404 "No message found with id '<id>'."."""
    thread = client.beta.threads.create()
    other = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    foreign = client.beta.threads.messages.list(other.id).data[0].id
    for message_id in (MISSING_MSG, foreign):
        for call in (
            client.beta.threads.messages.retrieve,
            client.beta.threads.messages.delete,
        ):
            with pytest.raises(openai.NotFoundError) as info:
                call(message_id, thread_id=thread.id)
            check(info.value, 404, f"No message found with id '{message_id}'.")


def test_missing_conversation(client: openai.OpenAI) -> None:
    """Every route on a missing conversation: 404 "Conversation with id '<id>' not found."."""
    message = f"Conversation with id '{MISSING_CONV}' not found."
    items = [{"role": "user", "content": "x"}]
    calls: list[Callable[[], object]] = [
        lambda: client.conversations.retrieve(MISSING_CONV),
        lambda: client.conversations.update(MISSING_CONV, metadata={}),
        lambda: client.conversations.delete(MISSING_CONV),
        lambda: client.conversations.items.create(MISSING_CONV, items=items),
        lambda: client.conversations.items.list(MISSING_CONV),
        lambda: client.conversations.items.retrieve(MISSING_MSG, conversation_id=MISSING_CONV),
        lambda: client.conversations.items.delete(MISSING_MSG, conversation_id=MISSING_CONV),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as info:
            call()
        check(info.value, 404, message)


def test_missing_item(client: openai.OpenAI) -> None:
    """A missing item: 404 "Item with id '<id>' not found in conversation."."""
    conv = client.conversations.create()
    for call in (client.conversations.items.retrieve, client.conversations.items.delete):
        with pytest.raises(openai.NotFoundError) as info:
            call(MISSING_MSG, conversation_id=conv.id)
        check(info.value, 404, f"Item with id '{MISSING_MSG}' not found in conversation.")


def test_deleting_twice_answers_the_same_404(client: openai.OpenAI) -> None:
    """DELETE is not idempotent: the second delete answers the not-found error."""
    conv = client.conversations.create(items=[{"role": "user", "content": "x"}])
    item_id = client.conversations.items.list(conv.id).data[0].id
    client.conversations.items.delete(item_id, conversation_id=conv.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.conversations.items.delete(item_id, conversation_id=conv.id)
    check(info.value, 404, f"Item with id '{item_id}' not found in conversation.")
    client.conversations.delete(conv.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.conversations.delete(conv.id)
    check(info.value, 404, f"Conversation with id '{conv.id}' not found.")

    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    msg_id = client.beta.threads.messages.list(thread.id).data[0].id
    client.beta.threads.messages.delete(msg_id, thread_id=thread.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.messages.delete(msg_id, thread_id=thread.id)
    check(info.value, 404, f"No message found with id '{msg_id}'.")
    client.beta.threads.delete(thread.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.delete(thread.id)
    check(info.value, 404, f"No thread found with id '{thread.id}'.")


@pytest.mark.parametrize(
    ("call", "param", "value", "prefix"),
    [
        (lambda c: c.beta.threads.retrieve("undefined"), "thread_id", "undefined", "thread"),
        (lambda c: c.beta.threads.delete("conv_1"), "thread_id", "conv_1", "thread"),
        (
            lambda c: c.beta.threads.messages.list("undefined"),
            "thread_id",
            "undefined",
            "thread",
        ),
        (lambda c: c.conversations.retrieve("thread_1"), "conversation_id", "thread_1", "conv"),
        (lambda c: c.conversations.delete("undefined"), "conversation_id", "undefined", "conv"),
        (
            lambda c: c.conversations.items.list("undefined"),
            "conversation_id",
            "undefined",
            "conv",
        ),
    ],
    ids=["thread", "thread-delete", "thread-messages", "conv", "conv-delete", "conv-items"],
)
def test_wrong_prefix(
    client: openai.OpenAI,
    call: Callable[[openai.OpenAI], object],
    param: str,
    value: str,
    prefix: str,
) -> None:
    """An ID with the wrong prefix: 400 "Invalid '<param>': '<id>'. Expected an ID that
    begins with '<prefix>'."."""
    with pytest.raises(openai.BadRequestError) as info:
        call(client)
    check(
        info.value,
        400,
        f"Invalid '{param}': '{value}'. Expected an ID that begins with '{prefix}'.",
        param=param,
        code="invalid_value",
    )


def test_wrong_prefix_message_id(client: openai.OpenAI) -> None:
    """A thread message ID must begin with 'msg'."""
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.retrieve("item_1", thread_id=thread.id)
    check(
        info.value,
        400,
        "Invalid 'message_id': 'item_1'. Expected an ID that begins with 'msg'.",
        param="message_id",
        code="invalid_value",
    )


# --- headers and authentication ----------------------------------------------------------


def test_threads_need_the_beta_header(client: openai.OpenAI) -> None:
    """Without ``OpenAI-Beta: assistants=v2``: 400 ``invalid_beta`` (FACTS)."""
    for value in (openai.Omit(), "assistants=v1"):
        with pytest.raises(openai.BadRequestError) as info:
            client.beta.threads.create(extra_headers={"OpenAI-Beta": value})
        check(
            info.value,
            400,
            "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try "
            "again by setting the header 'OpenAI-Beta: assistants=v2'.",
            code="invalid_beta",
        )
    thread = client.beta.threads.create(extra_headers={"OpenAI-Beta": "foo=1, assistants=v2"})
    assert thread.object == "thread"


def test_missing_api_key(client: openai.OpenAI) -> None:
    """No bearer key: 401 with OpenAI's "You didn't provide an API key." message."""
    for headers in ({"Authorization": openai.Omit()}, {"Authorization": "Bearer"}):
        with pytest.raises(openai.AuthenticationError) as info:
            client.conversations.create(extra_headers=headers)
        err = info.value
        assert err.status_code == 401
        assert err.message.startswith("Error code: 401 - You didn't provide an API key.")
        assert (err.code, err.param, err.type) == (None, None, "invalid_request_error")


def test_wrong_api_key(emulator_factory: Callable[..., Emulator]) -> None:
    """Started with a key, any other key answers 401 ``invalid_api_key``, masked."""
    secret = "sk-right-key-0123456789"
    emu = emulator_factory(api_key=secret)
    assert emu.client(max_retries=0).conversations.create().object == "conversation"
    wrong = "sk-wrong-key-abcdefghijWXYZ"
    with pytest.raises(openai.AuthenticationError) as info:
        emu.client(api_key=wrong, max_retries=0).conversations.create()
    masked = "sk-" + "*" * (len(wrong) - 7) + "WXYZ"
    check(
        info.value,
        401,
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )
    assert wrong not in info.value.response.text
    assert secret not in info.value.response.text


# --- list parameters and sizes ------------------------------------------------------------


def test_list_limit_and_order(client: openai.OpenAI) -> None:
    """``limit`` outside 1..100 and an unknown ``order`` answer 400 in OpenAI's words."""
    conv = client.conversations.create()
    thread = client.beta.threads.create()
    lists: list[Callable[..., object]] = [
        lambda **kw: client.conversations.items.list(conv.id, **kw),
        lambda **kw: client.beta.threads.messages.list(thread.id, **kw),
    ]
    for list_call in lists:
        with pytest.raises(openai.BadRequestError) as info:
            list_call(limit=101)
        check(
            info.value,
            400,
            "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got 101 "
            "instead.",
            param="limit",
            code="integer_above_max_value",
        )
        with pytest.raises(openai.BadRequestError) as info:
            list_call(limit=0)
        check(
            info.value,
            400,
            "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 "
            "instead.",
            param="limit",
            code="integer_below_min_value",
        )
        with pytest.raises(openai.BadRequestError) as info:
            list_call(order="up")
        check(
            info.value,
            400,
            "Invalid value: 'up'. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
        assert list_call(limit=100, order="asc") is not None


def test_unknown_cursor(client: openai.OpenAI, emulator_factory: Callable[..., Emulator]) -> None:
    """An unknown ``after`` answers the not-found error of that ID (or, by setting, an empty
    page)."""
    conv = client.conversations.create(items=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError) as info:
        client.conversations.items.list(conv.id, after=MISSING_MSG)
    check(info.value, 404, f"Item with id '{MISSING_MSG}' not found in conversation.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.messages.list(thread.id, before=MISSING_MSG)
    check(info.value, 404, f"No message found with id '{MISSING_MSG}'.")

    other = emulator_factory(unknown_cursor="empty").client(max_retries=0)
    conv = other.conversations.create(items=[{"role": "user", "content": "x"}])
    page = other.conversations.items.list(conv.id, after=MISSING_MSG)
    assert (page.data, page.has_more, page.last_id) == ([], False, None)


def test_at_most_20_items(client: openai.OpenAI) -> None:
    """21 items in one append (or create) answer 400 ``array_above_max_length``."""
    conv = client.conversations.create()
    items: Any = [{"role": "user", "content": str(n)} for n in range(21)]
    message = (
        "Invalid 'items': array too long. Expected an array with maximum length 20, but got an "
        "array with length 21 instead."
    )
    for call in (
        lambda: client.conversations.items.create(conv.id, items=items),
        lambda: client.conversations.create(items=items),
    ):
        with pytest.raises(openai.BadRequestError) as info:
            call()
        check(info.value, 400, message, param="items", code="array_above_max_length")
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.items.create(conv.id, items=[])
    assert (info.value.code, info.value.param) == ("empty_array", "items")
    assert client.conversations.items.list(conv.id).data == []  # nothing was appended
    assert len(client.conversations.items.create(conv.id, items=items[:20]).data) == 20


def test_text_length_limit(emulator_factory: Callable[..., Emulator]) -> None:
    """A text over ``max_text_chars`` answers 400 ``string_above_max_length``."""
    client = emulator_factory(max_text_chars=10).client(max_retries=0)
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(thread.id, role="user", content="x" * 11)
    check(
        info.value,
        400,
        "Invalid 'content': string too long. Expected a string with maximum length 10, but got "
        "a string with length 11 instead.",
        param="content",
        code="string_above_max_length",
    )
    conv = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as info:
        client.conversations.items.create(
            conv.id, items=[{"role": "user", "content": [{"type": "input_text", "text": "y" * 11}]}]
        )
    assert (info.value.code, info.value.param) == (
        "string_above_max_length",
        "items[0].content[0].text",
    )


def test_invalid_bodies(client: openai.OpenAI) -> None:
    """Unknown parameters, wrong roles and unmodelled content are refused with 400."""
    thread = client.beta.threads.create()
    conv = client.conversations.create()
    cases: list[tuple[Callable[[], object], str, str]] = [
        (lambda: client.beta.threads.create(extra_body={"foo": 1}), "unknown_parameter", "foo"),
        (
            lambda: client.beta.threads.messages.create(thread.id, role="system", content="x"),
            "invalid_value",
            "role",
        ),
        (
            lambda: client.beta.threads.messages.create(thread.id, role="user", content=[]),
            None,  # "Message content must be non-empty." (recorded), code null
            "content",
        ),
        (
            lambda: client.conversations.items.create(
                conv.id, items=[{"type": "function_call_output", "call_id": "c", "output": "o"}]
            ),
            "invalid_value",
            "items[0].type",
        ),
        (
            lambda: client.conversations.items.create(
                conv.id,
                items=[{"role": "tool", "content": "x"}],
            ),
            "invalid_value",
            "items[0].role",
        ),
    ]
    for call, code, param in cases:
        with pytest.raises(openai.BadRequestError) as info:
            call()
        assert (info.value.code, info.value.param) == (code, param)
