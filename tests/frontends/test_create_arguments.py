"""What ``create`` and ``create_child`` make of arguments and answers the SDK alone would
turn into bare errors: the other backend's first-entries argument, and a server that does
not show a new root at once (404 right after the create)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

from linkedthreads import (
    AsyncThreadIndex,
    BackendUnavailableError,
    IndexNotFoundError,
    IndexSettings,
    LinkedThreadsError,
    ThreadIndex,
)
from linkedthreads._transport import NotFound
from tests.conftest import BACKENDS_THREADS_SLOW

FIRST = {"threads": "messages", "conversations": "items"}
WRONG = {"threads": "items", "conversations": "messages"}


def _entries(client: Any, backend: str, child_id: str) -> list[str]:
    if backend == "threads":
        from linkedthreads._quiet import quiet

        page = quiet(client.beta.threads.messages.list)(child_id, order="asc")
        return [m.content[0].text.value for m in page.data]
    page = client.conversations.items.list(child_id, order="asc")
    return [i.content[0].text for i in page.data]


def test_create_child_takes_each_backends_first_entries(
    client: Any, emulator: Any, backend: str
) -> None:
    """``items=`` for a conversation, ``messages=`` for a thread: both reach the SDK."""
    with ThreadIndex.create(client, backend=backend) as index:
        entries = [{"role": "user", "content": "Hello"}]
        child = index.create_child(metadata={"user": "42"}, **{FIRST[backend]: entries})
        assert _entries(client, backend, child.id) == ["Hello"]
        assert list(index.all()) == [child.id]


def test_the_other_backends_argument_is_refused_before_any_request(
    client: Any, emulator: Any, backend: str
) -> None:
    """``create_child(items=...)`` on threads (as the README's table shows it for
    conversations) is one ``LinkedThreadsError`` naming ``messages=``, not the SDK's bare
    ``TypeError``; and the other way round. Nothing is sent."""
    with ThreadIndex.create(client, backend=backend) as index:
        before = emulator.stats()["total"]
        with pytest.raises(LinkedThreadsError) as caught:
            index.create_child(**{WRONG[backend]: [{"role": "user", "content": "Hello"}]})
        assert not isinstance(caught.value, TypeError)
        message = str(caught.value)
        assert f"{FIRST[backend]}=[" in message
        assert f"not {WRONG[backend]}=[" in message
        with pytest.raises(LinkedThreadsError, match=f"{FIRST[backend]}="):
            index.create_children(3, **{WRONG[backend]: []})
        assert emulator.stats()["total"] == before
        assert list(index.all()) == []


async def test_the_async_index_refuses_it_too(emulator: Any, backend: str) -> None:
    async with emulator.async_client() as client:
        index = await AsyncThreadIndex.create(client, backend=backend)
        before = emulator.stats()["total"]
        with pytest.raises(LinkedThreadsError, match=f"pass {FIRST[backend]}="):
            await index.create_child(**{WRONG[backend]: [{"role": "user", "content": "x"}]})
        assert emulator.stats()["total"] == before
        child = await index.create_child(**{FIRST[backend]: [{"role": "user", "content": "x"}]})
        assert [i async for i in index.all()] == [child.id]


# -- a server that answers 404 right after a create ---------------------------------------

THREAD = "thread_" + "A" * 24
CONV = "conv_" + "a" * 48


def _server(backend: str, create_status: int = 200) -> Any:
    """A tiny OpenAI-shaped server: the create succeeds (or answers ``create_status``),
    every read answers OpenAI's 404."""
    new_id = THREAD if backend == "threads" else CONV
    calls: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.method == "POST" and request.url.path.endswith(("/threads", "/conversations")):
            if create_status != 200:
                return httpx2.Response(create_status, json={"error": _not_found("nothing")})
            sent = json.loads(request.content)
            obj = {"id": new_id, "object": backend.rstrip("s"), "created_at": 1}
            obj["metadata"] = sent.get("metadata", {})
            if backend == "threads":
                obj["tool_resources"] = {}
            return httpx2.Response(200, json=obj)
        return httpx2.Response(404, json={"error": _not_found(new_id)})

    return answer, calls


def _not_found(id_: str) -> dict[str, Any]:
    return {
        "message": f"No object found with id '{id_}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def _sync_client(answer: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test-key",
        base_url="http://lagging.invalid/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )


def test_a_root_not_readable_right_after_its_create_is_a_public_error(backend: str) -> None:
    """The read-back of a new root answers 404 longer than ``read_lag_seconds`` (here 0: one
    read): an ``IndexNotFoundError`` that names the new root's ID, never the internal
    ``NotFound``."""
    answer, calls = _server(backend)
    settings = IndexSettings(read_lag_seconds=0)
    with _sync_client(answer) as client, pytest.raises(IndexNotFoundError) as caught:
        ThreadIndex.create(client, backend=backend, settings=settings)
    assert not isinstance(caught.value, NotFound)
    new_id = THREAD if backend == "threads" else CONV
    assert new_id in str(caught.value)
    assert "open(client" in str(caught.value)
    assert [c.split()[0] for c in calls] == ["POST", "GET"]


def test_a_new_root_is_read_again_while_the_lag_bound_lasts(backend: str) -> None:
    """With a lag bound, the read-back is tried again until it has passed (docs/design.md
    8.4), then the same public error."""
    answer, calls = _server(backend)
    settings = IndexSettings(read_lag_seconds=0.6)
    with _sync_client(answer) as client, pytest.raises(IndexNotFoundError):
        ThreadIndex.create(client, backend=backend, settings=settings)
    verbs = [c.split()[0] for c in calls]
    assert verbs[0] == "POST"
    assert set(verbs[1:]) == {"GET"}
    assert len(verbs) >= 3


def test_a_create_answered_404_is_backend_unavailable(backend: str) -> None:
    answer, _ = _server(backend, create_status=404)
    with _sync_client(answer) as client, pytest.raises(BackendUnavailableError) as caught:
        ThreadIndex.create(client, backend=backend)
    assert not isinstance(caught.value, NotFound)


@pytest.mark.parametrize("backend", BACKENDS_THREADS_SLOW)
async def test_the_async_create_maps_it_the_same(backend: str) -> None:
    answer, _ = _server(backend)
    client = openai.AsyncOpenAI(
        api_key="test-key",
        base_url="http://lagging.invalid/v1",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(answer)),
    )
    async with client:
        with pytest.raises(IndexNotFoundError) as caught:
            await AsyncThreadIndex.create(client, backend=backend)
    assert not isinstance(caught.value, NotFound)
