"""Testing aids for users of linkedthreads: a local OpenAI emulator.

    from linkedthreads.testing import Emulator

    with Emulator(seed=1) as emu:
        client = emu.client()

Needs the ``emulator`` extra (``pip install 'linkedthreads[emulator]'``).  With pytest, the
``emulator`` and ``emulator_factory`` fixtures are available without any import.
"""

from linkedthreads.emulator import Emulator, EmulatorSettings

__all__ = ["Emulator", "EmulatorSettings"]
