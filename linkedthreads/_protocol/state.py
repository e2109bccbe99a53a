"""The state of one open index (``IndexState``): where the index is, how it writes, what it
learned, when to compact; with the plain values it holds (``Resolution``,
``PendingCheckpoint``) and this process's write gate of each root (``WriteGate``, 8.5)."""

from __future__ import annotations

import dataclasses
import functools
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from linkedthreads._backends import Backend
from linkedthreads._codec import (
    ASCII,
    Alphabet,
    chunk_for_pages,
    encode_ids,
    page_bits,
    slot_capacity_bits,
)
from linkedthreads._errors import IndexNotFoundError
from linkedthreads._journal import SCOPE_OPS, Checkpoint, Record
from linkedthreads._overlay import JournalScan
from linkedthreads._page_cache import PageCache
from linkedthreads._settings import IndexSettings

from .constants import CHILD_TAG_PREFIX, TAG_KEY
from .environment import PROCESS, Environment


class WriteGate:
    """This process's appends to one index root (shared by every instance of that root): a
    ``destroy`` of this process, or a read that met the tombstone, closes it, and ``destroy``
    waits for the appends still in flight before it reads the journal (docs/design.md 8.5)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self.appending = 0
        self.finished = False  # a destroy of this process deleted the root

    def enter(self) -> bool:
        """An append begins, unless the gate is closed (then False: nothing may be sent)."""
        with self.lock:
            if self.closed:
                return False
            self.appending += 1
            return True

    def leave(self) -> None:
        """An append that ``enter`` let through is over (sent, or failed)."""
        with self.lock:
            self.appending -= 1

    def close(self) -> bool:
        """No append of this process goes out from now on; whether it was closed already."""
        with self.lock:
            was_closed, self.closed = self.closed, True
        return was_closed

    def reopen(self) -> None:
        """A destroy whose tombstone did not go out: appends may go on."""
        with self.lock:
            self.closed = False

    def finish(self) -> None:
        """This process's destroy deleted the root."""
        with self.lock:
            self.finished = True


_gates: weakref.WeakValueDictionary[str, WriteGate] = weakref.WeakValueDictionary()
_gates_lock = threading.Lock()


def write_gate(root_id: str, created: bool = False) -> WriteGate:
    """The gate of ``root_id`` in this process (kept while an instance of it lives); a root
    just ``created``, or one read again after this process's destroy deleted it, gets an open
    one: it is another object under a reused ID (an emulator's seeded IDs may repeat)."""
    with _gates_lock:
        gate = _gates.get(root_id)
        if gate is None or created or gate.finished:
            gate = _gates[root_id] = WriteGate()
        return gate


def index_gone(state: IndexState) -> IndexNotFoundError:
    return IndexNotFoundError(
        f"index root {state.root_id!r} no longer exists (or is being destroyed)"
    )


WEIGHT_IDS = 100
"""IDs an entry carries per unit of the compaction count (docs/design.md, 7.2): an entry of a
lone write or of a ``bulk_batch`` of 100 counts 1, an entry of 2,000 IDs counts 20, so that
the tail a reader folds (and holds) stays about ``compact_every`` x 100 IDs, whatever the
mix of lone and bulk writes."""


