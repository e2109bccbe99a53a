"""The two backends: how each request on a thread or a conversation is made.

A backend builds ``Request`` values: what to call on an SDK client and how to read the
answer. The same request runs on ``openai.OpenAI`` and on ``openai.AsyncOpenAI`` (their
methods have the same names), so one backend serves the sync and the async front ends; the
executors in ``_transport.py`` send them. A backend knows nothing of the index protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ._errors import InvalidIdError, LinkedThreadsError
from ._quiet import quiet

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendName",
    "Container",
    "EntryText",
    "Request",
    "backend_for_id",
    "make_backend",
]

BackendName = Literal["threads", "conversations"]
T = TypeVar("T")


@dataclass(frozen=True)
class Container:
    """What the protocol needs of a thread or conversation; ``raw`` is the SDK object."""

    id: str
    metadata: Mapping[str, str]
    raw: Any


@dataclass(frozen=True)
class EntryText:
    """A message or item: its ID and its text."""

    id: str
    text: str


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Request(Generic[T]):
    """One API request, independent of sync or async.

    ``send(client)`` makes the SDK call (returning an awaitable on an async client);
    ``parse`` turns the SDK's answer into what the protocol wants. ``landed`` is set on
    appends: before retrying one, the executor asks it of the text of each of the newest
    entries of ``container`` to learn whether the first attempt landed (the protocol, which
    wrote the entries, says how to recognise them; the transport knows no journal format).
    """

    what: str
    send: Callable[[Any], Any]
    parse: Callable[[Any], T] = _same
    landed: Callable[[str], bool] | None = None
    container: str | None = None


def _metadata_of(obj: Any) -> dict[str, str]:
    md = getattr(obj, "metadata", None)
    if not isinstance(md, dict):
        return {}
    return {str(k): v for k, v in md.items() if isinstance(v, str)}


def _container(obj: Any) -> Container:
    return Container(obj.id, _metadata_of(obj), obj)


def _page_kwargs(order: str, after: str | None, limit: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"order": order, "limit": limit}
    if after is not None:
        kwargs["after"] = after
    return kwargs


class Backend:
    """The requests of one kind of container. Subclasses fill in the SDK calls."""

    name: BackendName
    prefix: str
    noun: str
    max_texts_per_append: int
    entries_argument: str
    """How the SDK's create takes the first entries: ``messages=`` (threads), ``items=``."""

    def check_create_kwargs(self, kwargs: Mapping[str, Any]) -> None:
        """Refuse, before any request, the other backend's way of giving the first entries
        (the SDK would raise a bare ``TypeError`` for it); the rest goes to the SDK as is."""
        for other in BACKENDS.values():
            wrong = other.entries_argument
            if wrong != self.entries_argument and wrong in kwargs:
                raise LinkedThreadsError(
                    f"a {self.noun} takes its first {self.entries_argument} as "
                    f"{self.entries_argument}=[...], not {wrong}=[...] (that is how a "
                    f"{other.noun} takes them): pass {self.entries_argument}=, e.g. "
                    f"{self.entries_argument}=[{{'role': 'user', 'content': 'Hello'}}]"
                )

    def create(
        self, metadata: Mapping[str, str] | None, kwargs: Mapping[str, Any]
    ) -> Request[Container]:
        raise NotImplementedError

    def retrieve(self, id_: str) -> Request[Container]:
        raise NotImplementedError

    def delete(self, id_: str) -> Request[None]:
        raise NotImplementedError

    def append(
        self, container_id: str, texts: Sequence[str], landed: Callable[[str], bool]
    ) -> Request[list[str]]:
        """Append entries atomically; the answer is their IDs. ``landed`` recognises the text
        of an entry this append wrote (the check before a retry)."""
        raise NotImplementedError

    def list_entries(
        self,
        container_id: str,
        *,
        order: Literal["asc", "desc"],
        after: str | None = None,
        limit: int = 100,
    ) -> Request[tuple[list[EntryText], bool]]:
        """One page of entries; the answer is ``(entries, has_more)``."""
        raise NotImplementedError

    def delete_entry(self, container_id: str, entry_id: str) -> Request[None]:
        raise NotImplementedError


