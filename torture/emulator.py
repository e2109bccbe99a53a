"""The emulator a run talks to, and raw SDK clients of it."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import openai


def start_emulator(**settings: Any) -> Any:
    """Start an emulator on 127.0.0.1 with ``settings``.

    The harness once worked around an emulator bug here (no TCP_NODELAY on accepted
    connections: every answer waited ~40 ms for the client's delayed ACK); the emulator now
    sets it itself (``emulator/_server.py``), and ``nodelay`` stays as a harmless guard.
    """
    from linkedthreads.testing import Emulator

    return nodelay(Emulator(**settings).start())


def nodelay(emu: Any) -> Any:
    """Set TCP_NODELAY on a running emulator's listening socket (see ``start_emulator``)."""
    sock = getattr(getattr(emu, "_server", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return emu


def quiet_faults(emu: Any) -> None:
    """Switch off every fault and delay (for setup and for the final checks)."""
    emu.update_settings(
        fault_rate=0.0, lost_response_rate=0.0, latency_ms=0.0, latency_jitter_ms=0.0
    )


def raw_client(base_url: str, api_key: str = "torture-key", **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 5)
    return openai.OpenAI(base_url=base_url, api_key=api_key, **kw)
