"""``scopes``: the named lists under an index (or under one of its scopes)."""

from __future__ import annotations

from ._app import (
    PANEL_INDEX,
    DebugOption,
    JsonOption,
    LocalOption,
    RootOption,
    ScopeOption,
    StateDirOption,
    command,
)
from ._connection import index_session
from ._output import Timer, echo, emit_json, note, plural, printable, status


@command("scopes", panel=PANEL_INDEX)
def scopes(
    json: JsonOption = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """List the scopes of the index (with --scope: the scopes within that scope).

    A scope is a list of its own under the same root, e.g. one per end user: pass its name
    with --scope to any command. Prints one scope a line: its name, a tab, its root ID.
    Cost: about 3 requests + 1 a page of scope entries.
    """
    timer = Timer()
    with (
        index_session(root, scope=scope, local=local, state_dir=state_dir) as (_, index),
        status("Reading the scopes"),
    ):
        found = list(index.scopes())
        requests = index.requests
    if json:
        emit_json([{"name": name, "root_id": root_id} for name, root_id in found])
    else:
        for name, root_id in found:
            echo(f"{printable(name)}\t{root_id}")
    note(f"{plural(len(found), 'scope')} in {timer.elapsed:.2f} s ({plural(requests, 'request')}).")
