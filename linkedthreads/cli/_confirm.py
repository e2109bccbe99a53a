"""Asking before destroying: a prompt on a terminal, ``--yes`` otherwise."""

from __future__ import annotations

from collections.abc import Callable

import typer

from ._errors import CLIError, UsageProblem
from ._output import stdin_is_terminal


def confirm(question: str | Callable[[], str], *, yes: bool, command: str) -> None:
    """Return if the user agrees (or gave ``--yes``); otherwise raise :class:`CLIError`.

    ``question`` may be a function, called only when there is someone to ask. Without a
    terminal to ask on, ``--yes`` is required (exit 2 without it).
    """
    if yes:
        return
    if not stdin_is_terminal():
        raise UsageProblem(
            f"{command} asks for a confirmation and there is no terminal to ask on: pass --yes"
        )
    text = question if isinstance(question, str) else question()
    if not typer.confirm(text, default=False, err=True):
        raise CLIError("cancelled: nothing was changed")
