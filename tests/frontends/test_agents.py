"""The real OpenAI Agents SDK (``openai-agents``, the ``agents`` extra) against the emulator:
an ``OpenAIConversationsSession`` on a tracked client has its conversation listed while it
lives and forgotten after ``clear_session()``."""

from __future__ import annotations

from typing import Any

import pytest

from linkedthreads import AsyncThreadIndex

agents_memory = pytest.importorskip("agents.memory")

USER = {"role": "user", "content": "What is the capital of France?"}
ASSISTANT = {"role": "assistant", "content": "Paris."}


@pytest.mark.parametrize("item_delete_response", ["conversation", "deleted"])
async def test_sessions_are_listed_while_they_live(
    emulator: Any, item_delete_response: str
) -> None:
    """Two sessions: created lazily on first use, items added, read, popped; each session's
    conversation is listed until its clear_session(); the index's client is not tracked."""
    emulator.update_settings(item_delete_response=item_delete_response)
    client = emulator.async_client()
    index = await AsyncThreadIndex.create(client, backend="conversations")
    tracked = index.track(client)
    sessions = [agents_memory.OpenAIConversationsSession(openai_client=tracked) for _ in range(2)]
    assert [i async for i in index.all()] == []

    for session in sessions:
        await session.add_items([USER, ASSISTANT])
    ids = [s.session_id for s in sessions]
    assert [i async for i in index.all()] == ids

    items = await sessions[0].get_items()
    assert [i["role"] for i in items] == ["user", "assistant"]
    assert (await sessions[0].get_items(limit=1))[0]["role"] == "assistant"
    popped = await sessions[0].pop_item()
    assert popped is not None
    assert popped["role"] == "assistant"
    assert [i["role"] for i in await sessions[0].get_items()] == ["user"]

    await sessions[0].clear_session()
    assert [i async for i in index.all()] == ids[1:]
    assert ids[0] not in emulator.live_ids("conversations")
    # A cleared session starts a new conversation on its next use, listed too.
    await sessions[0].add_items([USER])
    assert [i async for i in index.all()] == [ids[1], sessions[0].session_id]
    for session in sessions:
        await session.clear_session()
    assert [i async for i in index.all()] == []
    assert emulator.live_ids("conversations") == {index.root_id}
    await client.close()
