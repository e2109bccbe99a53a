"""The public result types of ``stats()`` and ``verify()``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IndexStats:
    """The shape of an index as its journal tells it (``ThreadIndex.stats()``).

    ``children`` is None after removals of paged IDs (or adds of objects made elsewhere) by a
    process that held no page, until a read of every page has counted them (``len(index)``,
    which says what the pages hold for every reader: docs/design.md 4.4, 4.5, 7.4).
    """

    children: int | None
    pages: int
    directories: int
    page_slots: int
    unpaged: int
    waiting: int
    tail_entries: int
    checkpointed: bool


@dataclass
class VerifyReport:
    """What ``verify`` found (and, with ``repair=True``, mended)."""

    children: int = 0
    pages: int = 0
    tail_entries: int = 0
    dangling: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.dangling or self.duplicates or self.problems)
