"""The journal as the checker reads it (with the library's pure parser): checkpoints, and
the pages and directories they name, to tell index pages from orphans; the ``scope``
records of a parent, to tell the roots of scopes (won and lost) apart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai

from .objects import read_journal_texts, retrieve_metadata


def records(client: openai.OpenAI, backend: str, root_id: str) -> Iterator[tuple[str, Any]]:
    """Every record of the journal, oldest first: (entry ID, record)."""
    from linkedthreads._journal import parse_entry

    for entry_id, text in read_journal_texts(client, backend, root_id):
        for record in parse_entry(entry_id, text).records:
            yield entry_id, record


def checkpoints(client: openai.OpenAI, backend: str, root_id: str) -> list[tuple[str, Any]]:
    """Every checkpoint record of the journal, oldest first: (entry ID, Checkpoint)."""
    return [
        (e, r.checkpoint) for e, r in records(client, backend, root_id) if r.checkpoint is not None
    ]


def scope_records(client: openai.OpenAI, backend: str, parent: str) -> list[tuple[str, str]]:
    """Every ``scope`` record of a parent's journal, oldest first: (name, root ID)."""
    return [
        (str(getattr(record, "name", "")), str(getattr(record, "target", "")))
        for _, record in records(client, backend, parent)
        if record.op == "scope"
    ]


def referenced_index_objects(client: openai.OpenAI, backend: str, root_id: str) -> set[str]:
    """Pages and directories that any checkpoint of the journal names (live or retired)."""
    from linkedthreads._codec import bits_to_ids, decode_slots
    from linkedthreads._journal import parse_entry

    refs: set[str] = set()
    dirs: set[str] = set()
    for entry_id, text in read_journal_texts(client, backend, root_id):
        for record in parse_entry(entry_id, text).records:
            ck = record.checkpoint
            if ck is None:
                continue
            refs |= ck.referenced()
            ck = loaded_checkpoint(client, backend, ck)
            refs |= ck.referenced()
            dirs |= set(ck.dirs)
            for ids, _ in ck.garbage:
                refs.update(ids)
    for d in dirs:
        md = retrieve_metadata(client, backend, d)
        if md is not None:
            refs.update(bits_to_ids(*decode_slots(md)))
    return refs


def loaded_checkpoint(client: openai.OpenAI, backend: str, ck: Any) -> Any:
    """A checkpoint carried in body objects (design 4.6), read from them (as it is if they
    are gone: collected)."""
    from linkedthreads._journal import parse_checkpoint_text
    from linkedthreads._spill import body_text

    if ck.loaded:
        return ck
    bodies = [retrieve_metadata(client, backend, b) for b in ck.body]
    if any(md is None for md in bodies):
        return ck
    return parse_checkpoint_text(ck, body_text(bodies), "checkpoint body")  # type: ignore[arg-type]


def is_index_object(metadata: dict[str, str]) -> bool:
    """A page or directory: only slot keys (A-P or a-p marks), no tags."""
    return bool(metadata) and all(
        k[:1] in "ABCDEFGHIJKLMNOPabcdefghijklmnop" and k != "linkedthreads" for k in metadata
    )
