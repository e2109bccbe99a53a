"""Commands on the children of an index: create, add, rm, ls, show, export.

Over 500 lines because it is six commands with their typer options and help texts, which
share the option types and the output helpers defined here."""

from __future__ import annotations

import csv
import itertools
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import typer
from rich.table import Table
from rich.text import Text

from linkedthreads._objects import (
    ChildDetails,
    index_of,
    iso_time,
    metadata_of,
    role_of,
    text_of,
    user_metadata,
)

from ._app import (
    PANEL_CHILDREN,
    DebugOption,
    JsonOption,
    LocalOption,
    RootOption,
    ScopeOption,
    StateDirOption,
    command,
)
from ._confirm import confirm
from ._connection import connect, index_session, require_root, root_of
from ._details import backend_of, fetch_many, iter_entries, retrieve
from ._errors import CLIError, UsageProblem
from ._output import (
    Timer,
    echo,
    emit_json,
    format_metadata,
    kind,
    local_time,
    note,
    plural,
    progress,
    shorten,
    status,
    stdout_console,
    stdout_is_terminal,
)
from ._parse import (
    ID_PREFIXES,
    backend_of_root,
    check_id,
    parse_pairs,
    parse_when,
    read_ids,
    shown,
)

BATCH = 100  # children per library call in bulk commands: the unit of progress and of Ctrl-C
MAX_CREATE = 1_000_000  # children one 'create' makes at most
ASK_ABOVE = 1_000  # 'create' asks first (or wants --yes) above this many
MAX_LIMIT = 1_000_000_000  # --limit at most (more than any index holds)

MetadataOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metadata",
        "-m",
        metavar="KEY=VALUE",
        help="Metadata of each new child (repeat for more keys; at most 15).",
        show_default=False,
    ),
]
IdsArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="ID", help="Child IDs.", show_default=False),
]


def _from_option(command_name: str) -> Any:
    return typer.Option(
        "--from",
        metavar="FILE",
        envvar=f"LINKEDTHREADS_{command_name.upper()}_FROM",
        help="Also read IDs from FILE, one a line ('-': stdin; an 'export --format csv' "
        "file works).",
        show_default=False,
    )


def check_kind(root: str, ids: list[str]) -> None:
    """Every ID of the kind the index (named by its root) lists: a usage error otherwise,
    before any request."""
    backend = backend_of_root(root)
    prefix = next(p for p, b in ID_PREFIXES.items() if b == backend)
    wrong = [i for i in ids if not i.startswith(prefix)]
    if wrong:
        raise UsageProblem(
            f"{shown(wrong[0])} is not a {kind(backend)} ID "
            f"({prefix}...): this index lists {backend}"
        )


