"""The ``linkedthreads`` command line (typer + rich), built on the public API only.

    linkedthreads demo                 # no key, no network
    linkedthreads init --local         # then export LINKEDTHREADS_ROOT=...

``app`` is the typer application; ``main()`` is the console-script entry point.
docs/cli.md is generated from the commands' ``--help`` by scripts/gen_cli_docs.py.
"""

from __future__ import annotations

from . import _children, _demo, _envhelp, _index_cmds, _purge, _scopes, _serve, _web
from ._app import app
from ._errors import EXIT_AUTH, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

# The modules register their commands on import; this is their order in --help.
_COMMAND_MODULES = (_children, _demo, _envhelp, _index_cmds, _purge, _scopes, _serve, _web)
_ORDER = (
    "demo",
    "emulator",
    "init",
    "stats",
    "scopes",
    "destroy",
    "create",
    "add",
    "rm",
    "ls",
    "show",
    "purge",
    "export",
    "serve",
    "verify",
    "compact",
    "env",
)
app.registered_commands.sort(
    key=lambda c: _ORDER.index(c.name) if c.name in _ORDER else len(_ORDER)
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "app",
    "main",
]


def main() -> None:
    """Run the command line (the ``linkedthreads`` console script)."""
    app(prog_name="linkedthreads")
