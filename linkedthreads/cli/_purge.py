"""``purge``: delete many children at once, chosen by age and metadata.

Resumable by construction. Children are deleted in batches; the library deletes a batch's
objects, then records their removal with one atomic append. An interruption can therefore
leave only objects deleted but still listed (their record was never written). A rerun
reads every child again, finds those gone, and takes them out with the rest: running the
same command again always finishes the job, and the index is consistent in between.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import typer

from linkedthreads._objects import ChildDetails

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
from ._connection import index_session
from ._details import fetch_many
from ._output import Timer, echo, emit_json, kind, note, plural, progress, status
from ._parse import parse_duration, parse_pairs

BATCH = 100


def _matches(info: ChildDetails, cutoff: float | None, wanted: dict[str, str]) -> bool:
    if cutoff is not None and (info.created_at is None or info.created_at >= cutoff):
        return False
    return all(info.metadata.get(k) == v for k, v in wanted.items())


def _criteria(older_than: str | None, match: dict[str, str]) -> str:
    parts = []
    if older_than:
        parts.append(f"created more than {older_than} ago")
    if match:
        parts.append("with " + ", ".join(f"{k}={v}" for k, v in match.items()))
    return " and ".join(parts) if parts else "all"


@command("purge", panel=PANEL_CHILDREN)
def purge(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Only children created more than AGE ago: 30d, 12h, 90m, 2w.",
            show_default=False,
        ),
    ] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(
            "--match",
            metavar="KEY=VALUE",
            help="Only children whose metadata has KEY=VALUE (repeat: all must match).",
            show_default=False,
        ),
    ] = None,
    erase_items: Annotated[
        bool,
        typer.Option("--erase-items", help="Delete each child's messages/items first."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Only print what would be deleted (IDs on stdout)."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    json: JsonOption = False,
    root: RootOption = None,
    scope: ScopeOption = None,
    local: LocalOption = False,
    state_dir: StateDirOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete the children that match (all of them without --older-than / --match).

    Asks first (or pass --yes). Interrupted (Ctrl-C, a lost connection), it leaves the index
    consistent, and running the same command again finishes the job. Children whose object
    is already gone are taken out too (with a filter, which reads them). Cost: 1 read a child
    (with a filter), then 1 delete a child and 1 request a batch of 100.
    """
    age = parse_duration(older_than, "--older-than") if older_than is not None else None
    wanted = parse_pairs(match or [], "--match")
    cutoff = (datetime.now(timezone.utc) - age).timestamp() if age is not None else None
    timer = Timer()
    with index_session(root, scope=scope, local=local, state_dir=state_dir) as (session, index):
        with status("Reading the index"):
            ids = list(index.all())
        chosen: list[ChildDetails] = []
        gone: list[ChildDetails] = []
        reads = 0
        if cutoff is None and not wanted:  # everything goes: no need to read the children
            chosen = [ChildDetails(i) for i in ids]
        else:
            with progress(f"Reading {kind(index.backend, 2)}", len(ids)) as advance:
                for info in fetch_many(session.client, ids, on_each=advance):
                    reads += info.reads
                    if not info.exists:
                        gone.append(info)
                    elif _matches(info, cutoff, wanted):
                        chosen.append(info)
        targets = [i.id for i in chosen] + [i.id for i in gone]
        word = kind(index.backend, 2)
        summary = (
            f"{plural(len(chosen), 'child', 'children')} of {len(ids):,} match "
            f"({_criteria(older_than, wanted)})"
        )
        if gone:
            summary += (
                f"; {plural(len(gone), 'more is', 'more are')} already deleted and will "
                "be taken out"
            )
        report: dict[str, Any] = {
            "dry_run": dry_run,
            "listed": len(ids),
            "matched": len(chosen),
            "already_gone": len(gone),
            "deleted": 0,
            "ids": targets,
        }
        if dry_run:
            note(f"Dry run: {summary}.")
            if json:
                report["children"] = [
                    i.to_json(text=False) if i.created_at or not i.exists else {"id": i.id}
                    for i in chosen + gone
                ]
                emit_json(report)
            else:
                for child_id in targets:
                    echo(child_id)
            return
        if not targets:
            note(f"Nothing to delete: {summary}.")
            if json:
                emit_json(report)
            return
        note(f"{summary}.")
        confirm(f"Delete {plural(len(targets), kind(index.backend))}?", yes=yes, command="purge")
        done = 0
        try:
            with progress(f"Deleting {word}", len(targets)) as advance:
                for start in range(0, len(targets), BATCH):
                    batch = targets[start : start + BATCH]
                    index.delete_many(batch, erase_items=erase_items)
                    done += len(batch)
                    advance(len(batch))
        except BaseException:
            note(
                f"Stopped after {done:,} of {len(targets):,} (the batch under way may be "
                "deleted but still listed). Run the same command again to finish."
            )
            raise
        report["deleted"] = done
        note(
            f"Deleted {plural(done, kind(index.backend))} in {timer.elapsed:.1f} s "
            f"({plural(index.requests + reads, 'request')})."
        )
        if json:
            emit_json(report)