def _listing(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _batches(ids: list[str], size: int = BATCH) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def child_json(child: Any) -> dict[str, Any]:
    """An SDK object as ``ls --long --json`` shows a child."""
    info = ChildDetails(child.id, created_at=child.created_at, metadata=metadata_of(child))
    return info.to_json(text=False)


# -- create -----------------------------------------------------------------------------------


@command("create", panel=PANEL_CHILDREN)
def create(
    metadata: MetadataOption = None,
    count: Annotated[
        int,
        typer.Option(
            "--count",
            "-n",
            min=1,
            max=MAX_CREATE,
            help=f"How many children to create (more than {ASK_ABOVE:,} asks first).",
        ),
    ] = 1,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help=f"Do not ask (above {ASK_ABOVE:,}).")
    ] = False,
    json: JsonOption = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Create children (threads or conversations) and list them in the index.

    Prints the new IDs, one a line. Cost: about 1.01 requests a child (2 for a lone one).
    """
    from linkedthreads import CHILD_TAG_KEY

    md = parse_pairs(metadata or [], "--metadata", max_keys=15, reserved=CHILD_TAG_KEY)
    if count > ASK_ABOVE:
        root_id = require_root(root)
        confirm(
            f"Create {count:,} {kind(backend_of_root(root_id), count)} in index {root_id}?",
            yes=yes,
            command=f"create --count {count:,}",
        )
    timer = Timer()
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (_, index):
        made: list[Any] = []
        with progress(f"Creating {kind(index.backend, count)}", count) as advance:
            while len(made) < count:
                n = min(BATCH, count - len(made))
                if count == 1:
                    batch = [index.create_child(metadata=md or None)]
                else:
                    batch = index.create_children(n, metadata=md or None)
                made.extend(batch)
                if not json:
                    for child in batch:
                        echo(child.id)
                advance(len(batch))
        if json:
            emit_json([child_json(c) for c in made])
        note(
            f"Created {plural(len(made), kind(index.backend))} in {timer.elapsed:.1f} s "
            f"({plural(index.requests, 'request')})."
        )


# -- add ----------------------------------------------------------------------------------------


@command("add", panel=PANEL_CHILDREN)
def add(
    ids: IdsArgument = None,
    source: Annotated[str | None, _from_option("add")] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="First make sure every object exists (1 request an ID, concurrent).",
        ),
    ] = True,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """List objects created elsewhere (IDs as arguments, or --from FILE).

    An ID already listed stays as it is. Cost: 1 request for 2,000 IDs (100 on a threads
    index), plus the check.
    """
    wanted = list(dict.fromkeys(read_ids(ids or [], source)))
    if not wanted:
        raise UsageProblem("no IDs: give them as arguments or with --from FILE")
    check_kind(require_root(root), wanted)
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (session, index):
        if check:
            missing: list[str] = []
            with progress("Checking the objects exist", len(wanted)) as advance:
                for info in fetch_many(session.client, wanted, on_each=advance):
                    if not info.exists:
                        missing.append(info.id)
            if missing:
                raise CLIError(
                    f"no {kind(index.backend)} on {session.where} for "
                    f"{plural(len(missing), 'ID')}: {_listing(missing)} (nothing was added; "
                    "--no-check adds them anyway)"
                )
        index.add_many(wanted)
        note(f"Added {plural(len(wanted), kind(index.backend))} to the index.")


# -- rm -----------------------------------------------------------------------------------------


@command("rm", panel=PANEL_CHILDREN)
def rm(
    ids: IdsArgument = None,
    source: Annotated[str | None, _from_option("rm")] = None,
    keep_object: Annotated[
        bool,
        typer.Option("--keep-object", help="Only take the IDs out of the index; the objects stay."),
    ] = False,
    erase_items: Annotated[
        bool,
        typer.Option(
            "--erase-items",
            help="Delete each object's messages/items first (deleting a conversation keeps "
            "its items otherwise).",
        ),
    ] = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete children and take them out of the index.

    Only IDs the index lists are accepted (an object deleted elsewhere is just taken out).
    Cost: a read of the index, then 1 delete a child and 1 request a batch of 100.
    """
    if keep_object and erase_items:
        raise UsageProblem("--keep-object and --erase-items exclude each other")
    wanted = list(dict.fromkeys(read_ids(ids or [], source)))
    if not wanted:
        raise UsageProblem("no IDs: give them as arguments or with --from FILE")
    check_kind(require_root(root), wanted)
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (_, index):
        with status("Reading the index"):
            listed = set(index.all())
        unlisted = [i for i in wanted if i not in listed]
        if unlisted:
            raise CLIError(f"not in this index: {_listing(unlisted)} (nothing was removed)")
        done = 0
        verb = "Removing" if keep_object else "Deleting"
        try:
            with progress(f"{verb} {kind(index.backend, 2)}", len(wanted)) as advance:
                for batch in _batches(wanted):
                    if keep_object:
                        index.remove_many(batch)
                    else:
                        index.delete_many(batch, erase_items=erase_items)
                    done += len(batch)
                    advance(len(batch))
        except KeyboardInterrupt:
            note(f"{done} of {len(wanted)} done before the interruption; run it again to finish.")
            raise
        what = plural(done, kind(index.backend))
        if keep_object:
            note(f"Took {what} out of the index; the objects remain.")
        else:
            note(f"Deleted {what} and took them out of the index.")


# -- ls -----------------------------------------------------------------------------------------


def _details_table(rows: list[ChildDetails], backend: str) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True, style="cyan")
    table.add_column("Created", no_wrap=True)
    table.add_column("Metadata", overflow="fold", max_width=40)
    table.add_column(
        "First message" if backend == "threads" else "First item",
        overflow="ellipsis",
        no_wrap=True,
        ratio=1,
    )
    for info in rows:
        if not info.exists:
            table.add_row(info.id, Text("deleted", style="red"), "", "")
            continue
        first = "" if info.first_text is None else shorten(info.first_text, 200)
        table.add_row(
            info.id,
            local_time(info.created_at),
            Text(format_metadata(info.user_metadata)),
            Text(first, style="dim"),
        )
    return table


def _tsv_row(info: ChildDetails) -> str:
    if not info.exists:
        return f"{info.id}\tdeleted\t\t"
    first = "" if info.first_text is None else shorten(info.first_text, 200)
    return "\t".join(
        [
            info.id,
            iso_time(info.created_at) or "",
            format_metadata(info.user_metadata),
            first.replace("\t", " "),
        ]
    )


