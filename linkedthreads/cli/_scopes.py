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
    with --scope to any command. Prints one scope a line as they are read: its name, a tab,
    its root ID. Cost: 2 requests (the root, its journal) + 1 a bucket of the directory
    (some 400 scopes a bucket; none below about 270 scopes).
    """
    timer = Timer()
    found = 0
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (_, index):
        if json:
            with status("Reading the scopes"):
                pairs = [{"name": name, "root_id": root_id} for name, root_id in index.scopes()]
            emit_json(pairs)
            found = len(pairs)
        else:
            for name, root_id in index.scopes():
                echo(f"{printable(name)}\t{root_id}")
                found += 1
        requests = index.requests
    note(f"{plural(found, 'scope')} in {timer.elapsed:.2f} s ({plural(requests, 'request')}).")
