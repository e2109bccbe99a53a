"""``emulator``: the local OpenAI emulator in the foreground, until Ctrl-C."""

from __future__ import annotations

import io
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from ._app import PANEL_LOCAL, DebugOption, command
from ._errors import CLIError, UsageProblem
from ._output import note
from ._parse import shown


class _FirstLine(io.StringIO):
    """Passes writes to stdout and, once, shows how to use the URL written first."""

    def __init__(self) -> None:
        super().__init__()
        self._told = False
        self._seen = ""

    def write(self, text: str) -> int:
        sys.stdout.write(text)
        sys.stdout.flush()
        if not self._told:
            self._seen += text
        if not self._told and "\n" in self._seen:
            self._told = True
            url = self._seen.split("\n", 1)[0].strip()
            note(
                "The emulator is serving; point the SDK (or this command line) at it:\n"
                f"  [bold]export OPENAI_BASE_URL={url} OPENAI_API_KEY=anything[/]\n"
                "Ctrl-C stops it.",
                markup=True,
            )
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


@command("emulator", panel=PANEL_LOCAL)
def emulator(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0: a free one).")
    ] = 0,
    latency_ms: Annotated[
        float,
        typer.Option("--latency-ms", min=0.0, max=600_000.0, help="Delay added to each request."),
    ] = 0.0,
    fault_rate: Annotated[
        float,
        typer.Option(
            "--fault-rate",
            min=0.0,
            max=1.0,
            help="Share of requests that fail before being applied (429, 500, 503, or a "
            "dropped connection).",
        ),
    ] = 0.0,
    lost_response_rate: Annotated[
        float,
        typer.Option(
            "--lost-response-rate",
            min=0.0,
            max=1.0,
            help="Share of writes applied whose answer is then lost (the client sees a "
            "connection error).",
        ),
    ] = 0.0,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of IDs and faults (reproducible runs).", show_default=False
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            metavar="FILE",
            dir_okay=False,
            help="Keep the state in FILE across restarts (loaded at start, saved after writes).",
            show_default=False,
        ),
    ] = None,
    control_key: Annotated[
        str | None,
        typer.Option(
            "--control-key",
            metavar="KEY",
            help="Require 'Authorization: Bearer KEY' on the control routes (/_emulator/*: "
            "counters, live IDs, reset). Better set in the environment than on the command "
            "line.",
            show_default=False,
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Run the local OpenAI emulator (threads and conversations) until Ctrl-C.

    Prints its base URL (http://HOST:PORT/v1) as the first line on stdout. Listens on
    127.0.0.1 unless --host says otherwise (with a warning: other machines can then reach
    it). Its control routes refuse requests from web pages.
    """
    try:
        from linkedthreads.emulator import EmulatorSettings, serve
    except ImportError as exc:
        raise CLIError(
            f"the emulator needs its extra: pip install 'linkedthreads[cli]' ({exc})"
        ) from None
    try:
        settings = EmulatorSettings(
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            lost_response_rate=lost_response_rate,
            seed=seed,
            control_key=control_key or None,
        )
    except ValueError as exc:  # NaN passes click's ranges; the settings refuse it
        raise UsageProblem(str(exc)) from None
    try:
        serve(host, port, settings, state, out=_FirstLine())
    except KeyboardInterrupt:
        pass
    except ValueError as exc:  # the state file: the emulator names it and what is wrong
        raise UsageProblem(f"--state: {exc}") from None
    except OSError as exc:
        if isinstance(exc, socket.gaierror):
            raise UsageProblem(f"--host: cannot resolve {shown(host)} ({exc.strerror})") from None
        if exc.filename is None:
            raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        raise
    note("emulator stopped")
