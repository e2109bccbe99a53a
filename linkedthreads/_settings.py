"""Tunable settings of an index (client side); none changes the stored format."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._retry import RetryPolicy

__all__ = ["IndexSettings"]


@dataclass(frozen=True)
class IndexSettings:
    """How an index instance behaves. Every field is optional; defaults suit OpenAI.

    - ``compact_every``: journal entries after the base checkpoint that make a writer
      compact (a reader replays at most about this many entries, plus what came during
      compaction). Kept under 100 so one list request reads the whole tail.
    - ``read_concurrency``: page reads in flight at once in ``all()`` and scans.
    - ``write_concurrency``: object creates/deletes in flight at once in bulk calls.
    - ``bulk_batch``: children created or deleted by a bulk call before their records are
      appended; the crash window of bulk calls (docs/design.md, "Crashes").
    - ``max_record_chars``: the longest journal entry text written, a hard bound. A server
      that refuses shorter entries (400 ``string_above_max_length``) lowers it for the
      instance; a checkpoint that would be longer is carried in body objects
      (docs/design.md, 4.6).
    - ``max_overlay``: hidden plus conditional IDs (removals of paged IDs, re-adds) a
      checkpoint may carry before a compaction reads every page and rewrites those that
      changed. None (the default): one page's worth (``page_capacity``), at most a third
      of ``max_record_chars``: the most that keeps ``all()`` within ceil(N / d) + 2
      requests. Lower: ``len`` is exact sooner after removals, removals cost more.
    - ``commit_linger_seconds``: how long an append may wait for the records of calls of
      this instance that are still creating or deleting their objects, so that a burst of
      concurrent calls shares one append. A lone call never waits.
    - ``gc_grace_seconds``: how long a page stays after no checkpoint needs it, so that a
      slow reader or compactor of an older checkpoint can still finish. 0 collects at once:
      only for an index with one user at a time (tests, benchmarks).
    - ``page_cache_ids``: how many IDs' worth of pages (and directories) an instance keeps
      from those it wrote or read, so that a rebuild, ``len`` and ``in`` need not read them
      again (pages never change: docs/design.md, 7.5). About 34 bytes an ID; 0 turns it off.
      ``all()`` and ``verify`` always read.
    - ``record_counts``: when ``len`` had to read pages to count (after removals by
      processes that held no page), append one small record of what they hold, so that
      every other process counts with 1 request again (docs/design.md, 4.5). False: ``len``
      never writes. A server that refuses the append (a read-only key) turns it off for
      the instance; the count is never failed by it.
    - ``read_lag_seconds``: an upper bound on the server's read-after-write lag: how long
      after an object is created a read of it may still answer 404 (not on public record).
      ``verify`` forgets a child only when a read sent at least this long after a journal
      read that listed it answers 404, reading a child again once that time has passed
      rather than trust an earlier 404 (docs/design.md 8.4); ``create`` reads its new root
      back for at most this long. Raise it for a server that lags longer; 0 trusts every 404.
    - ``retry``: the retry policy of every request the library makes.
    - ``first_compaction_after``: journal entries this instance appends before it first
      considers compacting (at most ``compact_every``). None (the default): a random
      number from 1 to ``compact_every``, so that writers started together do not compact
      together. Fix it where request counts must not depend on the draw (tests, benchmarks).
    - ``max_page_ids``: write pages of at most about this many IDs of the backend's usual
      shape. None (the default): as many as an object's metadata holds (``page_capacity``).
      Small pages make page writes, rebuilds, directories and collection frequent with a
      few hundred IDs (tests, torture runs); the format is the same (pages say what they
      hold), so readers need nothing.
    """

    compact_every: int = 64
    read_concurrency: int = 8
    write_concurrency: int = 8
    bulk_batch: int = 100
    max_record_chars: int = 64_000
    max_overlay: int | None = None
    commit_linger_seconds: float = 0.5
    gc_grace_seconds: float = 300.0
    page_cache_ids: int = 250_000
    record_counts: bool = True
    read_lag_seconds: float = 2.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    first_compaction_after: int | None = None
    max_page_ids: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "compact_every",
            "read_concurrency",
            "write_concurrency",
            "bulk_batch",
            "max_overlay",
            "first_compaction_after",
            "max_page_ids",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"IndexSettings.{name} must be at least 1")
        if self.max_record_chars < 4_000:
            raise ValueError("IndexSettings.max_record_chars must be at least 4000")
        if self.compact_every > 99:
            raise ValueError("IndexSettings.compact_every must be at most 99")
        first = self.first_compaction_after
        if first is not None and first > self.compact_every:
            raise ValueError("IndexSettings.first_compaction_after must be at most compact_every")
        if self.commit_linger_seconds < 0:
            raise ValueError("IndexSettings.commit_linger_seconds must not be negative")
        if self.page_cache_ids < 0:
            raise ValueError("IndexSettings.page_cache_ids must not be negative")
        if self.gc_grace_seconds < 0:
            raise ValueError("IndexSettings.gc_grace_seconds must not be negative")
        if not 0 <= self.read_lag_seconds <= 600:
            raise ValueError("IndexSettings.read_lag_seconds must be between 0 and 600")
