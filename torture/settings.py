"""What every run shares: the scale, the metadata tags of the harness, the public
error classes, and index settings that make compaction, collection and rebuilds frequent."""

from __future__ import annotations

import math
import os
from typing import Any

from linkedthreads import (
    IndexSettings,
    RetryPolicy,
)

SCALE = float(os.environ.get("LINKEDTHREADS_TORTURE_SCALE", "1") or "1")
OP_TAG = "torture_op"  # metadata key naming the create call that made an object
RAW_TAG = "torture_raw"  # metadata key of objects made with the raw SDK
INF = math.inf
INFLIGHT_SLACK_S = 1.5  # a killed worker's last request may still land this long after
PUBLIC_ERRORS = frozenset(
    {
        "APIRequestError",
        "BackendUnavailableError",
        "ConcurrentChangeError",
        "CorruptIndexError",
        "IndexNotFoundError",
        "InvalidIdError",
        "MetadataError",
        "NotAnIndexError",
        "UnsupportedFormatError",
    }
)


def scaled(n: float, minimum: int = 1) -> int:
    """``n`` times the torture scale (``LINKEDTHREADS_TORTURE_SCALE``), at least ``minimum``."""
    return max(minimum, round(n * SCALE))


GRACE_S = 4.0


def torture_settings(*, page_ids: int | None = None, **changes: Any) -> IndexSettings:
    """Settings that make compaction, collection and rebuilds happen all the time.

    compact_every=8 (a compaction every few appends), bulk_batch=4 (bulk calls span
    batches), max_overlay=24 (removals of paged IDs soon force a page rebuild),
    gc_grace_seconds=GRACE_S (retired pages are collected during the run: operations take
    well under half of it, see ``Report.max_op_s``), instant retries (12 attempts).
    """
    base: dict[str, Any] = {
        "compact_every": 8,
        "bulk_batch": 4,
        "max_overlay": 24,
        "read_concurrency": 4,
        "write_concurrency": 4,
        "gc_grace_seconds": GRACE_S,
        "retry": RetryPolicy.instant(attempts=12),
    }
    if page_ids:
        # Small pages (``max_page_ids``) make page writes, rebuilds, directories and
        # collection frequent with lists of a few hundred IDs; readers need nothing.
        base["max_page_ids"] = page_ids
    base.update(changes)
    return IndexSettings(**base)
