"""The state of the emulated service: threads with their messages, conversations with their
items.  Plain Python, no HTTP: every public method of :class:`InMemoryStore` takes the decoded
request (path IDs, JSON body, query) and returns the JSON object to answer, or raises an
:class:`~._errors.APIError`.

Every public method holds one lock for its whole run, so each request is atomic and appends
are totally ordered.  Stored objects are never mutated once handed out (an update stores a
new dict), so the HTTP layer may serialise them after the lock is released.

Over 500 lines on purpose: the atomicity argument above is about one lock held by one
class; threads, messages, conversations and items share it, so they live in one module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import _errors as e
from . import _validation as v
from ._ids import IdGenerator
from ._settings import EmulatorSettings

JSON = Any
Kind = Literal["threads", "conversations"]


class OrderedLog:
    """Objects in the order they were appended, with O(1) lookup and cursor paging.

    A deleted object leaves its ID in place (a tombstone), so a cursor naming it keeps its
    position.  Runtime complexity: append, get, delete O(1); a page O(limit + tombstones
    skipped).

    >>> log = OrderedLog()
    >>> for i in "abc":
    ...     log.append(i, {"id": i})
    >>> [o["id"] for o in log.page(v.ListQuery(limit=2, order="asc"))[0]]
    ['a', 'b']
    """

    __slots__ = ("_ids", "_index", "_live")

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self._live: dict[str, dict[str, JSON]] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, obj_id: object) -> bool:
        return obj_id in self._live

    def knows(self, obj_id: str) -> bool:
        """Whether ``obj_id`` was ever appended (deleted or not)."""
        return obj_id in self._index

    def append(self, obj_id: str, obj: dict[str, JSON]) -> None:
        self._index[obj_id] = len(self._ids)
        self._ids.append(obj_id)
        self._live[obj_id] = obj

    def get(self, obj_id: str) -> dict[str, JSON] | None:
        return self._live.get(obj_id)

    def replace(self, obj_id: str, obj: dict[str, JSON]) -> None:
        self._live[obj_id] = obj

    def delete(self, obj_id: str) -> bool:
        return self._live.pop(obj_id, None) is not None

    def live_ids(self) -> list[str]:
        """Live IDs in append order."""
        return [i for i in self._ids if i in self._live]

    def entries(self) -> Iterator[tuple[str, dict[str, JSON] | None]]:
        """Every ID in append order with its object (``None`` once deleted)."""
        for i in self._ids:
            yield i, self._live.get(i)

    def _scan(self, start: int, stop: int, step: int, want: int) -> list[dict[str, JSON]]:
        out: list[dict[str, JSON]] = []
        ids, live = self._ids, self._live
        for pos in range(start, stop, step):
            obj = live.get(ids[pos])
            if obj is not None:
                out.append(obj)
                if len(out) == want:
                    break
        return out

    def page(
        self,
        query: v.ListQuery,
        keep: Callable[[dict[str, JSON]], bool] | None = None,
    ) -> tuple[list[dict[str, JSON]], bool]:
        """One page and whether more follow.  ``after``/``before`` must be known IDs (see
        :meth:`knows`); ``after`` pages forward from it, ``before`` returns the ``limit``
        objects just before it (in the requested order).  ``keep`` filters (O(n) then)."""
        lo, hi = 0, len(self._ids)  # raw positions lo <= p < hi are in the window
        asc = query.order == "asc"
        if query.after is not None:
            p = self._index[query.after]
            lo, hi = (max(lo, p + 1), hi) if asc else (lo, min(hi, p))
        if query.before is not None:
            p = self._index[query.before]
            lo, hi = (lo, min(hi, p)) if asc else (max(lo, p + 1), hi)
        want = query.limit + 1
        from_before = query.before is not None and query.after is None
        forward = asc != from_before  # scan raw positions upward?
        if keep is not None:
            found = [o for o in self._scan(lo, hi, 1, hi) if keep(o)] if hi > lo else []
            if not forward:
                found.reverse()
            found = found[:want]
        elif forward:
            found = self._scan(lo, hi, 1, want)
        else:
            found = self._scan(hi - 1, lo - 1, -1, want)
        has_more = len(found) > query.limit
        page = found[: query.limit]
        if from_before:
            page.reverse()
        return page, has_more


@dataclass
class Thread:
    obj: dict[str, JSON]
    messages: OrderedLog = field(default_factory=OrderedLog)


@dataclass
class Conversation:
    obj: dict[str, JSON]
    items: OrderedLog = field(default_factory=OrderedLog)
    deleted: bool = False


def list_page(data: list[dict[str, JSON]], has_more: bool) -> dict[str, JSON]:
    """``{object: "list", data, first_id, last_id, has_more}``; IDs ``None`` when empty."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def item_page(data: list[dict[str, JSON]], has_more: bool) -> dict[str, JSON]:
    """A page of conversation items, keys in the recorded order: ``{object, data, first_id,
    has_more, last_id}``."""
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "has_more": has_more,
        "last_id": data[-1]["id"] if data else None,
    }


