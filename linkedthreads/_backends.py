"""The two backends: how each request on a thread or a conversation is made.

A backend builds ``Request`` values: what to call on an SDK client and how to read the
answer. The same request runs on ``openai.OpenAI`` and on ``openai.AsyncOpenAI`` (their
methods have the same names), so one backend serves the sync and the async front ends; the
executors in ``_transport.py`` send them. A backend knows nothing of the index protocol.

This is the one place that knows which SDK method serves which backend: the command line,
the web page, the torture harness and the benchmarks make their own requests (a child's
details, its messages or items, raw objects) through it too, with ``call`` (one request
on a sync client, the SDK's own retries only) and ``iter_entries``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ._choices import BackendName
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
    "call",
    "iter_entries",
    "make_backend",
]

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


def _metadata_argument(metadata: Mapping[str, str] | None) -> Any:
    """``metadata=`` of a create: the SDK's ``omit`` when there is none."""
    import openai  # here, not at import: the SDK costs about a second of start-up

    return dict(metadata) if metadata is not None else openai.omit


def _raw_page(page: Any) -> tuple[list[Any], bool]:
    return list(page.data), bool(page.has_more)


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
        """One page of entries, as their IDs and texts; the answer is ``(entries, has_more)``."""
        raw = self.entries_page(container_id, order=order, after=after, limit=limit)

        def parse(page: Any) -> tuple[list[EntryText], bool]:
            entries, has_more = raw.parse(page)
            return [EntryText(e.id, self.entry_text(e)) for e in entries], has_more

        return Request(raw.what, raw.send, parse)

    @staticmethod
    def entry_text(entry: Any) -> str:
        """The text of a message or item as the SDK gives it."""
        raise NotImplementedError

    def delete_entry(self, container_id: str, entry_id: str) -> Request[None]:
        raise NotImplementedError

    def update(self, id_: str, metadata: Mapping[str, str]) -> Request[None]:
        """Merge ``metadata`` into the object's (the server's update merges, FACTS)."""
        raise NotImplementedError

    def entries_page(
        self, container_id: str, *, order: Literal["asc", "desc"], after: str | None, limit: int
    ) -> Request[tuple[list[Any], bool]]:
        """One page of entries as the SDK gives them (role, content, creation time), for
        tools that show them; the answer is ``(entries, has_more)``."""
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
        md = _metadata_argument(metadata)
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

    @staticmethod
    def entry_text(entry: Any) -> str:
        parts = getattr(entry, "content", None) or []
        return "".join(getattr(getattr(p, "text", None), "value", "") or "" for p in parts)

    def delete_entry(self, container_id: str, entry_id: str) -> Request[None]:
        return Request(
            f"delete message {entry_id} of thread {container_id}",
            lambda c: quiet(c.beta.threads.messages.delete)(entry_id, thread_id=container_id),
            lambda _: None,
        )

    def update(self, id_: str, metadata: Mapping[str, str]) -> Request[None]:
        md = dict(metadata)
        return Request(
            f"update thread {id_}",
            lambda c: quiet(c.beta.threads.update)(id_, metadata=md),
            lambda _: None,
        )

    def entries_page(
        self, container_id: str, *, order: Literal["asc", "desc"], after: str | None, limit: int
    ) -> Request[tuple[list[Any], bool]]:
        kwargs = _page_kwargs(order, after, limit)
        return Request(
            f"list messages of thread {container_id}",
            lambda c: quiet(c.beta.threads.messages.list)(container_id, **kwargs),
            _raw_page,
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
        md = _metadata_argument(metadata)
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

    @staticmethod
    def entry_text(entry: Any) -> str:
        parts = getattr(entry, "content", None) or []
        return "".join(t for t in (getattr(p, "text", None) for p in parts) if isinstance(t, str))

    def delete_entry(self, container_id: str, entry_id: str) -> Request[None]:
        return Request(
            f"delete item {entry_id} of conversation {container_id}",
            lambda c: c.conversations.items.delete(entry_id, conversation_id=container_id),
            lambda _: None,
        )

    def update(self, id_: str, metadata: Mapping[str, str]) -> Request[None]:
        md = dict(metadata)
        return Request(
            f"update conversation {id_}",
            lambda c: c.conversations.update(id_, metadata=md),
            lambda _: None,
        )

    def entries_page(
        self, container_id: str, *, order: Literal["asc", "desc"], after: str | None, limit: int
    ) -> Request[tuple[list[Any], bool]]:
        kwargs = _page_kwargs(order, after, limit)
        return Request(
            f"list items of conversation {container_id}",
            lambda c: c.conversations.items.list(container_id, **kwargs),
            _raw_page,
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


def call(client: Any, request: Request[T]) -> T:
    """Send ``request`` on a sync SDK client and read its answer: 1 request, retried by the
    SDK's own policy only (the index's requests go through ``_transport.py`` instead)."""
    return request.parse(request.send(client))


def iter_entries(
    client: Any,
    container_id: str,
    *,
    order: Literal["asc", "desc"] = "asc",
    page_size: int = 100,
) -> Iterator[Any]:
    """Every message (thread) or item (conversation) of a container as the SDK gives them,
    in ``order``: 1 request a page of ``page_size``."""
    backend = make_backend(backend_for_id(container_id))
    after: str | None = None
    while True:
        entries, has_more = call(
            client, backend.entries_page(container_id, order=order, after=after, limit=page_size)
        )
        yield from entries
        if not has_more or not entries:
            return
        after = entries[-1].id