@command("ls", panel=PANEL_CHILDREN)
def ls(
    long: Annotated[
        bool,
        typer.Option(
            "--long",
            "-l",
            help="Add creation time, metadata and the first message/item (read concurrently: "
            "2 requests a child).",
        ),
    ] = False,
    json: JsonOption = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, max=MAX_LIMIT, help="Stop after N children.", show_default=False
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            parser=parse_when,
            help="Only children created since WHEN: a date (2026-01-31), a date-time, or an "
            "age (7d, 12h). Reads every child (1 request each).",
            show_default=False,
        ),
    ] = None,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """List the children, in the order they were added.

    Plain: one ID a line. --long: a table on a terminal, tab-separated columns otherwise.
    Cost: 1 request + 1 a page of about 300-900 IDs (+ the reads of --long / --since).
    """
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (session, index):
        if not long and since is None:
            ids = itertools.islice(index.all(), limit)
            if json:
                emit_json([{"id": i} for i in ids])
            else:
                for child_id in ids:
                    echo(child_id)
            return
        cutoff = since.timestamp() if since is not None else None
        rows: list[ChildDetails] = []
        with status("Reading the index"):
            all_ids = list(index.all())
        with progress(f"Reading {kind(index.backend, 2)}", len(all_ids)) as advance:
            for info in fetch_many(session.client, all_ids, first_text=long, on_each=advance):
                if cutoff is not None and (info.created_at is None or info.created_at < cutoff):
                    continue
                rows.append(info)
                if limit is not None and len(rows) >= limit:
                    break
        if json:
            emit_json([r.to_json(text=True) if long else {"id": r.id} for r in rows])
        elif not long:
            for info in rows:
                echo(info.id)
        elif stdout_is_terminal():
            stdout_console().print(_details_table(rows, index.backend))
        else:
            for info in rows:
                echo(_tsv_row(info))


# -- show -----------------------------------------------------------------------------------------


def _show_text(obj: Any, entries: list[Any]) -> None:
    console = stdout_console(soft_wrap=True)
    head = Text(obj.id, style="bold cyan")
    head.append(f"  {kind(backend_of(obj.id))}, created {local_time(obj.created_at)}", style="dim")
    console.print(head)
    metadata = metadata_of(obj)
    if user_metadata(metadata):
        console.print(Text(f"metadata: {format_metadata(user_metadata(metadata))}", style="dim"))
    if index_of(metadata):
        console.print(Text(f"listed in index {index_of(metadata)}", style="dim"))
    if not entries:
        console.print(Text("(no messages)", style="dim"))
    for entry in entries:
        console.print()
        label = Text(role_of(entry), style="bold magenta")
        created = getattr(entry, "created_at", None)
        if isinstance(created, int):
            label.append(f"  {local_time(created)}", style="dim")
        console.print(label)
        console.print(Text("\n".join("  " + line for line in text_of(entry).splitlines())))


@command("show", panel=PANEL_CHILDREN)
def show(
    child_id: Annotated[str, typer.Argument(metavar="ID", help="A thread or conversation ID.")],
    json: JsonOption = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, max=MAX_LIMIT, help="Show the first N only.", show_default=False
        ),
    ] = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Show a child's messages (thread) or items (conversation), oldest first.

    Needs no index: any thread or conversation ID works. Cost: 1 request + 1 a page of 100.
    """
    import openai

    child_id = check_id(child_id.strip())
    with connect(local=local, state_dir=state_dir) as session:
        try:
            obj = retrieve(session.client, child_id)
            entries = list(itertools.islice(iter_entries(session.client, child_id), limit))
        except openai.NotFoundError:
            raise CLIError(
                f"no {kind(backend_of(child_id))} {child_id!r} on {session.where}"
            ) from None
        if json:
            emit_json(
                {
                    "id": obj.id,
                    "created_at": iso_time(obj.created_at),
                    "metadata": user_metadata(metadata_of(obj)),
                    "index": index_of(metadata_of(obj)),
                    "entries": [e.model_dump(mode="json") for e in entries],
                }
            )
        else:
            _show_text(obj, entries)


# -- export ---------------------------------------------------------------------------------------


@command("export", panel=PANEL_CHILDREN)
def export(
    format: Annotated[
        Literal["json", "csv"],
        typer.Option(
            "--format",
            "-f",
            help="json: one document with the index and its children; csv: one row a child.",
        ),
    ] = "json",
    json: Annotated[
        bool, typer.Option("--json", help="The same as --format json.", show_default=False)
    ] = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Write every child with its creation time and metadata to stdout.

    Cost: a read of the index + 1 request a child (concurrent).
    """
    if json and format == "csv":
        raise UsageProblem("--json and --format csv exclude each other")
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (session, index):
        with status("Reading the index"):
            ids = list(index.all())
        with progress(f"Reading {kind(index.backend, 2)}", len(ids)) as advance:
            rows = [r.to_json(text=False) for r in fetch_many(session.client, ids, on_each=advance)]
        if format == "csv" and not json:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(["id", "exists", "created_at", "metadata"])
            import json as json_module

            for row in rows:
                writer.writerow(
                    [
                        row["id"],
                        str(row["exists"]).lower(),
                        row["created_at"] or "",
                        json_module.dumps(row["metadata"], ensure_ascii=False)
                        if row["metadata"]
                        else "",
                    ]
                )
            return
        emit_json(
            {
                "root_id": root_of(index),
                "scope": list(scope or []),
                "backend": index.backend,
                "codec": index.codec,
                "exported_at": iso_time(datetime.now().timestamp()),
                "count": len(rows),
                "children": rows,
            }
        )
