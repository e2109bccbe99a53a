"""The typer application: the root group, the options every command shares, and the
decorator that gives each command the same error handling.

The library (and so ``openai``) is imported inside the commands, not here, so that
``--help`` answers at once.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from typer.core import TyperGroup

from ._errors import EXIT_FAILURE, EXIT_USAGE, handle_errors, one_line
from ._output import print_error
from ._parse import scope_option

P = ParamSpec("P")

PANEL_INDEX = "Index"
PANEL_CHILDREN = "Children"
PANEL_MAINTENANCE = "Maintenance"
PANEL_LOCAL = "Try it locally"
PANEL_HELP = "Help"
PANEL_CONNECTION = "Connection"


def unwrap(text: str) -> str:
    """Help text with the line breaks inside paragraphs removed (rich help keeps them)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)


HELP = unwrap("""
    Keep the list of your OpenAI threads and conversations in the API itself: one root ID
    recovers everything.

    Start with [bold]linkedthreads demo[/] (no key, no network), then
    [bold]linkedthreads init --local[/].
""")

EPILOG = unwrap("""
    [bold]Connection:[/] the SDK's variables OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID,
    OPENAI_PROJECT_ID (Azure: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,
    OPENAI_API_VERSION); the index from --root or LINKEDTHREADS_ROOT. --local (or
    LINKEDTHREADS_LOCAL=1) works against a local emulator, with no key; its state stays in the
    user's app directory (or LINKEDTHREADS_STATE_DIR).

    [bold]Environment:[/] every option can be set as LINKEDTHREADS_<COMMAND>_<OPTION>, e.g.
    LINKEDTHREADS_LS_LIMIT=20; 'linkedthreads env' lists them all.

    [bold]Exit codes:[/] 0 success; 1 failure (or a declined confirmation); 2 bad usage;
    4 missing or refused credentials; 130 interrupted (the index stays consistent).
""")


class RootGroup(TyperGroup):
    """Typer's group with usage errors reported like every other error: ``error: ...``
    and a pointer to ``--help``, exit code 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = rv if isinstance(rv, int) else 0
        except typer.TyperException as exc:  # click's usage errors, as typer vendors them
            print_error(one_line(exc.format_message()))
            ctx = getattr(exc, "ctx", None)
            if exc.exit_code == EXIT_USAGE and ctx is not None:
                sys.stderr.write(f"See '{ctx.command_path} --help'.\n")
            code = exc.exit_code
        except typer.Abort:
            print_error("aborted")
            code = EXIT_FAILURE
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="linkedthreads",
    cls=RootGroup,
    help=HELP,
    epilog=EPILOG,
    rich_markup_mode="rich",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={
        "auto_envvar_prefix": "LINKEDTHREADS",
        "help_option_names": ["-h", "--help"],
    },
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("linkedthreads")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            number = "unknown"
        sys.stdout.write(f"linkedthreads {number}\n")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_version,
            is_eager=True,
            show_envvar=False,
            allow_from_autoenv=False,
        ),
    ] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        sys.stdout.write(ctx.get_help())
        raise typer.Exit()


def command(
    name: str, *, panel: str, **kwargs: Any
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Register a command; its errors become one line on stderr and an exit code.

    The command's ``debug`` parameter (``--debug``) adds the traceback.
    """

    def register(fn: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(fn)
        def run(*args: P.args, **kw: P.kwargs) -> None:
            with handle_errors(bool(kw.get("debug"))):
                fn(*args, **kw)

        app.command(name, rich_help_panel=panel, help=unwrap(fn.__doc__ or ""), **kwargs)(run)
        return fn

    return register


# -- options shared by the commands -------------------------------------------------------

RootOption = Annotated[
    str | None,
    typer.Option(
        "--root",
        "-r",
        envvar="LINKEDTHREADS_ROOT",
        metavar="ROOT_ID",
        help="The index: its root ID (printed by 'init').",
        rich_help_panel=PANEL_CONNECTION,
        show_default=False,
    ),
]
LocalOption = Annotated[
    bool,
    typer.Option(
        "--local",
        envvar="LINKEDTHREADS_LOCAL",
        help="Work against a local emulator whose state persists in the state directory: "
        "no key, no network.",
        rich_help_panel=PANEL_CONNECTION,
        show_default=False,
    ),
]
StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="LINKEDTHREADS_STATE_DIR",
        metavar="DIR",
        help="Where --local keeps its state (local-state.json). Default: the user's app "
        "directory, e.g. ~/.config/linkedthreads.",
        rich_help_panel=PANEL_CONNECTION,
        show_default=False,
        file_okay=False,
    ),
]
DebugOption = Annotated[
    bool,
    typer.Option(
        "--debug",
        envvar="LINKEDTHREADS_DEBUG",
        help="On an error, print the traceback too.",
        rich_help_panel=PANEL_CONNECTION,
        show_default=False,
    ),
]
ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        envvar="LINKEDTHREADS_SCOPE",
        metavar="NAME",
        callback=scope_option,
        help="Work on the scope NAME of the index: a list of its own under the same root, made "
        "on its first write. Repeat for a scope within a scope, outermost first (--scope acme "
        "--scope user-42); in LINKEDTHREADS_SCOPE, one name as it is, or one a line.",
        rich_help_panel=PANEL_CONNECTION,
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print JSON on stdout (for scripts).", show_default=False),
]
