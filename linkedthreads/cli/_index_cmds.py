"""Commands on the index as a whole: init, stats, verify, compact, destroy."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.markup import escape

from linkedthreads._choices import BackendName, ProbedCodec

from ._app import (
    PANEL_INDEX,
    PANEL_MAINTENANCE,
    DebugOption,
    JsonOption,
    LocalOption,
    RootOption,
    ScopeOption,
    StateDirOption,
    command,
)
from ._confirm import confirm
from ._connection import connect, index_session, root_of
from ._errors import CLIError
from ._output import Timer, echo, emit_json, kind, note, plural, status
from ._parse import parse_pairs, scope_label


@command("init", panel=PANEL_INDEX)
def init(
    backend: Annotated[
        BackendName,
        typer.Option(
            "--backend",
            "-b",
            help="What the index lists (and is made of). OpenAI retired threads on 2026-08-26.",
        ),
    ] = "conversations",
    codec: Annotated[
        ProbedCodec,
        typer.Option(
            "--codec",
            help="auto: pack pages about 2.3x denser if the server keeps Unicode metadata "
            "intact; ascii: never.",
        ),
    ] = "auto",
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            "-m",
            metavar="KEY=VALUE",
            help="Metadata of the root (at most 13 keys).",
            show_default=False,
        ),
    ] = None,
    json: JsonOption = False,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Create a new, empty index and print its root ID: the one ID to keep.

    Cost: 2 requests.
    """
    from linkedthreads import CHILD_TAG_KEY, ThreadIndex

    md = parse_pairs(metadata or [], "--metadata", max_keys=13, reserved=CHILD_TAG_KEY)
    with connect(local=local, state_dir=state_dir) as session:
        index = ThreadIndex.create(
            session.client,
            backend=backend,
            metadata=md or None,
            codec=codec,
        )
        index.close()
    if json:
        emit_json(
            {
                "root_id": index.root_id,
                "backend": index.backend,
                "codec": index.codec,
                "local": local,
            }
        )
    else:
        echo(index.root_id)
    hint = f"export LINKEDTHREADS_ROOT={index.root_id}"
    if local:
        hint += " LINKEDTHREADS_LOCAL=1"
    note(
        f"Created an index of {index.backend} ({index.codec} codec) on {session.where}.\n"
        "Keep its root ID: it alone finds everything again. In this shell:\n"
        f"  [bold]{escape(hint)}[/]",
        markup=True,
    )


@command("stats", panel=PANEL_INDEX)
def stats(
    json: JsonOption = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Show the index (or a scope): children listed, backend, codec, page capacity, requests
    made.

    Cost: 2 requests (a read of every page once after removals of paged IDs).
    """
    timer = Timer()
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (session, index):
        children = len(index)
        data: dict[str, Any] = {
            "root_id": root_of(index),
            "scope": list(scope or []),
            "backend": index.backend,
            "codec": index.codec,
            "children": children,
            "page_capacity": index.page_capacity,
            "requests": index.requests,
            "seconds": round(timer.elapsed, 3),
            "local": session.local,
        }
    if json:
        emit_json(data)
        return
    rows = [
        *([("scope", scope_label(data["scope"]))] if data["scope"] else []),
        ("root", data["root_id"] or "none yet (a scope is made by its first write)"),
        ("backend", f"{data['backend']} (on {session.where})"),
        ("codec", data["codec"]),
        ("children", f"{children:,}"),
        ("page capacity", f"{data['page_capacity']:,} IDs a page"),
        ("requests", f"{data['requests']} for this command ({data['seconds']:.2f} s)"),
    ]
    for label, value in rows:
        echo(f"{label:<14} {value}")


@command("verify", panel=PANEL_MAINTENANCE)
def verify(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Take out dangling IDs (objects deleted elsewhere) and rewrite the pages.",
        ),
    ] = False,
    json: JsonOption = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Check the index: every page readable, no duplicates, every child still exists.

    Exit code 1 if problems remain. Cost: 1 read a page and 1 a child.
    """
    with (
        index_session(root, scope=scope, local=local, state_dir=state_dir) as (_, index),
        status("Verifying (reads every child)"),
    ):
        report = index.verify(repair=repair)
    data: dict[str, Any] = {"ok": report.ok, **dataclasses.asdict(report)}
    if json:
        emit_json(data)
    else:
        for name, value in data.items():
            if name in ("ok", "repaired", "problems"):
                continue
            label = _LABELS.get(name, name.replace("_", " "))
            if isinstance(value, list):
                echo(f"{label:<14} {len(value)}" + _some(value))
            else:
                echo(f"{label:<14} {value}")
        for problem in report.problems:
            echo(f"{'problem':<14} {problem}")
        echo("ok" if report.ok else "repaired" if report.repaired else "problems found")
    if not report.ok and not report.repaired:
        raise CLIError("the index has problems: 'linkedthreads verify --repair' mends them")


_LABELS = {"tail_entries": "journal tail", "entries": "journal tail"}


def _some(ids: list[str]) -> str:
    if not ids:
        return ""
    return ": " + ", ".join(ids[:3]) + (" ..." if len(ids) > 3 else "")


@command("compact", panel=PANEL_MAINTENANCE)
def compact(
    full: Annotated[
        bool, typer.Option("--full", help="Also rewrite pages to drop removed IDs.")
    ] = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Write a checkpoint now, so readers replay less of the journal.

    Writers do this on their own from time to time; --full also reclaims the room of removed
    IDs. Cost: 2 requests + the pages written (+ every page read with --full).
    """
    timer = Timer()
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (_, index):
        with status("Compacting"):
            index.compact(full=full)
        note(
            f"Compacted{' (full)' if full else ''} in {timer.elapsed:.2f} s "
            f"({plural(index.requests, 'request')})."
        )


@command("destroy", panel=PANEL_INDEX)
def destroy(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    erase_items: Annotated[
        bool,
        typer.Option("--erase-items", help="Delete every child's messages/items first."),
    ] = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete every child, every index object and the root: nothing of the index remains.

    With --scope: only that scope (its children, its own scopes, its index objects and its
    entry in the index); the rest of the index stays. Asks first (or pass --yes).
    Interrupted, it can be run again to finish. Cost: 1 delete a child and an index object,
    plus a read of the journal (of each scope destroyed with it).
    """
    names = scope or []
    timer = Timer()
    with index_session(root, scope=names, local=local, state_dir=state_dir) as (_, index):
        what = f"scope {scope_label(names)} of index {root}" if names else f"index {root}"
        confirm(
            lambda: f"Destroy {what} and delete its {plural(len(index), kind(index.backend))}?",
            yes=yes,
            command="destroy",
        )
        with status("Destroying"):
            index.destroy(erase_items=erase_items)
        forget = "" if names else " Forget LINKEDTHREADS_ROOT."
        note(
            f"Destroyed {what} in {timer.elapsed:.1f} s "
            f"({plural(index.requests, 'request')}).{forget}"
        )
