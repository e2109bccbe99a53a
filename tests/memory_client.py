"""An in-memory stand-in for the slice of ``openai.OpenAI`` the backends call.

It lets the protocol run with no HTTP at all, fast enough for thousands of hypothesis
examples, and it misbehaves on purpose: ``duplicate_next_appends`` makes the next appends
land twice (what a retried POST with a lost answer does); ``delay_next_duplicate`` holds a
copy of the next append back and lands it after the append that follows (a retry whose
first attempt the server applied late); ``read_only`` refuses appends with a 403, as a key
without write permission is refused. It models only what the library needs; the
emulator (tests over real HTTP) is the faithful one.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx2
import openai


def _not_found(what: str) -> openai.NotFoundError:
    request = httpx2.Request("GET", "http://memory/v1/x")
    response = httpx2.Response(404, request=request)
    body = {
        "message": f"{what} not found",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return openai.NotFoundError(f"{what} not found", response=response, body=body)


@dataclass
class _Container:
    id: str
    metadata: dict[str, str]
    entries: list[tuple[str, str]] = field(default_factory=list)


def _forbidden() -> openai.PermissionDeniedError:
    request = httpx2.Request("POST", "http://memory/v1/x")
    response = httpx2.Response(403, request=request)
    body = {
        "message": "You have insufficient permissions for this operation.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return openai.PermissionDeniedError(str(body["message"]), response=response, body=body)


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
    def create(self, metadata: Any = None, **_: Any) -> Any:
        with self.lock:
            self.requests += 1
            prefix = "conv_" if self.kind == "conversations" else "thread_"
            c = _Container(
                self.new_id(prefix, 24), dict(metadata) if isinstance(metadata, dict) else {}
            )
            self.objects[c.id] = c
            return SimpleNamespace(id=c.id, metadata=dict(c.metadata))

    def retrieve(self, id_: str) -> Any:
        with self.lock:
            self.requests += 1
            c = self.objects.get(id_)
            if c is None:
                raise _not_found(id_)
            return SimpleNamespace(id=c.id, metadata=dict(c.metadata))

    def delete(self, id_: str) -> Any:
        with self.lock:
            self.requests += 1
            if self.objects.pop(id_, None) is None:
                raise _not_found(id_)
            return SimpleNamespace(id=id_, deleted=True)

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

    def delete_entry(self, cid: str, eid: str) -> Any:
        with self.lock:
            self.requests += 1
            c = self.objects.get(cid)
            if c is None:
                raise _not_found(cid)
            before = len(c.entries)
            c.entries = [e for e in c.entries if e[0] != eid]
            if len(c.entries) == before:
                raise _not_found(eid)
            return SimpleNamespace(id=eid, deleted=True)


class _Items:
    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    def create(self, cid: str, items: list[Any]) -> Any:
        ids = self.s.append(cid, [i["content"][0]["text"] for i in items])
        return SimpleNamespace(data=[SimpleNamespace(id=i) for i in ids])

    def list(self, cid: str, order: str = "desc", limit: int = 20, after: str | None = None) -> Any:
        page, more = self.s.list(cid, order, limit, after)
        data = [
            SimpleNamespace(id=i, content=[SimpleNamespace(type="input_text", text=t)])
            for i, t in page
        ]
        return SimpleNamespace(data=data, has_more=more)

    def delete(self, iid: str, conversation_id: str) -> Any:
        return self.s.delete_entry(conversation_id, iid)


class _Messages:
    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    def create(self, tid: str, role: str, content: str) -> Any:
        (mid,) = self.s.append(tid, [content])
        return SimpleNamespace(id=mid)

    def list(self, tid: str, order: str = "desc", limit: int = 20, after: str | None = None) -> Any:
        page, more = self.s.list(tid, order, limit, after)
        data = [
            SimpleNamespace(id=i, content=[SimpleNamespace(text=SimpleNamespace(value=t))])
            for i, t in page
        ]
        return SimpleNamespace(data=data, has_more=more)

    def delete(self, mid: str, thread_id: str) -> Any:
        return self.s.delete_entry(thread_id, mid)


class _Containers:
    def __init__(self, store: MemoryStore, entries: Any, entries_name: str) -> None:
        self.s = store
        setattr(self, entries_name, entries)

    def create(self, metadata: Any = openai.omit, **kwargs: Any) -> Any:
        return self.s.create(metadata if isinstance(metadata, dict) else None, **kwargs)

    def retrieve(self, id_: str) -> Any:
        return self.s.retrieve(id_)

    def delete(self, id_: str) -> Any:
        return self.s.delete(id_)


class MemoryClient:
    """Quacks like ``openai.OpenAI`` for both backends' requests."""

    def __init__(self, kind: str) -> None:
        self.store = MemoryStore(kind)
        self.conversations = _Containers(self.store, _Items(self.store), "items")
        threads = _Containers(self.store, _Messages(self.store), "messages")
        self.beta = SimpleNamespace(threads=threads)

    def with_options(self, **_: Any) -> MemoryClient:
        return self