class ThreadsBackend(Backend):
    name: BackendName = "threads"
    prefix = "thread_"
    noun = "thread"
    max_texts_per_append = 1
    entries_argument = "messages"

    def create(
        self, metadata: Mapping[str, str] | None, kwargs: Mapping[str, Any]
    ) -> Request[Container]:
        import openai  # here, not at import: the SDK costs about a second of start-up

        md = dict(metadata) if metadata is not None else openai.omit
        return Request(
            "create thread",
            lambda c: quiet(c.beta.threads.create)(metadata=md, **kwargs),
            _container,
        )

    def retrieve(self, id_: str) -> Request[Container]:
        return Request(
            f"read thread {id_}", lambda c: quiet(c.beta.threads.retrieve)(id_), _container
        )

    def delete(self, id_: str) -> Request[None]:
        return Request(
            f"delete thread {id_}", lambda c: quiet(c.beta.threads.delete)(id_), lambda _: None
        )

    def append(
        self, container_id: str, texts: Sequence[str], landed: Callable[[str], bool]
    ) -> Request[list[str]]:
        (text,) = texts
        return Request(
            f"append to thread {container_id}",
            lambda c: quiet(c.beta.threads.messages.create)(
                container_id, role="user", content=text
            ),
            lambda msg: [msg.id],
            landed=landed,
            container=container_id,
        )

    def list_entries(
        self,
        container_id: str,
        *,
        order: Literal["asc", "desc"],
        after: str | None = None,
        limit: int = 100,
    ) -> Request[tuple[list[EntryText], bool]]:
        kwargs = _page_kwargs(order, after, limit)

        def parse(page: Any) -> tuple[list[EntryText], bool]:
            out = []
            for msg in page.data:
                parts = getattr(msg, "content", None) or []
                text = "".join(getattr(getattr(p, "text", None), "value", "") or "" for p in parts)
                out.append(EntryText(msg.id, text))
            return out, bool(page.has_more)

        return Request(
            f"list messages of thread {container_id}",
            lambda c: quiet(c.beta.threads.messages.list)(container_id, **kwargs),
            parse,
        )

    def delete_entry(self, container_id: str, entry_id: str) -> Request[None]:
        return Request(
            f"delete message {entry_id} of thread {container_id}",
            lambda c: quiet(c.beta.threads.messages.delete)(entry_id, thread_id=container_id),
            lambda _: None,
        )


class ConversationsBackend(Backend):
    name: BackendName = "conversations"
    prefix = "conv_"
    noun = "conversation"
    max_texts_per_append = 20
    entries_argument = "items"

    def create(
        self, metadata: Mapping[str, str] | None, kwargs: Mapping[str, Any]
    ) -> Request[Container]:
        import openai  # here, not at import: the SDK costs about a second of start-up

        md = dict(metadata) if metadata is not None else openai.omit
        return Request(
            "create conversation",
            lambda c: c.conversations.create(metadata=md, **kwargs),
            _container,
        )

    def retrieve(self, id_: str) -> Request[Container]:
        return Request(
            f"read conversation {id_}", lambda c: c.conversations.retrieve(id_), _container
        )

    def delete(self, id_: str) -> Request[None]:
        return Request(
            f"delete conversation {id_}", lambda c: c.conversations.delete(id_), lambda _: None
        )

    def append(
        self, container_id: str, texts: Sequence[str], landed: Callable[[str], bool]
    ) -> Request[list[str]]:
        items: Any = [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": t}]}
            for t in texts
        ]
        return Request(
            f"append to conversation {container_id}",
            lambda c: c.conversations.items.create(container_id, items=items),
            lambda page: [item.id for item in page.data],
            landed=landed,
            container=container_id,
        )

    def list_entries(
        self,
        container_id: str,
        *,
        order: Literal["asc", "desc"],
        after: str | None = None,
        limit: int = 100,
    ) -> Request[tuple[list[EntryText], bool]]:
        kwargs = _page_kwargs(order, after, limit)

        def parse(page: Any) -> tuple[list[EntryText], bool]:
            out = []
            for item in page.data:
                parts = getattr(item, "content", None) or []
                text = "".join(
                    t for t in (getattr(p, "text", None) for p in parts) if isinstance(t, str)
                )
                out.append(EntryText(item.id, text))
            return out, bool(page.has_more)

        return Request(
            f"list items of conversation {container_id}",
            lambda c: c.conversations.items.list(container_id, **kwargs),
            parse,
        )

    def delete_entry(self, container_id: str, entry_id: str) -> Request[None]:
        return Request(
            f"delete item {entry_id} of conversation {container_id}",
            lambda c: c.conversations.items.delete(entry_id, conversation_id=container_id),
            lambda _: None,
        )


BACKENDS: dict[str, type[Backend]] = {
    "threads": ThreadsBackend,
    "conversations": ConversationsBackend,
}


def make_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}: expected 'threads' or 'conversations'"
        ) from None


def backend_for_id(id_: str) -> str:
    """The backend an ID belongs to, from its prefix."""
    for name, cls in BACKENDS.items():
        if id_.startswith(cls.prefix):
            return name
    raise InvalidIdError(
        f"{id_[:80]!r} is neither a thread ID (thread_...) nor a conversation ID (conv_...)"
    )
