"""``serve``: the children of an index in a local web page (linkedthreads.web)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import (
    PANEL_CHILDREN,
    DebugOption,
    LocalOption,
    RootOption,
    ScopeOption,
    StateDirOption,
    command,
)
from ._connection import connect, open_scope, require_root, root_of
from ._errors import CLIError, UsageProblem
from ._output import note
from ._parse import scope_label

if TYPE_CHECKING:
    from linkedthreads import ThreadIndex


@command("serve", panel=PANEL_CHILDREN)
def serve(
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0: a free one).")
    ] = 0,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on; other than loopback needs --allow-remote."
        ),
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --host other than loopback: anyone who can reach it and has the "
            "token may delete children (the key stays in this process).",
        ),
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="Another Host header name to answer (e.g. the machine's DNS name; "
            "repeat for more).",
            show_default=False,
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Show the index in a local web page until Ctrl-C: children newest first, a chat view,
    filters, delete, purge with a preview, health, export.

    Prints the page's URL (with its sign-in token) as the first line on stdout. Listens on
    127.0.0.1 unless told otherwise. Cost of the first screen: 2 requests, then 2 a row
    (concurrent).
    """
    try:
        from linkedthreads.web import LOOPBACK_HOSTS, create_app, is_loopback
        from linkedthreads.web import serve as serve_page
    except ImportError as exc:
        raise CLIError(
            f"the web page needs its extra: pip install 'linkedthreads[web]' ({exc})"
        ) from None
    from linkedthreads import ThreadIndex

    if not is_loopback(host) and not allow_remote:
        raise UsageProblem(
            f"--host {host} would let other machines reach the page: add --allow-remote to "
            "mean it (the token is still required)"
        )
    root_id = require_root(root)
    names = list(scope or ())
    hosts = list(LOOPBACK_HOSTS) + list(allowed_host or [])
    if not is_loopback(host):
        hosts += [host.strip("[]")]
        if host in ("0.0.0.0", "::"):
            hosts += [socket.gethostname(), socket.getfqdn()]
    roots: list[ThreadIndex] = []  # of scopes, closed at the end (the page closes a scope)

    def open_target() -> ThreadIndex:
        index = ThreadIndex.open(session.client, root_id)
        if not names:
            return index  # the page closes it
        roots.append(index)
        return open_scope(index, names)

    with connect(local=local, state_dir=state_dir) as session, _closed_at_end(roots):
        if names:
            first = open_target()
            first.latest(1)  # finds the scope (the page shows its root ID)
            if root_of(first) is None:
                raise CLIError(
                    f"scope {scope_label(names)} of index {root_id} was never written: "
                    "nothing to show (its first write makes it, e.g. 'linkedthreads create "
                    "--scope NAME')"
                )
        app = create_app(
            open_target,
            session.client,
            allowed_hosts=hosts,
            where=session.where,
        )

        def ready(url: str) -> None:
            signed = f"{url}?token={app.state.token}"
            sys.stdout.write(signed + "\n")
            sys.stdout.flush()
            what = f"scope {scope_label(names)} of index" if names else "index"
            note(f"Serving {what} {root_id} from {session.where}. Ctrl-C stops.")
            if open_browser:
                import webbrowser

                webbrowser.open(signed)

        try:
            serve_page(app, host=host, port=port, on_url=ready)
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    note("stopped")


@contextmanager
def _closed_at_end(indexes: list[ThreadIndex]) -> Iterator[None]:
    try:
        yield
    finally:
        for index in indexes:
            index.close()
