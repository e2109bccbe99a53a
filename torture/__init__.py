"""The torture harness: worker processes, their operation logs, and the history checker.

Used by the reliability tests (``tests/reliability/``) and run on its own with
``python -m torture`` (``--help``; CONTRIBUTING.md). Nothing here is part of the library
(nor installed with it); it drives the public API (and reads the journal with the library's
pure parser, to tell index pages from orphans).

Modules, one job each: ``settings`` (scale, tags, index settings), ``emulator`` (the server
and raw clients), ``objects`` (raw SDK calls through the library's SDK adapter),
``journal`` (checkpoints and the pages they name), ``worker`` (the worker processes),
``history`` (the logs and the per-ID history), ``checks`` (judging a run), ``runs`` (a
whole concurrent or crash run), ``scopes`` (a race of processes to make and write the same
new scopes: its workers and its run) and ``scope_checks`` (judging it: one scope per name,
each scope's list, the losing side of every race accounted for), ``configs`` (the standard
runs), ``report`` (what a run found, merged and tabled), ``model`` (the model-based state
machine), ``__main__`` (the command).

How a run works:

1. The parent starts an emulator, creates an index, seeds it (optionally) and creates raw
   objects for the workers to ``add``.
2. Worker processes (forked from a ``forkserver`` that preloaded the library, so a worker
   starts in milliseconds) open the index and run a seeded random mix of operations. Each
   operation is logged twice, one JSON line each, to the worker's own file: ``begin``
   (before the first request) and ``end`` (after the call returned or raised), with
   ``time.monotonic()`` stamps (one clock for every process on Linux).
3. The checker reads the logs and judges every observation (every ``all()`` and ``in``
   result, and the final list) against the history: a per-ID linearizability check, since
   the protocol's semantics make each ID an independent register ("listed iff the last
   record naming it is an add", docs/design.md 6.2). An acknowledged operation took effect
   somewhere inside its interval; a failed or interrupted one maybe did, inside its interval.
4. Objects alive in the emulator but known to nobody are orphans; each must be explained by
   the documented window (docs/design.md 8.2): a create call that did not record it.
5. A race for new scopes (``scopes``) runs the same way, its workers starting a round at
   one instant with a write into the round's new scope; each scope's list is judged against
   its own history, and the roots made by the losing side of each race must be accounted
   for too (docs/design.md 4.8 and 8.2).
"""
