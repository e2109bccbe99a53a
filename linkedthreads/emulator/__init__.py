"""A local emulator of the OpenAI threads and conversations APIs, faithful to the public
record (``FACTS.md``), with seeded fault injection, counters and an optional state file.

Layers (each imports only the ones above it; nothing from the rest of ``linkedthreads``):

- ``_settings``: :class:`EmulatorSettings`, every knob with its default;
- ``_ids``, ``_errors``: ID shapes and every OpenAI error body;
- ``_validation``, ``_models``: the state (plain Python, no HTTP);
- ``_faults``: seeded faults, latency and rate limits;
- ``_control``: who may call the control plane, and a client for it;
- ``_app``: the Starlette routes; ``_persistence``: the state file;
- ``_server``, ``_emulator``: uvicorn in a thread or in the foreground; :class:`Emulator`.

    >>> from linkedthreads.emulator import Emulator
    >>> with Emulator() as emu:
    ...     emu.base_url.startswith("http://127.0.0.1:")
    True
"""

from ._control import control_request
from ._emulator import Emulator
from ._server import serve
from ._settings import EmulatorSettings

__all__ = ["Emulator", "EmulatorSettings", "control_request", "serve"]
