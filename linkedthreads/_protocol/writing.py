"""Writing: appending records (and the pending checkpoints) to the journal in entries within
the record limit, a checkpoint too long for one carried in body objects (docs/design.md
4.6), and the deletion of pages an appended checkpoint found due (7.3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from linkedthreads._errors import APIRequestError, IndexNotFoundError, LinkedThreadsError
from linkedthreads._journal import (
    Checkpoint,
    Record,
    checkpoint_text,
    dump_records,
    written_by_append,
)
from linkedthreads._spill import body_metadata, learned_limit
from linkedthreads._transport import NotFound

from .entries import group_entries, line_length, merge_records
from .flow import Flow, send, send_all
from .pages import state_placement
from .state import IndexState, PendingCheckpoint, entry_weight, index_gone


def flush(state: IndexState, records: list[Record]) -> Flow[None]:
    """Append ``records`` (and every pending checkpoint) in as few requests as possible.

    No entry is longer than the record limit (4.6): a checkpoint that would be is carried
    in body objects, a refusal for length teaches the limit and what is left is split
    again, and ``records`` never wait for a checkpoint that cannot be sent (it waits for
    the next append, or is retired there once too old: 7.3).

    ``IndexNotFoundError`` once this process destroys the index or met its tombstone (8.5)."""
    gate = state.gate
    if not gate.enter():
        yield from discard_written(state, state.take_pending())
        raise index_gone(state)
    try:
        yield from _append_records(state, records)
    finally:
        gate.leave()


def discard_written(state: IndexState, pending: Sequence[PendingCheckpoint]) -> Flow[None]:
    """Delete the pages of checkpoints that will never be appended (the index is gone), so
    they are not left behind. Best effort: a failure leaves an index orphan (8.2)."""
    written = sorted(p for planned in pending for p in planned.written)
    if written:
        yield from send_all([state.backend.delete(p) for p in written])


def _append_records(state: IndexState, records: list[Record]) -> Flow[None]:
    pending = state.take_pending()
    going: list[PendingCheckpoint] = []
    for planned in pending:
        grace = state.settings.gc_grace_seconds
        if grace == 0 or state.env.clock() - planned.read_at < grace / 2:
            going.append(planned)
        elif planned.written:  # too old to be safe (section 7.3): retire what it wrote
            now = state.env.clock()
            garbage = ((tuple(sorted(planned.written)), now),)
            retire = Checkpoint(upto=None, garbage=garbage, ascii=state.fell_back)
            going.append(PendingCheckpoint(retire, now, planned.written))
        # A dropped checkpoint deletes nothing: what it found due is still garbage in the
        # checkpoints it read, and the next compaction deletes it (once).
    going = yield from fit_checkpoints(state, going)
    sent: set[int] = set()
    lead = _checkpoint_records(going)  # kept: ``sent`` and ``owners`` go by identity
    owners = {id(r): p for p, r in lead}
    user = state_placement(state, merge_records(records))
    try:
        left = yield from append_records(state, [*(r for _, r in lead), *user], sent)
    except IndexNotFoundError:
        # The root is gone (8.5): a checkpoint not sent never will be; its pages go now.
        yield from discard_written(state, [p for i, p in owners.items() if i not in sent])
        raise
    except BaseException:
        # The checkpoint did not go out: keep it for the next append, so the pages it
        # wrote are not orphaned (it is dropped there if it has grown too old).
        state.put_back([p for i, p in owners.items() if i not in sent])
        raise
    if left:
        # The user's records are out; a checkpoint longer than the limit learned meanwhile
        # goes out alone, in body objects, or waits for the next append (upkeep never fails
        # the caller).
        retry = yield from fit_checkpoints(state, [owners.pop(id(r)) for r in left])
        again = _checkpoint_records(retry)
        owners.update((id(r), p) for p, r in again)
        try:
            left = yield from append_records(state, [r for _, r in again], sent)
        except LinkedThreadsError:
            left = [r for _, r in again if id(r) not in sent]
        state.put_back([owners[id(r)] for r in left])
    due = [page for i, p in owners.items() if i in sent for page in p.due]
    if due:
        yield from delete_garbage(state, due)


def _checkpoint_records(planned: list[PendingCheckpoint]) -> list[tuple[PendingCheckpoint, Record]]:
    return [(p, Record(op="ckpt", checkpoint=p.checkpoint)) for p in planned]


def fit_checkpoints(
    state: IndexState, planned: list[PendingCheckpoint]
) -> Flow[list[PendingCheckpoint]]:
    """Each checkpoint whose record is longer than the record limit, carried in body
    objects written now (4.6); one whose objects could not be written stays as it is (too
    long to send: it waits, and is retired once too old, 7.3)."""
    out = []
    for p in planned:
        ck = p.checkpoint
        if ck.body or line_length(Record(op="ckpt", checkpoint=ck)) <= state.record_limit:
            out.append(p)
            continue
        fields = body_metadata(checkpoint_text(ck))
        outcomes = yield from send_all([state.backend.create(md, {}) for md in fields])
        made = tuple(o.value.id for o in outcomes if o.error is None)
        if len(made) < len(fields):  # what was made is retired with it, if it never goes
            out.append(dataclasses.replace(p, written=p.written | set(made)))
            continue
        spilled = dataclasses.replace(ck, body=made)
        state.remember_body(spilled)
        out.append(dataclasses.replace(p, checkpoint=spilled, written=p.written | set(made)))
    return out


def append_records(state: IndexState, records: list[Record], sent: set[int]) -> Flow[list[Record]]:
    """Append ``records`` in order, in entries within the record limit; a refusal for length
    teaches the limit (4.6) and the records not yet sent are split again. Adds the ``id``
    of each record sent to ``sent``; returns the checkpoints too long to send at all."""
    queue = list(records)
    oversize: list[Record] = []
    per = state.backend.max_texts_per_append
    while queue:
        entries, too_long = group_entries(queue, state.record_limit)
        oversize.extend(too_long)
        queue = []
        for start in range(0, len(entries), per):
            request = state.env.nonce()
            batch = entries[start : start + per]
            texts = [dump_records(b, f"{request}.{i}") for i, b in enumerate(batch)]
            try:
                landed = written_by_append(request)
                yield from send(state.backend.append(state.root_id, texts, landed))
            except NotFound:
                raise IndexNotFoundError(f"index root {state.root_id!r} no longer exists") from None
            except APIRequestError as exc:
                if not learn_limit(state, exc, max(len(t) for t in texts)):
                    raise
                queue = [r for b in entries[start:] for r in b]
                break
            sent.update(id(r) for b in batch for r in b)
            state.count_appended(sum(map(entry_weight, batch)))
    return oversize


def learn_limit(state: IndexState, exc: APIRequestError, longest_sent: int) -> bool:
    """True when ``exc`` refused an entry for its length: the instance's record limit is
    then the server's, parsed from the refusal or half the longest text sent (4.6)."""
    if exc.status_code != 400:
        return False
    limit = learned_limit(str(exc), exc.code, longest_sent)
    if limit is None:
        return False
    state.learn_record_limit(limit)
    return True


def delete_garbage(state: IndexState, due: list[str]) -> Flow[None]:
    """Delete pages an appended checkpoint no longer lists as garbage (7.3). Upkeep: a failure
    does not fail the caller; the page goes back into this instance's next checkpoint."""
    outcomes = yield from send_all([state.backend.delete(p) for p in due])
    state.settle_deletes(
        {
            page: outcome.error is None or isinstance(outcome.error, NotFound)
            for page, outcome in zip(due, outcomes, strict=True)
        }
    )
