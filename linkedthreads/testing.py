"""Testing aids for users of linkedthreads: a local OpenAI emulator.

    from linkedthreads.testing import Emulator

    with Emulator(seed=1) as emu:
        client = emu.client()

Another process reaches an emulator's control plane (counters, live IDs, reset) with
``control_request(base_url, "stats")``.

Needs the ``emulator`` extra (``pip install 'linkedthreads[emulator]'``).  With pytest, the
``emulator`` and ``emulator_factory`` fixtures are available without any import.
"""

from linkedthreads.emulator import Emulator, EmulatorSettings, control_request

__all__ = ["Emulator", "EmulatorSettings", "control_request"]