def _check_prefix(param: str, value: str, prefix: str) -> None:
    if not value.startswith(prefix):
        raise e.invalid_id_prefix(param, value, prefix)


# The body of ``POST /threads/runs`` (createThreadAndRun in OpenAI's OpenAPI description).
RUN_KEYS = (
    "assistant_id",
    "thread",
    "model",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "stream",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
)


@dataclass(frozen=True)
class EventStream:
    """An answer sent as server-sent events (``event: <name>`` / ``data: <json>``), ended by
    ``event: done`` / ``data: [DONE]``."""

    events: tuple[tuple[str, dict[str, JSON]], ...]


class InMemoryStore:
    """Threads and conversations in memory.  Thread-safe: one lock per call.

    >>> b = InMemoryStore(EmulatorSettings(seed=1))
    >>> conv = b.create_conversation({"metadata": {"a": "1"}})
    >>> b.update_conversation(conv["id"], {"metadata": {"b": "2"}})["metadata"]
    {'a': '1', 'b': '2'}
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self._clock = clock
        self.lock = threading.Lock()
        self._reset_unlocked()

    # --- whole state -------------------------------------------------------------------

    def _reset_unlocked(self) -> None:
        self.ids = IdGenerator(self.settings.seed)
        self.threads: dict[str, Thread] = {}
        self.conversations: dict[str, Conversation] = {}
        self.creation_order: dict[Kind, OrderedLog] = {
            "threads": OrderedLog(),
            "conversations": OrderedLog(),
        }
        # When each object was created (monotonic), for ``read_after_write_lag_s``.
        self._born: dict[str, float] = {}

    def _lagging(self, obj_id: str) -> bool:
        """Whether a GET of ``obj_id`` still answers 404 (``read_after_write_lag_s``)."""
        lag = self.settings.read_after_write_lag_s
        born = self._born.get(obj_id)
        return lag > 0 and born is not None and time.monotonic() - born < lag

    def reset(self) -> None:
        """Forget every object and restart the seeded ID sequence."""
        with self.lock:
            self._reset_unlocked()

    def _now(self) -> int:
        return int(self._clock())

    def live_ids(self, kind: Kind) -> set[str]:
        """IDs of the threads or conversations not deleted."""
        with self.lock:
            if kind == "threads":
                return set(self.threads)
            if kind == "conversations":
                return {k for k, c in self.conversations.items() if not c.deleted}
        raise ValueError(f"kind must be 'threads' or 'conversations', not {kind!r}")

    def stored_ids(self, kind: Kind) -> set[str]:
        """IDs of the threads or conversations stored: the live ones, and the deleted
        conversations, whose items stay stored (FACTS)."""
        with self.lock:
            if kind == "threads":
                return set(self.threads)
            if kind == "conversations":
                return set(self.conversations)
        raise ValueError(f"kind must be 'threads' or 'conversations', not {kind!r}")

    def retained_item_ids(self, conversation_id: str) -> list[str]:
        """IDs of the items a conversation still holds (not deleted one by one), in append
        order, whether or not the conversation itself was deleted: deleting a conversation
        does not delete its items (FACTS).  Raises ``KeyError`` for an unknown ID."""
        with self.lock:
            return self.conversations[conversation_id].items.live_ids()

    # --- threads -----------------------------------------------------------------------

    def _thread(self, thread_id: str) -> Thread:
        _check_prefix("thread_id", thread_id, "thread")
        thread = self.threads.get(thread_id)
        if thread is None:
            raise e.thread_not_found(thread_id)
        return thread

    def _new_message(self, thread_id: str, msg: v.NewMessage, now: int) -> dict[str, JSON]:
        return {
            "id": self.ids.message_id(),
            "object": "thread.message",
            "created_at": now,
            "assistant_id": None,
            "thread_id": thread_id,
            "run_id": None,
            "status": "completed",
            "incomplete_details": None,
            "completed_at": None,
            "incomplete_at": None,
            "role": msg.role,
            "content": msg.content,
            "attachments": [],
            "metadata": msg.metadata,
        }

    @staticmethod
    def _unique(make: Callable[[], str], taken: Callable[[str], bool]) -> str:
        new_id = make()
        while taken(new_id):  # pragma: no cover - 24 base62 / 40 hex digits do not collide
            new_id = make()
        return new_id

    def create_thread(self, body: JSON) -> dict[str, JSON]:
        """``POST /threads`` {messages?, metadata?, tool_resources?}."""
        s = self.settings
        body = v.body_object(body)
        v.known_keys(body, ("messages", "metadata", "tool_resources"))
        raw_messages = body.get("messages", [])
        if not isinstance(raw_messages, list):
            raise e.invalid_type("messages", "an array", raw_messages)
        messages = [v.thread_message(m, s, f"messages[{i}].") for i, m in enumerate(raw_messages)]
        meta = v.metadata(body.get("metadata"), s) or {}
        resources = v.tool_resources(body.get("tool_resources"), creating=True) or {}
        with self.lock:
            now = self._now()
            thread_id = self._unique(self.ids.thread_id, self.threads.__contains__)
            thread = Thread(
                {
                    "id": thread_id,
                    "object": "thread",
                    "created_at": now,
                    "metadata": meta,
                    "tool_resources": resources,
                }
            )
            for msg in messages:
                obj = self._new_message(thread_id, msg, now)
                thread.messages.append(obj["id"], obj)
            self.threads[thread_id] = thread
            self.creation_order["threads"].append(thread_id, {"id": thread_id})
            self._born[thread_id] = time.monotonic()
            return thread.obj

    def create_thread_and_run(self, body: JSON) -> dict[str, JSON] | EventStream:
        """``POST /threads/runs`` {assistant_id, thread?, stream?, ...}: creates the thread
        (``thread`` as the body of ``POST /threads``) and answers a run on it.  The emulator
        has no assistants and no model: any ``assistant_id`` is taken, the run is not stored
        and stays ``queued``; with ``stream: true`` the answer is the event stream
        ``thread.created``, ``thread.run.created``, ``thread.run.queued``, then ``done``."""
        body = v.body_object(body)
        v.known_keys(body, RUN_KEYS)
        assistant_id = v.required(body, "assistant_id")
        if not isinstance(assistant_id, str):
            raise e.invalid_type("assistant_id", "a string", assistant_id)
        run_meta = v.metadata(body.get("metadata"), self.settings) or {}
        thread_body = body.get("thread", {})
        if not isinstance(thread_body, dict):
            raise e.invalid_type("thread", "an object", thread_body)
        thread = self.create_thread(thread_body)
        with self.lock:
            run_id = self.ids.run_id()
        run = {
            "id": run_id,
            "object": "thread.run",
            "created_at": thread["created_at"],
            "assistant_id": assistant_id,
            "thread_id": thread["id"],
            "status": "queued",
            "required_action": None,
            "last_error": None,
            "expires_at": thread["created_at"] + 600,
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "incomplete_details": None,
            "model": body.get("model") or "gpt-4o",
            "instructions": body.get("instructions") or "",
            "tools": body.get("tools") or [],
            "metadata": run_meta,
            "usage": None,
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "max_prompt_tokens": body.get("max_prompt_tokens"),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "truncation_strategy": {"type": "auto", "last_messages": None},
            "response_format": "auto",
            "tool_choice": "auto",
            "parallel_tool_calls": True,
        }
        if body.get("stream") is True:
            return EventStream(
                (
                    ("thread.created", thread),
                    ("thread.run.created", run),
                    ("thread.run.queued", run),
                )
            )
        return run

    def get_thread(self, thread_id: str) -> dict[str, JSON]:
        with self.lock:
            thread = self._thread(thread_id)
            if self._lagging(thread_id):
                raise e.thread_not_found(thread_id)
            return thread.obj

    def _updated_metadata(self, old: dict[str, str], sent: dict[str, str] | None) -> dict[str, str]:
        if sent is None:
            return old
        if self.settings.thread_metadata_update == "replace":
            return sent
        return v.merged_metadata(old, sent)

    def modify_thread(self, thread_id: str, body: JSON) -> dict[str, JSON]:
        """``POST /threads/{id}`` {metadata?, tool_resources?}: metadata merged or replaced
        (setting ``thread_metadata_update``), tool_resources replaced."""
        body = v.body_object(body)
        v.known_keys(body, ("metadata", "tool_resources"))
        sent = v.metadata(body.get("metadata"), self.settings)
        resources = v.tool_resources(body.get("tool_resources"), creating=False)
        with self.lock:
            thread = self._thread(thread_id)
            obj = dict(thread.obj)
            obj["metadata"] = self._updated_metadata(obj["metadata"], sent)
            if resources is not None:
                obj["tool_resources"] = resources
            thread.obj = obj
            return obj

    def delete_thread(self, thread_id: str) -> dict[str, JSON]:
        with self.lock:
            self._thread(thread_id)
            del self.threads[thread_id]
            self.creation_order["threads"].delete(thread_id)
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    def _message(self, thread: Thread, message_id: str) -> dict[str, JSON]:
        _check_prefix("message_id", message_id, "msg")
        msg = thread.messages.get(message_id)
        if msg is None:
            raise e.message_not_found(message_id)
        return msg

    def create_message(self, thread_id: str, body: JSON) -> dict[str, JSON]:
        """``POST /threads/{id}/messages`` {role, content, attachments?, metadata?}."""
        msg = v.thread_message(v.body_object(body), self.settings)
        with self.lock:
            thread = self._thread(thread_id)
            obj = self._new_message(thread_id, msg, self._now())
            thread.messages.append(obj["id"], obj)
            return obj

    def list_containers(self, kind: Kind, query: Mapping[str, str]) -> dict[str, JSON]:
        """``GET /threads`` or ``GET /conversations`` (setting ``list_endpoints``; not OpenAI):
        live objects in creation order, paged by ``after``."""
        q = v.list_query(query, allow_before=False)
        with self.lock:
            log = self.creation_order[kind]
            if q.after is not None and not log.knows(q.after):
                return list_page([], False)
            page, more = log.page(q)
            if kind == "threads":
                data = [self.threads[o["id"]].obj for o in page]
            else:
                data = [self.conversations[o["id"]].obj for o in page]
            return list_page(data, more)

    def list_messages(self, thread_id: str, query: Mapping[str, str]) -> dict[str, JSON]:
        """``GET /threads/{id}/messages`` limit, order, after, before, run_id."""
        q = v.list_query(query, allow_before=True)
        run_id = query.get("run_id")
        with self.lock:
            log = self._thread(thread_id).messages
            if not self._cursors_known(log, q, e.message_not_found):
                return list_page([], False)
            keep = None if run_id is None else (lambda m: m["run_id"] == run_id)
            return list_page(*log.page(q, keep))

    def get_message(self, thread_id: str, message_id: str) -> dict[str, JSON]:
        with self.lock:
            return self._message(self._thread(thread_id), message_id)

    def modify_message(self, thread_id: str, message_id: str, body: JSON) -> dict[str, JSON]:
        """``POST /threads/{id}/messages/{mid}`` {metadata?} (merge or replace as threads)."""
        body = v.body_object(body)
        v.known_keys(body, ("metadata",))
        sent = v.metadata(body.get("metadata"), self.settings)
        with self.lock:
            thread = self._thread(thread_id)
            obj = dict(self._message(thread, message_id))
            obj["metadata"] = self._updated_metadata(obj["metadata"], sent)
            thread.messages.replace(message_id, obj)
            return obj

    def delete_message(self, thread_id: str, message_id: str) -> dict[str, JSON]:
        with self.lock:
            thread = self._thread(thread_id)
            self._message(thread, message_id)
            thread.messages.delete(message_id)
        return {"id": message_id, "object": "thread.message.deleted", "deleted": True}

    # --- conversations -----------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> Conversation:
        _check_prefix("conversation_id", conversation_id, "conv")
        conv = self.conversations.get(conversation_id)
        if conv is None or conv.deleted:
            raise e.conversation_not_found(conversation_id)
        return conv

    def _append_items(self, conv: Conversation, items: list[v.NewItem]) -> list[dict[str, JSON]]:
        now = self._now()
        lengths = self.settings.item_id_hex_lengths
        created = []
        for item in items:
            obj: dict[str, JSON] = {  # keys in the recorded order
                "id": self._unique(lambda: self.ids.item_id(now, lengths), conv.items.knows),
                "type": "message",
                "status": "completed",
                "content": item.content,
                "role": item.role,
            }
            if item.phase is not None:
                obj["phase"] = item.phase
            conv.items.append(obj["id"], obj)
            created.append(obj)
        return created

    def create_conversation(self, body: JSON) -> dict[str, JSON]:
        """``POST /conversations`` {metadata?, items? (at most 20)}."""
        s = self.settings
        body = v.body_object(body)
        v.known_keys(body, ("metadata", "items"))
        meta = v.metadata(body.get("metadata"), s) or {}
        raw_items = body.get("items")
        items = [] if raw_items is None else v.item_list(raw_items, s, allow_empty=True)
        with self.lock:
            now = self._now()
            conv_id = self._unique(
                lambda: self.ids.conversation_id(now), self.conversations.__contains__
            )
            conv = Conversation(
                {"id": conv_id, "object": "conversation", "created_at": now, "metadata": meta}
            )
            self.conversations[conv_id] = conv
            self.creation_order["conversations"].append(conv_id, {"id": conv_id})
            self._born[conv_id] = time.monotonic()
            self._append_items(conv, items)
            return conv.obj

    def get_conversation(self, conversation_id: str) -> dict[str, JSON]:
        with self.lock:
            conv = self._conversation(conversation_id)
            if self._lagging(conversation_id):
                raise e.conversation_not_found(conversation_id)
            return conv.obj

    def update_conversation(self, conversation_id: str, body: JSON) -> dict[str, JSON]:
        """``POST /conversations/{id}`` {metadata} (required; merged; ``null`` changes
        nothing)."""
        body = v.body_object(body)
        v.known_keys(body, ("metadata",))
        sent = v.metadata(v.required(body, "metadata"), self.settings)
        with self.lock:
            conv = self._conversation(conversation_id)
            if sent is not None:
                conv.obj = {**conv.obj, "metadata": v.merged_metadata(conv.obj["metadata"], sent)}
            return conv.obj

    def delete_conversation(self, conversation_id: str) -> dict[str, JSON]:
        """``DELETE /conversations/{id}``: the items stay stored, unreachable (FACTS)."""
        with self.lock:
            self._conversation(conversation_id).deleted = True
            self.creation_order["conversations"].delete(conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    def create_items(
        self, conversation_id: str, body: JSON, include: tuple[str, ...] = ()
    ) -> dict[str, JSON]:
        """``POST /conversations/{id}/items`` {items: 1..20}: a list page of the new items."""
        v.check_include(include)
        body = v.body_object(body)
        v.known_keys(body, ("items",))
        items = v.item_list(v.required(body, "items"), self.settings, allow_empty=False)
        with self.lock:
            created = self._append_items(self._conversation(conversation_id), items)
        return item_page(created, False)

    def list_items(
        self, conversation_id: str, query: Mapping[str, str], include: tuple[str, ...] = ()
    ) -> dict[str, JSON]:
        """``GET /conversations/{id}/items`` limit, order, after (``include`` checked, then
        ignored: text messages carry nothing more)."""
        q = v.list_query(query, allow_before=False, include=include)
        with self.lock:
            log = self._conversation(conversation_id).items
            if not self._cursors_known(log, q, e.item_not_found):
                return item_page([], False)
            return item_page(*log.page(q))

    def _cursors_known(
        self, log: OrderedLog, q: v.ListQuery, not_found: Callable[[str], e.APIError]
    ) -> bool:
        """Whether the cursors of ``q`` are IDs ``log`` knows; if not, 404 or ``False`` (an
        empty page), as the setting ``unknown_cursor`` says."""
        for cursor in (q.after, q.before):
            if cursor is not None and not log.knows(cursor):
                if self.settings.unknown_cursor == "empty":
                    return False
                raise not_found(cursor)
        return True

    def _item(self, conv: Conversation, item_id: str) -> dict[str, JSON]:
        item = conv.items.get(item_id)
        if item is None:
            raise e.item_not_found(item_id)
        return item

    def get_item(
        self, conversation_id: str, item_id: str, include: tuple[str, ...] = ()
    ) -> dict[str, JSON]:
        v.check_include(include)
        with self.lock:
            return self._item(self._conversation(conversation_id), item_id)

    def delete_item(self, conversation_id: str, item_id: str) -> dict[str, JSON]:
        """``DELETE /conversations/{id}/items/{iid}``: answers the conversation (spec, SDK) or
        ``conversation.item.deleted`` (setting ``item_delete_response``)."""
        with self.lock:
            conv = self._conversation(conversation_id)
            self._item(conv, item_id)
            conv.items.delete(item_id)
            if self.settings.item_delete_response == "deleted":
                return {"id": item_id, "object": "conversation.item.deleted", "deleted": True}
            return conv.obj

    # --- persistence -------------------------------------------------------------------

    def snapshot(self) -> dict[str, JSON]:
        """The whole state as JSON-ready data (deleted conversations kept with their items;
        deleted messages and items dropped)."""
        with self.lock:
            return {
                "version": 1,
                "threads": [
                    {"thread": t.obj, "messages": [m for _, m in t.messages.entries() if m]}
                    for t in self.threads.values()
                ],
                "conversations": [
                    {
                        "conversation": c.obj,
                        "deleted": c.deleted,
                        "items": [i for _, i in c.items.entries() if i],
                    }
                    for c in self.conversations.values()
                ],
            }

    def restore(self, data: Mapping[str, JSON]) -> None:
        """Replace the state with a :meth:`snapshot`."""
        if data.get("version") != 1:
            raise ValueError(f"unsupported state version {data.get('version')!r}")
        threads: dict[str, Thread] = {}
        for t in data["threads"]:
            thread = Thread(t["thread"])
            for m in t["messages"]:
                thread.messages.append(m["id"], m)
            threads[thread.obj["id"]] = thread
        conversations: dict[str, Conversation] = {}
        for c in data["conversations"]:
            conv = Conversation(c["conversation"], deleted=bool(c["deleted"]))
            for i in c["items"]:
                conv.items.append(i["id"], i)
            conversations[conv.obj["id"]] = conv
        with self.lock:
            self.threads, self.conversations = threads, conversations
            self.creation_order = {"threads": OrderedLog(), "conversations": OrderedLog()}
            for tid in threads:
                self.creation_order["threads"].append(tid, {"id": tid})
            for cid, c in conversations.items():
                if not c.deleted:
                    self.creation_order["conversations"].append(cid, {"id": cid})
