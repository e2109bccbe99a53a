"""The public face of the emulator: start, point clients at it, inspect, reset, stop."""

from __future__ import annotations

import os
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._app import Runtime
from ._models import Kind
from ._persistence import StateFile
from ._server import ServerThread
from ._settings import EmulatorSettings

if TYPE_CHECKING:
    import openai


class Emulator:
    """A local OpenAI threads + conversations server on a free loopback port.

    ``Emulator(**settings)`` or ``Emulator(settings=EmulatorSettings(...))`` (keyword settings
    then override the given ones); ``host``/``port`` choose where it listens (default
    ``127.0.0.1``, a free port) and ``state_file`` keeps the state across restarts.

    >>> with Emulator(seed=1) as emu:
    ...     conv = emu.client().conversations.create(metadata={"k": "v"})
    ...     emu.live_ids("conversations") == {conv.id}
    True
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        **changes: Any,
    ) -> None:
        base = settings or EmulatorSettings()
        self._initial = base.replace(**changes) if changes else base
        self._host, self._port = host, port
        self._runtime = Runtime(self._initial)
        self._store: StateFile | None = None
        if state_file is not None:
            self._store = StateFile(state_file, self._runtime.backend)
            self._runtime.on_write = self._store.mark_dirty
        self._server: ServerThread | None = None
        self._clients: weakref.WeakSet[openai.OpenAI] = weakref.WeakSet()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Emulator:
        """Load the state file (if any) and start serving.  Returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        if self._store is not None:
            self._store.load()
        server = ServerThread(self._runtime, self._host, self._port)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Close the sync clients made by :meth:`client`, stop serving, save the state file.
        Safe to call twice."""
        self.close_clients()
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what ``openai.OpenAI(base_url=...)`` wants."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use `with`")
        return self._server.base_url

    # --- settings ----------------------------------------------------------------------

    @property
    def settings(self) -> EmulatorSettings:
        return self._runtime.settings

    def update_settings(self, **changes: Any) -> EmulatorSettings:
        """Change settings of the running emulator (e.g. turn faults on after setup); takes
        effect from the next request.  A new ``seed`` applies at the next :meth:`reset`."""
        self._runtime.settings = self._runtime.settings.replace(**changes)
        return self._runtime.settings

    # --- clients -----------------------------------------------------------------------

    def _client_kwargs(self, kw: dict[str, Any]) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.settings.api_key or "test-key", **kw}

    def client(self, **kw: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` pointed at the emulator (``kw`` as for ``openai.OpenAI``).
        It is closed by :meth:`close_clients` and :meth:`stop` if not closed before."""
        import openai

        client = openai.OpenAI(**self._client_kwargs(kw))
        self._clients.add(client)
        return client

    def async_client(self, **kw: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` pointed at the emulator.  Close it yourself
        (``async with`` or ``await client.close()``)."""
        import openai

        return openai.AsyncOpenAI(**self._client_kwargs(kw))

    def close_clients(self) -> None:
        """Close the sync clients :meth:`client` made that are still open, so that no socket
        is left for the garbage collector (and no ``ResourceWarning``)."""
        for client in list(self._clients):
            client.close()
        self._clients.clear()

    # --- inspection --------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters: ``{"requests": {"POST /v1/conversations": n, ...}, "total": n,
        "faults": {"429", "500", "503", "drop", "lost_response"}, "rate_limited": n,
        "unmatched": n}``.  Faulted and rate-limited requests count in ``requests``."""
        return self._runtime.stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters (state is kept)."""
        self._runtime.stats.reset()

    def live_ids(self, kind: Kind) -> set[str]:
        """IDs of the ``"threads"`` or ``"conversations"`` not deleted."""
        return self._runtime.backend.live_ids(kind)

    def stored_ids(self, kind: Kind) -> set[str]:
        """IDs of the ``"threads"`` or ``"conversations"`` stored: the live ones, and the
        deleted conversations, whose items stay stored (see :meth:`retained_item_ids`)."""
        return self._runtime.backend.stored_ids(kind)

    def retained_item_ids(self, conversation_id: str) -> list[str]:
        """IDs of the items the conversation still stores, in append order, even after the
        conversation was deleted (OpenAI keeps them; the API can no longer reach them).
        Empty if every item was deleted first.  ``KeyError`` if the ID was never created."""
        return self._runtime.backend.retained_item_ids(conversation_id)

    def reset(self) -> None:
        """Wipe all state and counters and restart the seeded random streams."""
        self._runtime.reset()

    def __repr__(self) -> str:
        where = self._server.base_url if self._server else "stopped"
        return f"<Emulator {where}>"