def entry_weight(records: Iterable[Record]) -> int:
    """What an entry counts toward ``compact_every``: 1 per ``WEIGHT_IDS`` IDs (a scope
    record counting as one, 4.8), at least 1."""
    return max(1, -(-sum(len(r.ids) + (r.op in SCOPE_OPS) for r in records) // WEIGHT_IDS))


def tail_weight(scan: JournalScan) -> int:
    """The tail's count toward ``compact_every`` (``entry_weight`` of each entry)."""
    return sum(entry_weight(e.records) for e in scan.tail)


@dataclass
class IndexState:
    """What one index instance knows: where the index is, how it writes, when to compact."""

    backend: Backend
    root_id: str
    alphabet: Alphabet
    settings: IndexSettings
    capacity: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[PendingCheckpoint] = field(default_factory=list)
    # Pages this instance found due whose delete failed (page -> retirement time): garbage
    # in each of its checkpoints until a delete succeeds.
    undeleted: dict[str, float] = field(default_factory=dict)
    # What this instance learned reading pages: which undecided IDs they hold (7.4).
    resolution: Resolution | None = None
    # The newest page list this instance learned (its key and pages): the one its add and rm
    # records state facts about when it holds every page (4.4).
    newest_page_list: tuple[str, tuple[str, ...]] | None = None
    # The server refused this instance's ``at`` record (a read-only key): reads stop sharing.
    sharing_refused: bool = False
    # Pages go out in ASCII for good: a dense page was altered or refused, here or by another
    # writer whose checkpoint said so (docs/design.md, 5.4).
    fell_back: bool = False
    compaction_countdown: int = 0
    # The longest entry the server was found to accept (4.6): the record limit is the lower
    # of this and ``max_record_chars``.
    learned_limit: int | None = None
    # Checkpoints read from body objects (immutable), by their body objects (4.6).
    bodies: dict[tuple[str, ...], Checkpoint] = field(default_factory=dict)
    # Contents of pages and directories this instance wrote or read (immutable: 7.5).
    cache: PageCache = field(init=False)
    # This process's appends to the root: closed by a destroy or the tombstone (8.5).
    gate: WriteGate = field(init=False)
    # Where the flows get the time, randomness and nonces (a test passes scripted ones).
    env: Environment = PROCESS
    created: dataclasses.InitVar[bool] = False  # the root was just created by this process

    def __post_init__(self, created: bool) -> None:
        self.gate = write_gate(self.root_id, created)
        self.capacity = slot_capacity_bits(self.alphabet)
        if self.settings.max_page_ids is not None:
            small = page_bits(self._sample_id, self.settings.max_page_ids)
            self.capacity = min(self.capacity, small)
        self.cache = PageCache(self.settings.page_cache_ids)
        first = self.settings.first_compaction_after
        self.compaction_countdown = first or self.env.randint(1, self.settings.compact_every)

    @functools.cached_property
    def _sample_id(self) -> str:
        """An ID of the backend's usual shape (what the capacities are measured with)."""
        return self.backend.prefix + ("0" * 24 if self.backend.name == "threads" else "0" * 48)

    @functools.cached_property
    def page_capacity(self) -> int:
        return len(next(chunk_for_pages([self._sample_id] * 5000, self.capacity))[0])

    @property
    def record_limit(self) -> int:
        """The longest entry text this instance writes (4.6): ``max_record_chars``, or less
        once the server refused a shorter one."""
        learned = self.learned_limit
        limit = self.settings.max_record_chars
        return limit if learned is None else min(limit, learned)

    @functools.cached_property
    def _chars_per_id(self) -> float:
        return len(encode_ids([self._sample_id] * 100)) / 100

    @property
    def overlay_limit(self) -> int:
        """Hidden plus conditional IDs a checkpoint carries before a rebuild resolves them
        (docs/design.md, 7.2): ``max_overlay`` if set, else one page's worth, at most a
        third of a record."""
        if self.settings.max_overlay is not None:
            return self.settings.max_overlay
        fits = int(self.record_limit / 3 / self._chars_per_id)
        return max(1, min(self.page_capacity, fits))

    def child_metadata(self, user: Mapping[str, str]) -> dict[str, str]:
        return {**user, TAG_KEY: CHILD_TAG_PREFIX + self.root_id}

    def fall_back(self) -> None:
        """Write pages in ASCII from now on (5.4); what pages hold shrinks to fit."""
        with self.lock:
            if self.fell_back and self.alphabet is ASCII:
                return
            self.fell_back = True
            self.alphabet = ASCII
            self.capacity = min(self.capacity, slot_capacity_bits(ASCII))
            for name in ("page_capacity", "overlay_limit"):
                self.__dict__.pop(name, None)

    # Every change the flows make to this state goes through the methods below, under its
    # lock: a flow reads the state and asks for changes; it never writes a field itself.

    def take_pending(self) -> list[PendingCheckpoint]:
        """The checkpoints waiting for an append, now in the caller's hands."""
        with self.lock:
            pending, self.pending = self.pending, []
        return pending

    def add_pending(self, planned: PendingCheckpoint, *, restart_countdown: bool = False) -> None:
        """A computed checkpoint for the next append to carry; ``restart_countdown``: the
        tail was just folded, so the next compaction check is a whole cycle away (7.2)."""
        with self.lock:
            self.pending.append(planned)
            if restart_countdown:
                self.compaction_countdown = self.settings.compact_every

    def put_back(self, planned: Sequence[PendingCheckpoint]) -> None:
        """Checkpoints an append did not carry, first in line for the next one."""
        if planned:
            with self.lock:
                self.pending[:0] = planned

    def start_compaction_check(self) -> bool:
        """True when a compaction check is due (the countdown ran out and no checkpoint is
        pending); the countdown then starts again."""
        with self.lock:
            due = self.compaction_countdown <= 0 and not self.pending
            if due:
                self.compaction_countdown = self.settings.compact_every
        return due

    def check_again_soon(self) -> None:
        """A compaction check failed: the next write tries again."""
        with self.lock:
            self.compaction_countdown = 1

    def count_appended(self, weight: int) -> None:
        """Entries of this ``weight`` (``entry_weight``) were appended."""
        with self.lock:
            self.compaction_countdown -= weight

    def note_tail(self, weight: int) -> None:
        """A read found a tail of this ``weight``: check for compaction once the tail reaches
        ``compact_every``, whoever wrote it."""
        with self.lock:
            left = max(0, self.settings.compact_every - weight)
            self.compaction_countdown = min(self.compaction_countdown, left)

    def learn_resolution(self, resolution: Resolution, *, record_soon: bool) -> None:
        """What a read of every page of a list found (7.4), added to what is known of the same
        list; ``record_soon``: the next write records it in a checkpoint."""
        with self.lock:
            old = self.resolution
            if old is not None and old.pages == resolution.pages:
                resolution = dataclasses.replace(
                    resolution,
                    held=resolution.held | old.held,
                    absent=resolution.absent | old.absent,
                )
            self.resolution = resolution
            if record_soon:
                self.compaction_countdown = 0

    def know_page_list(self, key: str, pages: Sequence[str]) -> None:
        """The newest page list this instance learned (4.4)."""
        with self.lock:
            self.newest_page_list = (key, tuple(pages))

    def remember_body(self, checkpoint: Checkpoint, *, evict: bool = False) -> None:
        """A checkpoint loaded from (or written to) its body objects (4.6); ``evict``: keep
        at most 8, the oldest going first."""
        with self.lock:
            if evict and len(self.bodies) >= 8:
                self.bodies.pop(next(iter(self.bodies)))
            self.bodies[checkpoint.body] = checkpoint

    def refuse_sharing(self) -> None:
        """The server refused an ``at`` record (a read-only key): reads stop sharing."""
        with self.lock:
            self.sharing_refused = True

    def learn_record_limit(self, limit: int) -> None:
        """The server refused an entry for its length: entries stay within ``limit`` (4.6)."""
        with self.lock:
            self.learned_limit = min(limit, self.learned_limit or limit)

    def undeleted_pages(self) -> dict[str, float]:
        """Pages this instance found due whose delete failed, with their retirement time."""
        with self.lock:
            return dict(self.undeleted)

    def settle_deletes(self, deleted: Mapping[str, bool]) -> None:
        """Deletes of due pages are over: a page deleted (or gone) is forgotten, one that
        failed is garbage, already due, in this instance's next checkpoint (7.3)."""
        already_due = self.env.clock() - self.settings.gc_grace_seconds
        with self.lock:
            for page, ok in deleted.items():
                if ok:
                    self.undeleted.pop(page, None)
                else:
                    self.undeleted[page] = already_due


@dataclass(frozen=True)
class Resolution:
    """Facts about a list of pages (immutable, so facts for good): of the IDs a reader could
    not place, those the pages hold (once each) and those no page holds (docs/design.md 7.4)."""

    pages: tuple[str, ...]
    held: frozenset[str]
    absent: frozenset[str]
    dirs: tuple[str, ...] = ()  # the directories that listed ``pages``, if any (immutable too)


@dataclass(frozen=True)
class PendingCheckpoint:
    """A computed checkpoint waiting for an append to carry it (docs/design.md, 7.2-7.3).

    ``read_at`` is when its compactor read the journal (its age counts from then);
    ``written`` the pages and directories it created; ``due`` the retired pages it found due
    for deletion, deleted only once the checkpoint (which no longer lists them) is appended.
    """

    checkpoint: Checkpoint
    read_at: float
    written: frozenset[str]
    due: tuple[str, ...] = ()


def learn_codec(state: IndexState, checkpoints: Iterable[Checkpoint]) -> None:
    """A checkpoint in view says pages go out in ASCII (5.4): so do this instance's."""
    if not state.fell_back and any(ck.ascii for ck in checkpoints):
        state.fall_back()
