"""An in-memory stand-in for the slice of ``openai.OpenAI`` the backends call.

It lets the protocol run with no HTTP at all, fast enough for thousands of hypothesis
examples, and it misbehaves on purpose: ``duplicate_next_appends`` makes the next appends
land twice (what a retried POST with a lost answer does); ``delay_next_duplicate`` holds a
copy of the next append back and lands it after the append that follows (a retry whose
first attempt the server applied late); ``read_only`` refuses appends with a 403, as a key
without write permission is refused. It models only what the library needs; the
emulator (tests over real HTTP) is the faithful one.

It follows the SDK's real types, so that an SDK release that changes them breaks here
first, loudly: every call is bound against the signature of the SDK method it stands for
(``inspect.Signature.bind``: a call the SDK would refuse raises the same ``TypeError``),
answers are the SDK's own ``openai.types`` models and pages, and errors are raised by the
SDK itself (``sdk_errors``).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.pagination import SyncConversationCursorPage, SyncCursorPage
from openai.resources.beta.threads.messages import Messages as SDKMessages
from openai.resources.beta.threads.threads import Threads as SDKThreads
from openai.resources.conversations.conversations import Conversations as SDKConversations
from openai.resources.conversations.items import Items as SDKItems
from openai.types.beta import Thread, ThreadDeleted
from openai.types.beta.threads import Message as ThreadMessage
from openai.types.beta.threads import MessageDeleted
from openai.types.conversations import (
    Conversation,
    ConversationDeletedResource,
    ConversationItem,
    ConversationItemList,
)
from openai.types.conversations import Message as ItemMessage

from .sdk_errors import not_found as _not_found
from .sdk_errors import status_error


@functools.cache
def _signature(sdk_method: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(sdk_method)


def bind(sdk_method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The call's arguments by name, as ``sdk_method`` (an SDK resource method) binds them;
    omitted ones are the SDK's defaults (``openai.omit``...). Raises ``TypeError`` where the
    SDK would."""
    bound = _signature(sdk_method).bind(None, *args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def given(value: Any) -> bool:
    """Whether an SDK argument was given (not ``openai.omit`` / ``NOT_GIVEN`` / ``None``)."""
    return value is not None and not isinstance(value, (openai.Omit, openai.NotGiven))


def _first_texts(entries: Any) -> list[str]:
    """Texts of the ``messages=`` / ``items=`` given to a create (strings or text parts)."""
    texts = []
    for entry in entries if given(entries) else []:
        content = entry.get("content", "")
        if isinstance(content, str):
            texts.append(content)
        else:
            texts.append("".join(p.get("text", "") for p in content if isinstance(p, dict)))
    return texts


@dataclass
class _Container:
    id: str
    metadata: dict[str, str]
    entries: list[tuple[str, str]] = field(default_factory=list)
    created_at: int = field(default_factory=lambda: int(time.time()))


def _forbidden() -> openai.PermissionDeniedError:
    exc = status_error(403, "You have insufficient permissions for this operation.")
    assert isinstance(exc, openai.PermissionDeniedError)
    return exc


class MemoryStore:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.lock = threading.Lock()
        self.objects: dict[str, _Container] = {}
        self.counter = itertools.count(1)
        self.requests = 0
        self.duplicate_next_appends = 0
        self.delay_next_duplicate = False
        self.read_only = False
        self._delayed: list[tuple[str, list[str]]] = []

    def new_id(self, prefix: str, width: int) -> str:
        n = next(self.counter)
        if prefix == "conv_":
            return f"conv_{n:048x}"
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        out = ""
        for _ in range(width):
            n, r = divmod(n, 62)
            out = digits[r] + out
        return prefix + out

    # container level
    def create(self, metadata: Any = None) -> _Container:
        with self.lock:
            self.requests += 1
            prefix = "conv_" if self.kind == "conversations" else "thread_"
            c = _Container(
                self.new_id(prefix, 24), dict(metadata) if isinstance(metadata, dict) else {}
            )
            self.objects[c.id] = c
            return c

    def add_first(self, cid: str, texts: list[str]) -> None:
        """The ``messages=`` / ``items=`` of a create: part of that one request."""
        with self.lock:
            c = self.objects[cid]
            c.entries.extend((self.new_id("msg_", 24), t) for t in texts)

    def retrieve(self, id_: str) -> _Container:
        with self.lock:
            self.requests += 1
            c = self.objects.get(id_)
            if c is None:
                raise _not_found(id_)
            return c

    def delete(self, id_: str) -> None:
        with self.lock:
            self.requests += 1
            if self.objects.pop(id_, None) is None:
                raise _not_found(id_)

    # entries
    def append(self, cid: str, texts: list[str]) -> list[str]:
        with self.lock:
            self.requests += 1
            c = self.objects.get(cid)
            if c is None:
                raise _not_found(cid)
            if self.read_only:
                raise _forbidden()
            copies = 2 if self.duplicate_next_appends > 0 else 1
            self.duplicate_next_appends = max(0, self.duplicate_next_appends - 1)
            ids: list[str] = []
            for _ in range(copies):
                for text in texts:
                    eid = self.new_id("msg_", 24)
                    c.entries.append((eid, text))
                    ids.append(eid)
            delayed, self._delayed = self._delayed, []
            for target, held in delayed:
                if target in self.objects:
                    self.objects[target].entries.extend((self.new_id("msg_", 24), t) for t in held)
            if self.delay_next_duplicate:
                self.delay_next_duplicate = False
                self._delayed.append((cid, list(texts)))
            return ids[: len(texts)]

    def list(
        self, cid: str, order: str = "desc", limit: int = 20, after: str | None = None
    ) -> tuple[list[tuple[str, str]], bool]:
        with self.lock:
            self.requests += 1
            c = self.objects.get(cid)
            if c is None:
                raise _not_found(cid)
            entries = list(c.entries) if order == "asc" else list(reversed(c.entries))
            if after is not None:
                ids = [e[0] for e in entries]
                entries = entries[ids.index(after) + 1 :]
            return entries[:limit], len(entries) > limit

    def delete_entry(self, cid: str, eid: str) -> None:
        with self.lock:
            self.requests += 1
            c = self.objects.get(cid)
            if c is None:
                raise _not_found(cid)
            before = len(c.entries)
            c.entries = [e for e in c.entries if e[0] != eid]
            if len(c.entries) == before:
                raise _not_found(eid)


def _thread(c: _Container) -> Thread:
    return Thread(
        id=c.id,
        object="thread",
        created_at=c.created_at,
        metadata=dict(c.metadata),
        tool_resources=None,
    )


def _conversation(c: _Container) -> Conversation:
    return Conversation(
        id=c.id, object="conversation", created_at=c.created_at, metadata=dict(c.metadata)
    )


def _thread_message(thread_id: str, mid: str, text: str) -> ThreadMessage:
    return ThreadMessage(
        id=mid,
        object="thread.message",
        created_at=int(time.time()),
        assistant_id=None,
        thread_id=thread_id,
        run_id=None,
        status="completed",
        incomplete_details=None,
        completed_at=None,
        incomplete_at=None,
        role="user",
        content=[{"type": "text", "text": {"value": text, "annotations": []}}],
        attachments=[],
        metadata={},
    )


def _item(iid: str, text: str) -> ItemMessage:
    return ItemMessage(
        id=iid,
        type="message",
        status="completed",
        role="user",
        content=[{"type": "input_text", "text": text}],
    )


class _Items:
    """``client.conversations.items``."""

    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    def create(self, *args: Any, **kwargs: Any) -> ConversationItemList:
        a = bind(SDKItems.create, args, kwargs)
        texts = [i["content"][0]["text"] for i in a["items"]]
        data = [
            _item(i, t)
            for i, t in zip(self.s.append(a["conversation_id"], texts), texts, strict=True)
        ]
        return ConversationItemList(
            object="list", data=data, first_id=data[0].id, last_id=data[-1].id, has_more=False
        )

    def list(self, *args: Any, **kwargs: Any) -> SyncConversationCursorPage[ConversationItem]:
        a = bind(SDKItems.list, args, kwargs)
        page, more = self.s.list(a["conversation_id"], **_page_args(a))
        data = [_item(i, t) for i, t in page]
        return SyncConversationCursorPage[ConversationItem](
            data=data, has_more=more, last_id=data[-1].id if data else None
        )

    def delete(self, *args: Any, **kwargs: Any) -> Conversation:
        a = bind(SDKItems.delete, args, kwargs)
        self.s.delete_entry(a["conversation_id"], a["item_id"])
        return _conversation(self.s.objects[a["conversation_id"]])


class _Messages:
    """``client.beta.threads.messages``."""

    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    def create(self, *args: Any, **kwargs: Any) -> ThreadMessage:
        a = bind(SDKMessages.create, args, kwargs)
        (mid,) = self.s.append(a["thread_id"], [a["content"]])
        return _thread_message(a["thread_id"], mid, a["content"])

    def list(self, *args: Any, **kwargs: Any) -> SyncCursorPage[ThreadMessage]:
        a = bind(SDKMessages.list, args, kwargs)
        page, more = self.s.list(a["thread_id"], **_page_args(a))
        data = [_thread_message(a["thread_id"], i, t) for i, t in page]
        return SyncCursorPage[ThreadMessage](data=data, has_more=more)

    def delete(self, *args: Any, **kwargs: Any) -> MessageDeleted:
        a = bind(SDKMessages.delete, args, kwargs)
        self.s.delete_entry(a["thread_id"], a["message_id"])
        return MessageDeleted(id=a["message_id"], object="thread.message.deleted", deleted=True)


def _page_args(a: Any) -> dict[str, Any]:
    return {
        "order": a["order"] if given(a["order"]) else "desc",
        "limit": a["limit"] if given(a["limit"]) else 20,
        "after": a["after"] if given(a["after"]) else None,
    }


class _Threads:
    """``client.beta.threads``."""

    def __init__(self, store: MemoryStore) -> None:
        self.s = store
        self.messages = _Messages(store)

    def create(self, *args: Any, **kwargs: Any) -> Thread:
        a = bind(SDKThreads.create, args, kwargs)
        c = self.s.create(a["metadata"] if given(a["metadata"]) else None)
        if _first_texts(a["messages"]):
            self.s.add_first(c.id, _first_texts(a["messages"]))
        return _thread(c)

    def retrieve(self, *args: Any, **kwargs: Any) -> Thread:
        return _thread(self.s.retrieve(bind(SDKThreads.retrieve, args, kwargs)["thread_id"]))

    def delete(self, *args: Any, **kwargs: Any) -> ThreadDeleted:
        thread_id = bind(SDKThreads.delete, args, kwargs)["thread_id"]
        self.s.delete(thread_id)
        return ThreadDeleted(id=thread_id, object="thread.deleted", deleted=True)


class _Conversations:
    """``client.conversations``."""

    def __init__(self, store: MemoryStore) -> None:
        self.s = store
        self.items = _Items(store)

    def create(self, *args: Any, **kwargs: Any) -> Conversation:
        a = bind(SDKConversations.create, args, kwargs)
        c = self.s.create(a["metadata"] if given(a["metadata"]) else None)
        if _first_texts(a["items"]):
            self.s.add_first(c.id, _first_texts(a["items"]))
        return _conversation(c)

    def retrieve(self, *args: Any, **kwargs: Any) -> Conversation:
        a = bind(SDKConversations.retrieve, args, kwargs)
        return _conversation(self.s.retrieve(a["conversation_id"]))

    def delete(self, *args: Any, **kwargs: Any) -> ConversationDeletedResource:
        conversation_id = bind(SDKConversations.delete, args, kwargs)["conversation_id"]
        self.s.delete(conversation_id)
        return ConversationDeletedResource(
            id=conversation_id, object="conversation.deleted", deleted=True
        )


class _Beta:
    def __init__(self, store: MemoryStore) -> None:
        self.threads = _Threads(store)


class MemoryClient:
    """Quacks like ``openai.OpenAI`` for both backends' requests."""

    def __init__(self, kind: str) -> None:
        self.store = MemoryStore(kind)
        self.conversations = _Conversations(self.store)
        self.beta = _Beta(self.store)

    def with_options(self, **kwargs: Any) -> MemoryClient:
        bind(openai.OpenAI.with_options, (), kwargs)
        return self
