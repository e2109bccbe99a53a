"""What a reader learned from the journal (``View``)."""

from __future__ import annotations

from dataclasses import dataclass

from linkedthreads._journal import Checkpoint
from linkedthreads._overlay import JournalScan, Overlay


@dataclass
class View:
    """What a reader learned from the journal: the base, the tail, and their fold."""

    scan: JournalScan
    base: Checkpoint
    overlay: Overlay
    read_at: float
