"""Random create/update/delete/append/list sequences through the SDK, checked against a
plain in-memory model of what FACTS.md says the service does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from linkedthreads.emulator import Emulator
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # these tests call client.beta.threads themselves

keys = st.sampled_from([f"k{i}" for i in range(20)])
metadata = st.dictionaries(keys, st.text(max_size=3), max_size=5)
texts = st.lists(st.text(max_size=4), min_size=1, max_size=3)
orders = st.sampled_from(["asc", "desc"])
limits = st.integers(1, 4)


@dataclass
class Box:
    """The model of one thread or conversation."""

    metadata: dict[str, str]
    entries: list[tuple[str, str]] = field(default_factory=list)  # (id, text), append order
    deleted: bool = False


def _item_text(item: Any) -> str:
    return str(item.content[0].text)


def _message_text(message: Any) -> str:
    return str(message.content[0].text.value)


class EmulatorMachine(RuleBasedStateMachine):
    """Conversations and threads side by side; deleted ones stay in the bundles so that
    later steps check the 404s."""

    emulator: Emulator
    client: openai.OpenAI
    conversations = Bundle("conversations")
    threads = Bundle("threads")

    def __init__(self) -> None:
        super().__init__()
        self.emulator.reset()
        self.model: dict[str, Box] = {}

    # --- conversations ---------------------------------------------------------------

    @rule(target=conversations, meta=metadata, initial=st.lists(st.text(max_size=4), max_size=3))
    def create_conversation(self, meta: dict[str, str], initial: list[str]) -> str:
        conv = self.client.conversations.create(
            metadata=meta, items=[{"role": "user", "content": t} for t in initial]
        )
        ids = self.emulator.retained_item_ids(conv.id)
        self.model[conv.id] = Box(dict(meta), list(zip(ids, initial, strict=True)))
        return conv.id

    @rule(conv=conversations, meta=metadata)
    def update_conversation(self, conv: str, meta: dict[str, str]) -> None:
        box = self.model[conv]
        merged = {**box.metadata, **meta}
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.conversations.update(conv, metadata=meta)
        elif len(merged) > 16:
            with pytest.raises(openai.BadRequestError) as info:
                self.client.conversations.update(conv, metadata=meta)
            assert info.value.code == "object_above_max_properties"
        else:
            assert self.client.conversations.update(conv, metadata=meta).metadata == merged
            box.metadata = merged

    @rule(conv=conversations, new=texts)
    def append_items(self, conv: str, new: list[str]) -> None:
        box = self.model[conv]
        items: Any = [{"type": "message", "role": "user", "content": t} for t in new]
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.conversations.items.create(conv, items=items)
            return
        page = self.client.conversations.items.create(conv, items=items)
        assert [_item_text(i) for i in page.data] == new
        box.entries.extend((i.id, t) for i, t in zip(page.data, new, strict=True))

    @rule(conv=conversations, data=st.data())
    def delete_item(self, conv: str, data: st.DataObject) -> None:
        box = self.model[conv]
        if box.deleted or not box.entries:
            return
        index = data.draw(st.integers(0, len(box.entries) - 1))
        item_id, _ = box.entries.pop(index)
        self.client.conversations.items.delete(item_id, conversation_id=conv)
        with pytest.raises(openai.NotFoundError):
            self.client.conversations.items.retrieve(item_id, conversation_id=conv)

    @rule(conv=conversations, order=orders, limit=limits)
    def list_items(self, conv: str, order: str, limit: int) -> None:
        box = self.model[conv]
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.conversations.items.list(conv)
            return
        got = [
            (i.id, _item_text(i))
            for i in self.client.conversations.items.list(conv, order=order, limit=limit)
        ]
        assert got == (box.entries if order == "asc" else box.entries[::-1])

    @rule(conv=consumes(conversations))
    def delete_conversation(self, conv: str) -> None:
        box = self.model[conv]
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.conversations.delete(conv)
            return
        assert self.client.conversations.delete(conv).deleted
        box.deleted = True
        # The items stay stored, unreachable (FACTS).
        assert self.emulator.retained_item_ids(conv) == [i for i, _ in box.entries]

    # --- threads -----------------------------------------------------------------------

    @rule(target=threads, meta=metadata, initial=st.lists(st.text(max_size=4), max_size=2))
    def create_thread(self, meta: dict[str, str], initial: list[str]) -> Any:
        if "" in initial:  # empty message content is refused (recorded); nothing is made
            with pytest.raises(openai.BadRequestError, match="must be non-empty"):
                self.client.beta.threads.create(
                    metadata=meta, messages=[{"role": "user", "content": t} for t in initial]
                )
            return multiple()
        thread = self.client.beta.threads.create(
            metadata=meta, messages=[{"role": "user", "content": t} for t in initial]
        )
        listed = self.client.beta.threads.messages.list(thread.id, order="asc").data
        assert [_message_text(m) for m in listed] == initial
        self.model[thread.id] = Box(dict(meta), [(m.id, _message_text(m)) for m in listed])
        return multiple(thread.id)

    @rule(thread=threads, meta=metadata)
    def update_thread(self, thread: str, meta: dict[str, str]) -> None:
        box = self.model[thread]
        merged = {**box.metadata, **meta}
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.beta.threads.update(thread, metadata=meta)
        elif len(merged) > 16:
            with pytest.raises(openai.BadRequestError):
                self.client.beta.threads.update(thread, metadata=meta)
        else:
            assert self.client.beta.threads.update(thread, metadata=meta).metadata == merged
            box.metadata = merged

    @rule(thread=threads, text=st.text(max_size=4), role=st.sampled_from(["user", "assistant"]))
    def create_message(self, thread: str, text: str, role: Any) -> None:
        box = self.model[thread]
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.beta.threads.messages.create(thread, role=role, content=text)
            return
        if not text:
            with pytest.raises(openai.BadRequestError, match="must be non-empty"):
                self.client.beta.threads.messages.create(thread, role=role, content=text)
            return
        message = self.client.beta.threads.messages.create(thread, role=role, content=text)
        box.entries.append((message.id, text))

    @rule(thread=threads, data=st.data())
    def delete_message(self, thread: str, data: st.DataObject) -> None:
        box = self.model[thread]
        if box.deleted or not box.entries:
            return
        message_id, _ = box.entries.pop(data.draw(st.integers(0, len(box.entries) - 1)))
        self.client.beta.threads.messages.delete(message_id, thread_id=thread)

    @rule(thread=threads, order=orders, limit=limits)
    def list_messages(self, thread: str, order: str, limit: int) -> None:
        box = self.model[thread]
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.beta.threads.messages.list(thread)
            return
        got = [
            (m.id, _message_text(m))
            for m in self.client.beta.threads.messages.list(thread, order=order, limit=limit)
        ]
        assert got == (box.entries if order == "asc" else box.entries[::-1])

    @rule(thread=consumes(threads))
    def delete_thread(self, thread: str) -> None:
        box = self.model[thread]
        if box.deleted:
            with pytest.raises(openai.NotFoundError):
                self.client.beta.threads.delete(thread)
            return
        assert self.client.beta.threads.delete(thread).deleted
        box.deleted = True

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def live_ids_match(self) -> None:
        live = {k for k, box in self.model.items() if not box.deleted}
        assert self.emulator.live_ids("conversations") == {k for k in live if k.startswith("conv_")}
        assert self.emulator.live_ids("threads") == {k for k in live if k.startswith("thread_")}


def test_emulator_matches_the_model(emulator: Emulator) -> None:
    """Random sequences over both APIs agree with the in-memory model at every step."""
    EmulatorMachine.emulator = emulator
    EmulatorMachine.client = emulator.client(max_retries=0)
    run_state_machine_as_test(
        EmulatorMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
    print(emulator.stats()["total"])
