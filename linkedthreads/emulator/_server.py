"""Running the ASGI app: uvicorn in a background thread (for tests) or in the foreground
(for the command line).

The listening socket is bound before uvicorn starts (port 0 picks a free port), so the URL
is known at once and no other process can take the port in between.  Access logs are off.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import TextIO

import uvicorn

from ._app import Runtime, create_app
from ._control import is_loopback
from ._persistence import StateFile
from ._settings import EmulatorSettings


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says so, and without it keep-alive answers wait ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/v1"


def _config(runtime: Runtime) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(runtime),
        http="h11",
        lifespan="off",
        loop="asyncio",
        access_log=False,
        server_header=False,
        log_config=None,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


class ServerThread:
    """uvicorn serving a :class:`Runtime` from a daemon thread."""

    def __init__(self, runtime: Runtime, host: str = "127.0.0.1", port: int = 0) -> None:
        self.runtime = runtime
        self.sock = bind_socket(host, port)
        self.base_url = base_url_of(self.sock)
        self.server = uvicorn.Server(_config(runtime))
        self._thread = threading.Thread(
            target=self._run, name="linkedthreads-emulator", daemon=True
        )
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # pragma: no cover - surfaced by start()
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError("the emulator server failed to start") from self._error
            if time.monotonic() > deadline:
                raise TimeoutError("the emulator server did not start in time")
            time.sleep(0.002)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - shutdown hung
            self.server.force_exit = True
            self._thread.join(timeout)
        self.sock.close()


def exposure_warning(host: str, settings: EmulatorSettings) -> str:
    """The warning for an emulator listening on ``host``, not a loopback address."""
    guard = (
        "its control routes need the control key"
        if settings.control_key is not None or settings.api_key is not None
        else "anyone who can reach it can read every ID it holds and wipe its state "
        "(set a control key, or listen on 127.0.0.1)"
    )
    return (
        f"warning: the emulator listens on {host}, not on a loopback address: other machines "
        f"can reach it, and it is a test server, not a secure one; {guard}."
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    settings: EmulatorSettings | None = None,
    state_file: str | os.PathLike[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    """Run the emulator in the foreground until Ctrl-C (SIGINT) or SIGTERM.

    Prints the base URL (``http://HOST:PORT/v1``) as the first line on ``out`` (default
    stdout), then serves.  With ``state_file``, the state is loaded from it if it exists and
    saved to it after writes and at exit.  A ``host`` that is not a loopback address gets a
    warning on ``err`` (default stderr): other machines can then reach the emulator.
    """
    settings = settings or EmulatorSettings()
    store: StateFile | None = None
    runtime = Runtime(settings)
    if state_file is not None:
        store = StateFile(state_file, runtime.backend)
        store.load()
        runtime.on_write = store.mark_dirty
    sock = bind_socket(host, port)
    if not is_loopback(host):
        print(exposure_warning(host, settings), file=err or sys.stderr, flush=True)
    stream = out or sys.stdout
    print(base_url_of(sock), file=stream, flush=True)
    server = uvicorn.Server(_config(runtime))
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the
    # previous handler: make SIGTERM, like SIGINT, a KeyboardInterrupt so we can save and
    # return normally.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        sock.close()
        if store is not None:
            store.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
