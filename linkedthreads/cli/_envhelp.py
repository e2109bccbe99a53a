"""``env``: every environment variable the command reads, generated from the commands
themselves so that the list cannot go stale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup, TyperOption

from ._app import PANEL_HELP, JsonOption, command
from ._output import echo, emit_json, stdout_console, stdout_is_terminal

PREFIX = "LINKEDTHREADS"

SDK_VARIABLES: tuple[tuple[str, str], ...] = (
    ("OPENAI_API_KEY", "API key (read by the SDK; never printed)"),
    ("OPENAI_BASE_URL", "server URL, e.g. an emulator's http://127.0.0.1:PORT/v1"),
    ("OPENAI_ORG_ID", "organisation (read by the SDK; never printed)"),
    ("OPENAI_PROJECT_ID", "project (read by the SDK; never printed)"),
    ("AZURE_OPENAI_ENDPOINT", "if set, use Azure OpenAI (with the two below)"),
    ("AZURE_OPENAI_API_KEY", "Azure key (or AZURE_OPENAI_AD_TOKEN; never printed)"),
    ("OPENAI_API_VERSION", "Azure API version"),
    ("NO_COLOR", "if set, no colour"),
)


@dataclass
class EnvVar:
    name: str
    option: str
    help: str
    commands: list[str] = field(default_factory=list)


def option_variables(group: TyperGroup) -> list[EnvVar]:
    """The variable of every option of every command: its explicit ``envvar``, or
    ``LINKEDTHREADS_<COMMAND>_<OPTION>`` (click's ``auto_envvar_prefix``)."""
    found: dict[str, EnvVar] = {}
    ctx = typer.Context(group, info_name="linkedthreads", auto_envvar_prefix=PREFIX)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None:
            continue
        for param in cmd.params:
            if not isinstance(param, TyperOption) or not param.expose_value or param.hidden:
                continue
            if isinstance(param.envvar, str):
                var = param.envvar
            elif param.envvar:
                var = param.envvar[0]
            elif param.allow_from_autoenv and param.name:
                var = f"{PREFIX}_{name.upper().replace('-', '_')}_{param.name.upper()}"
            else:
                continue
            entry = found.setdefault(var, EnvVar(var, "/".join(param.opts), param.help or ""))
            entry.commands.append(name)
    return sorted(found.values(), key=lambda v: (len(v.commands) == 1, v.name))


def _commands_label(var: EnvVar, total: int) -> str:
    return "all" if len(var.commands) >= total else ", ".join(var.commands)


@command("env", panel=PANEL_HELP)
def env(ctx: typer.Context, json: JsonOption = False) -> None:
    """List every environment variable the command reads.

    Each option can be set as LINKEDTHREADS_<COMMAND>_<OPTION> (e.g. LINKEDTHREADS_LS_LIMIT);
    the connection options have short names shared by all commands. The command line wins
    over the environment.
    """
    group = ctx.find_root().command
    assert isinstance(group, TyperGroup)
    variables = option_variables(group)
    total = len(group.list_commands(ctx))
    if json:
        data: dict[str, Any] = {
            "sdk": [{"name": n, "help": h} for n, h in SDK_VARIABLES],
            "options": [
                {"name": v.name, "option": v.option, "commands": v.commands, "help": v.help}
                for v in variables
            ],
        }
        emit_json(data)
        return
    if not stdout_is_terminal():
        for n, h in SDK_VARIABLES:
            echo(f"{n}\t\t{h}")
        for v in variables:
            echo(f"{v.name}\t{v.option}\t{_commands_label(v, total)}")
        return
    console = stdout_console()
    sdk = Table(
        "Variable",
        "Meaning",
        title="Connection (the OpenAI SDK's own)",
        title_justify="left",
        header_style="bold",
    )
    for n, h in SDK_VARIABLES:
        sdk.add_row(n, h)
    console.print(sdk)
    table = Table(
        "Variable", "Option", "Commands", title="Options", title_justify="left", header_style="bold"
    )
    for v in variables:
        table.add_row(v.name, v.option, _commands_label(v, total))
    console.print(table)
