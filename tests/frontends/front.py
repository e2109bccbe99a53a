"""One async-shaped surface over ``ThreadIndex`` and ``AsyncThreadIndex``, so that one test
body serves both front ends (they drive the same protocol flows). The fixtures that give it,
``front`` and ``kind``, are in ``conftest.py``; test modules that need more (a gated HTTP
transport, a tracked client) subclass it."""

from __future__ import annotations

import inspect
from typing import Any

from linkedthreads import AsyncThreadIndex, ThreadIndex

__all__ = ["Front", "done"]


async def done(value: Any) -> Any:
    """``value``, awaited if the async front end (or SDK client) returned an awaitable."""
    return await value if inspect.isawaitable(value) else value


class Front:
    """``mode`` "sync" or "async"; the SDK client is the emulator's, over ``http_client``
    when one is given."""

    def __init__(self, mode: str, emulator: Any, http_client: Any = None) -> None:
        self.mode = mode
        self.emulator = emulator
        options = {} if http_client is None else {"http_client": http_client}
        self.client: Any = (
            emulator.async_client(**options) if mode == "async" else emulator.client(**options)
        )

    @property
    def index_class(self) -> type[ThreadIndex] | type[AsyncThreadIndex]:
        return AsyncThreadIndex if self.mode == "async" else ThreadIndex

    async def create(self, **kwargs: Any) -> Any:
        return await done(self.index_class.create(self.client, **kwargs))

    async def open(self, root_id: str, **kwargs: Any) -> Any:
        return await done(self.index_class.open(self.client, root_id, **kwargs))

    async def call(self, index: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        return await done(getattr(index, name)(*args, **kwargs))

    async def listed(self, index: Any) -> list[str]:
        if self.mode == "async":
            return [i async for i in index.all()]
        return list(index.all())

    async def count(self, index: Any) -> int:
        return await index.count() if self.mode == "async" else len(index)

    async def contains(self, index: Any, id_: str) -> bool:
        return await index.contains(id_) if self.mode == "async" else id_ in index

    async def close(self) -> None:
        await done(self.client.close())
