"""The index protocol as I/O-free flows, shared by ``ThreadIndex`` and ``AsyncThreadIndex``.

A flow is a generator. It yields ``Batch`` (requests to send, concurrently, whose
``Outcome`` list it receives back) or ``Emit`` (IDs for the caller of a streaming operation),
and returns its result. The sync and async front ends only drive flows (as httpx drives an
``Auth.auth_flow``), so the protocol exists once. See docs/design.md for the protocol itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import random
import secrets
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._backends import Backend, Container, EntryText, Request
from ._codec import (
    ASCII,
    DENSE,
    DENSE_PROBE,
    KEY_PROBE,
    MAX_ID_LENGTH,
    Alphabet,
    bits_to_ids,
    chunk_for_pages,
    decode_slots,
    encode_ids,
    encode_slots,
    ids_to_bits,
    slot_capacity_bits,
)
from ._compaction import PlannedPage, Rebuilder, incremental_layout
from ._errors import (
    APIRequestError,
    BackendUnavailableError,
    ConcurrentChangeError,
    CorruptIndexError,
    IndexNotFoundError,
    InvalidIdError,
    LinkedThreadsError,
    MetadataError,
    NotAnIndexError,
    UnsupportedFormatError,
)
from ._journal import (
    PLACING_OPS,
    Checkpoint,
    Entry,
    Folder,
    JournalScan,
    Overlay,
    Record,
    checkpoint_text,
    dump_records,
    page_facts,
    page_list_key,
    parse_checkpoint_text,
    parse_entry,
    retirement_stamp,
)
from ._page_cache import PageCache, Probe
from ._settings import IndexSettings
from ._spill import body_metadata, body_text, learned_limit
from ._transport import NotFound, Outcome

T = TypeVar("T")

INDEX_FORMAT = 1
TAG_KEY = "linkedthreads"
ROOT_TAG = f"index/{INDEX_FORMAT}"
CODEC_KEY = "lt_codec"
PROBE_KEY = "lt_probe"  # the value-only probe of roots made before the key probe (5.3)
CHILD_TAG_PREFIX = "in:"
RESERVED_KEYS = frozenset({TAG_KEY, CODEC_KEY, PROBE_KEY, KEY_PROBE})
NONCE_MEMORY = 128  # entry nonces a checkpoint remembers (docs/design.md, section 8.3)
END_OP = "end"  # the tombstone a destroy appends first (docs/design.md, 4.7 and 8.5)
DESTROY_ROUNDS = 100  # journal re-reads a destroy makes while other processes still append


@dataclass(frozen=True)
class Batch:
    """Requests to send concurrently; the flow receives one ``Outcome`` for each."""

    requests: Sequence[Request[Any]]


@dataclass(frozen=True)
class Emit:
    """IDs a streaming flow hands to its caller."""

    ids: Sequence[str]


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` before the flow goes on (``time.sleep`` or ``asyncio.sleep``): how a
    flow lets a lagging server catch up (docs/design.md 8.4)."""

    seconds: float


Step = Batch | Emit | Pause
Flow = Generator[Step, Any, T]


def send(request: Request[T]) -> Flow[T]:
    """One request; raises its error."""
    (outcome,) = yield Batch([request])
    return outcome.unwrap()  # type: ignore[no-any-return]


def send_all(requests: Sequence[Request[Any]]) -> Flow[list[Outcome]]:
    """Requests sent concurrently; their outcomes, in order."""
    if not requests:
        return []
    outcomes: list[Outcome] = yield Batch(requests)
    return outcomes


def first_error(
    outcomes: Iterable[Outcome], ignore_not_found: bool = False
) -> BaseException | None:
    for o in outcomes:
        if o.error is not None and not (ignore_not_found and isinstance(o.error, NotFound)):
            return o.error
    return None


class PageGone(ConcurrentChangeError, CorruptIndexError):
    """A page named by a checkpoint does not exist: collected by a concurrent compaction
    (start over) or deleted by hand (``verify(repair=True)``)."""

    def __init__(self, page_id: str) -> None:
        super().__init__(
            f"index page {page_id!r} is gone: a concurrent compaction collected it (try "
            "again), or it was deleted by hand (run verify(repair=True))"
        )
        self.page_id = page_id


def restarting(make: Callable[[], Flow[T]], attempts: int = 3) -> Flow[T]:
    """Run a reading flow again from a fresh view when a page it needed was collected."""
    for attempt in range(attempts):
        try:
            return (yield from make())
        except PageGone:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# -- validation ------------------------------------------------------------------------------


def validate_id(id_: object, prefix: str) -> str:
    """Check one child ID: a non-empty string of the backend's kind, without odd characters."""
    if not isinstance(id_, str):
        raise InvalidIdError(f"an ID must be a string, not {type(id_).__name__}")
    if not id_:
        raise InvalidIdError("an ID must not be empty")
    if len(id_) > MAX_ID_LENGTH:
        raise InvalidIdError(
            f"ID {id_[:40]!r}... is {len(id_)} characters long; at most {MAX_ID_LENGTH}"
        )
    if not id_.isprintable() or any(c.isspace() for c in id_):
        raise InvalidIdError(f"ID {id_[:80]!r} contains a space or a control character")
    if any(c in "/?#%" for c in id_):
        raise InvalidIdError(f"ID {id_[:80]!r} contains a character of URLs (/ ? # %)")
    if not id_.startswith(prefix) or len(id_) == len(prefix):
        raise InvalidIdError(f"ID {id_[:80]!r} is not of this index's kind: expected {prefix}...")
    return id_


def validate_ids(ids: Iterable[str], prefix: str, root_id: str = "") -> list[str]:
    """Validate every ID before anything is sent; duplicates keep their first place. The
    index's own root is refused: listing or deleting it would destroy the index."""
    if isinstance(ids, str):
        raise InvalidIdError("pass a list of IDs, not one string")
    out = list(dict.fromkeys(validate_id(i, prefix) for i in ids))
    if root_id and root_id in out:
        raise InvalidIdError(f"{root_id!r} is this index's own root, not a child")
    return out


def validate_user_metadata(metadata: Mapping[str, Any] | None, room: int) -> dict[str, str]:
    """Check user metadata locally, so that a bad key is refused before any request."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise MetadataError(f"metadata must be a mapping of strings, not {type(metadata).__name__}")
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise MetadataError(f"metadata key {key!r} must be a non-empty string")
        if key in RESERVED_KEYS:
            raise MetadataError(f"metadata key {key!r} is reserved by linkedthreads")
        if len(key) > 64:
            raise MetadataError(
                f"metadata key {key[:64]!r}... is {len(key)} characters; at most 64"
            )
        if not isinstance(value, str):
            raise MetadataError(
                f"metadata value of {key!r} must be a string, not {type(value).__name__}"
            )
        if len(value) > 512:
            raise MetadataError(
                f"metadata value of {key!r} is {len(value)} characters; at most 512"
            )
        out[key] = value
    if len(out) > room:
        raise MetadataError(
            f"metadata has {len(out)} keys, but linkedthreads needs {16 - room} of an object's "
            f"16 for itself: at most {room} keys"
        )
    return out


# -- the root -------------------------------------------------------------------------------


def create_root(
    backend: Backend, user: Mapping[str, str], codec: str, read_lag: float = 0.0
) -> Flow[tuple[str, Mapping[str, str]]]:
    """Create the root (with the dense probe, a key and a value of a dense page's longest
    shape, unless ASCII is asked for) and read it back (docs/design.md, 5.3)."""
    header = {TAG_KEY: ROOT_TAG, CODEC_KEY: codec}
    if codec != "ascii":
        header[KEY_PROBE] = DENSE_PROBE
    try:
        try:
            root: Container = yield from send(backend.create({**user, **header}, {}))
        except MetadataError:
            if codec == "dense":
                # The server's message quotes the probe key, which the user never wrote.
                raise MetadataError(
                    "the server refused non-ASCII metadata, which dense pages need: create the "
                    'index with codec="auto" or "ascii"'
                ) from None
            root = yield from send(
                backend.create({**user, TAG_KEY: ROOT_TAG, CODEC_KEY: "ascii"}, {})
            )
    except NotFound as exc:
        raise BackendUnavailableError(
            f"creating a {backend.noun} answered 404: this server does not serve the "
            f"{backend.name} API here ({exc})"
        ) from None
    try:
        back = yield from read_back(backend, root.id, read_lag)
    except NotFound:
        # The record does not say whether a read right after a create may miss (read-after-
        # write lag); the root exists or will, so its ID is what the caller needs.
        raise IndexNotFoundError(
            f"index root {root.id!r} was created, but reading it back answered 404 (the "
            f"server may not show a new {backend.noun} at once): open it later with "
            f"open(client, {root.id!r})"
        ) from None
    return root.id, back.metadata


def read_back(backend: Backend, object_id: str, read_lag: float) -> Flow[Container]:
    """Read an object just created; a 404 is read again for up to ``read_lag`` seconds (a
    server's read-after-write lag, docs/design.md 8.4)."""
    deadline = time.monotonic() + read_lag
    while True:
        try:
            return (yield from send(backend.retrieve(object_id)))
        except NotFound:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            yield Pause(min(0.25, left))


def open_root(backend: Backend, root_id: str) -> Flow[Mapping[str, str]]:
    try:
        root: Container = yield from send(backend.retrieve(root_id))
    except NotFound:
        raise IndexNotFoundError(
            f"no index root {root_id!r}: that {backend.noun} does not exist"
        ) from None
    return root.metadata


def alphabet_for_root(root_id: str, metadata: Mapping[str, str]) -> Alphabet:
    """Check the root header (docs/design.md, section 3); the alphabet pages are written in."""
    tag = metadata.get(TAG_KEY)
    if not isinstance(tag, str) or not tag.startswith("index/"):
        if isinstance(tag, str) and tag.startswith(CHILD_TAG_PREFIX):
            raise NotAnIndexError(
                f"{root_id!r} is a child of index {tag[len(CHILD_TAG_PREFIX) :]!r}, "
                "not an index root"
            )
        raise NotAnIndexError(f"{root_id!r} is not a linkedthreads index (no {TAG_KEY!r} metadata)")
    try:
        version = int(tag.split("/", 1)[1])
    except ValueError:
        raise NotAnIndexError(f"{root_id!r} has a malformed {TAG_KEY!r} tag {tag!r}") from None
    if version > INDEX_FORMAT:
        raise UnsupportedFormatError(
            f"{root_id!r} is an index of format {version}; this linkedthreads reads format "
            f"{INDEX_FORMAT}: upgrade linkedthreads"
        )
    if metadata.get(CODEC_KEY) not in ("auto", "dense"):
        return ASCII
    # The key probe read back intact: keys and values of a dense page's shape are kept. A
    # root made before the key probe has only the value probe; its writers rely on the
    # write-time check of every page (5.4), as every writer does.
    if metadata.get(KEY_PROBE) == DENSE_PROBE or metadata.get(PROBE_KEY) == DENSE_PROBE:
        return DENSE
    return ASCII


# -- the shared state of one index instance --------------------------------------------------


class WriteGate:
    """This process's appends to one index root (shared by every instance of that root): a
    ``destroy`` of this process, or a read that met the tombstone, closes it, and ``destroy``
    waits for the appends still in flight before it reads the journal (docs/design.md 8.5)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self.appending = 0
        self.finished = False  # a destroy of this process deleted the root


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


def index_gone(core: Core) -> IndexNotFoundError:
    return IndexNotFoundError(
        f"index root {core.root_id!r} no longer exists (or is being destroyed)"
    )


@dataclass
class Core:
    """What one index instance knows: where the index is, how it writes, when to compact."""

    backend: Backend
    root_id: str
    alphabet: Alphabet
    settings: IndexSettings
    capacity: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[Planned] = field(default_factory=list)
    # Pages this instance found due whose delete failed (page -> retirement time): garbage
    # in each of its checkpoints until a delete succeeds.
    undeleted: dict[str, float] = field(default_factory=dict)
    # What this instance learned reading pages: which undecided IDs they hold (7.4).
    resolution: Resolution | None = None
    # The newest page list this instance learned (its key and pages): the one its add and rm
    # records state facts about when it holds every page (4.4).
    known: tuple[str, tuple[str, ...]] | None = None
    # The server refused this instance's ``at`` record (a read-only key): reads stop sharing.
    sharing_refused: bool = False
    # Pages go out in ASCII for good: a dense page was altered or refused, here or by another
    # writer whose checkpoint said so (docs/design.md, 5.4).
    fell_back: bool = False
    until_check: int = 0
    # The longest entry the server was found to accept (4.6): the record limit is the lower
    # of this and ``max_record_chars``.
    learned_limit: int | None = None
    # Checkpoints read from body objects (immutable), by their body objects (4.6).
    bodies: dict[tuple[str, ...], Checkpoint] = field(default_factory=dict)
    # Contents of pages and directories this instance wrote or read (immutable: 7.5).
    cache: PageCache = field(init=False)
    # This process's appends to the root: closed by a destroy or the tombstone (8.5).
    gate: WriteGate = field(init=False)
    created: dataclasses.InitVar[bool] = False  # the root was just created by this process

    def __post_init__(self, created: bool) -> None:
        self.gate = write_gate(self.root_id, created)
        self.capacity = slot_capacity_bits(self.alphabet)
        self.cache = PageCache(self.settings.page_cache_ids)
        self.until_check = random.randint(1, self.settings.compact_every)

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


@dataclass(frozen=True)
class Resolution:
    """Facts about a list of pages (immutable, so facts for good): of the IDs a reader could
    not place, those the pages hold (once each) and those no page holds (docs/design.md 7.4)."""

    pages: tuple[str, ...]
    held: frozenset[str]
    absent: frozenset[str]
    dirs: tuple[str, ...] = ()  # the directories that listed ``pages``, if any (immutable too)


class Learner:
    """Watches pages stream by and learns where the overlay's undecided IDs are."""

    def __init__(self, overlay: Overlay) -> None:
        self.unknown = overlay.unknown()
        self.seen: dict[str, int] = {}

    def page(self, ids: Sequence[str]) -> None:
        if self.unknown:
            for id_ in self.unknown.intersection(ids):
                self.seen[id_] = self.seen.get(id_, 0) + ids.count(id_)

    def statement(self) -> tuple[tuple[str, ...], str]:
        """Once every page was seen: the undecided IDs and a flag each, ``1`` held by the
        pages once, ``0`` held by none, for an ``at`` record (4.5). IDs held more than once
        (a damaged index) are left out."""
        ids = tuple(sorted(i for i in self.unknown if self.seen.get(i, 0) <= 1))
        return ids, "".join("1" if i in self.seen else "0" for i in ids)

    def found(self, counts: Mapping[str, int]) -> None:
        """A page holds these IDs, so many times each (from ``PageCache.find``)."""
        for id_, n in counts.items():
            self.seen[id_] = self.seen.get(id_, 0) + n

    def learn(
        self, core: Core, base: Checkpoint, pages: Sequence[str], *, record_soon: bool = True
    ) -> None:
        """Every page was read: remember what they hold, and (``record_soon``) let the next
        write record it."""
        if not self.unknown:
            return
        held = frozenset(i for i, n in self.seen.items() if n == 1)
        absent = frozenset(self.unknown - set(self.seen))
        key = tuple(pages)
        with core.lock:
            old = core.resolution
            if old is not None and old.pages == key:
                held, absent = held | old.held, absent | old.absent
            core.resolution = Resolution(key, held, absent, base.dirs)
            if record_soon:
                core.until_check = 0


def learn_from_cache(core: Core, view: View, pages: Sequence[str]) -> None:
    """When this instance holds every page of the view's base (7.5), learn where the
    overlay's undecided IDs are without a request, so that the checkpoint being planned
    records it (7.4) and every reader's ``len`` costs 1 request."""
    learner = Learner(resolved(core, view.overlay, pages))
    if not learner.unknown or not all(p in core.cache for p in pages):
        return
    if not _search_cache(core, learner, pages):  # all still cached: nothing dropped meanwhile
        learner.learn(core, view.base, pages, record_soon=False)


def _search_cache(core: Core, learner: Learner, pages: Sequence[str]) -> list[str]:
    """Feed ``learner`` what the cached pages hold of its undecided IDs; return the pages
    not cached."""
    seen, unread = _count_in_cache(core, pages, learner.unknown)
    learner.found(seen)
    return unread


def _count_in_cache(
    core: Core, pages: Sequence[str], ids: Iterable[str]
) -> tuple[Counter[str], list[str]]:
    """How many times the cached ``pages`` hold each of ``ids`` (decoding only pages whose
    hashes match), and the pages not cached."""
    probe = Probe(ids)
    seen: Counter[str] = Counter()
    unread = []
    for page_id in pages:
        counts = core.cache.find(page_id, probe)
        if counts is None:
            unread.append(page_id)
        else:
            seen.update(counts)
    return seen, unread


def placed_in_cache(core: Core, ids: Sequence[str]) -> tuple[str, str]:
    """Where ``ids`` are in the newest page list this instance knows, when it holds every
    page of it: that list's key and one flag per ID (``1`` held once, ``0`` held by none,
    ``-`` more than once), for a record to state (4.4); else ``("", "")``. No request."""
    known = core.known
    if known is None or not ids:
        return "", ""
    key, pages = known
    if not pages or not all(p in core.cache for p in pages):  # nothing to state, or unknown
        return "", ""
    seen, unread = _count_in_cache(core, pages, ids)
    if unread:  # dropped meanwhile by another thread of this instance
        return "", ""
    flags = {0: "0", 1: "1"}
    return key, "".join(flags.get(seen[i], "-") for i in ids)


def state_placement(core: Core, records: list[Record]) -> list[Record]:
    """``records`` with each ``rm`` and ``add`` (but a ``new`` one, which needs none) stating
    where its IDs are, when this instance knows (4.4)."""
    out = []
    for record in records:
        if record.op in ("add", "rm") and not (record.new or record.at):
            at, placed = placed_in_cache(core, record.ids)
            if at:
                record = dataclasses.replace(record, at=at, placed=placed)
        out.append(record)
    return out


def resolved(core: Core, overlay: Overlay, pages: Sequence[str]) -> Overlay:
    """``overlay`` with what this instance knows of ``pages`` applied (same list, fewer
    undecided IDs)."""
    res = core.resolution
    if res is None or res.pages != tuple(pages):
        return overlay
    out = overlay.copy()
    out.resolve(res.held, res.absent)
    return out


@dataclass(frozen=True)
class Planned:
    """A computed checkpoint waiting for an append to carry it (docs/design.md, 7.2-7.3).

    ``read_at`` is when its compactor read the journal (its age counts from then);
    ``written`` the pages and directories it created; ``due`` the retired pages it found due
    for deletion, deleted only once the checkpoint (which no longer lists them) is appended.
    """

    checkpoint: Checkpoint
    read_at: float
    written: frozenset[str]
    due: tuple[str, ...] = ()


@dataclass
class View:
    """What a reader learned from the journal: the base, the tail, and their fold."""

    scan: JournalScan
    base: Checkpoint
    overlay: Overlay
    read_at: float


# -- reading --------------------------------------------------------------------------------


LISTING_JOURNAL_PAGE = 100
"""Entries a request when ``all()`` reads the journal (docs/design.md, 6.3), as ``len`` does.
An answer is decoded whole by the SDK (about 2.8 bytes of memory a character); our entries
of IDs carry at most ``ENTRY_IDS`` (about 3,200 characters), so 100 of them and the few
checkpoints among them stay around 1 MiB whatever the index's history."""


def read_view(core: Core, limit: int = 100) -> Flow[View]:
    """Read the journal newest first back to the base checkpoint (docs/design.md, 6.1),
    ``limit`` entries a request.

    Cost: 1 request while the tail is under ``limit`` entries (+ the body objects of a base
    checkpoint carried in them, 4.6, unless this instance read them before).
    """
    for attempt in range(3):
        try:
            return (yield from _read_view(core, limit))
        except PageGone:  # the base's body was collected under us: read again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _read_view(core: Core, limit: int) -> Flow[View]:
    scan = JournalScan()
    after: str | None = None
    read_at = time.time()
    while True:
        try:
            page, more = yield from send(
                core.backend.list_entries(core.root_id, order="desc", after=after, limit=limit)
            )
        except NotFound:
            raise IndexNotFoundError(f"index root {core.root_id!r} no longer exists") from None
        if _feed(scan, page):
            break
        if not more or not page:
            scan.finish()
            break
        after = page[-1].id
    del page  # parsed: the answer's texts need not outlive the fold
    assert scan.base is not None
    if any(r.op == END_OP for e in scan.tail for r in e.records):
        with core.gate.lock:  # a destroy began (4.7): this process writes no more
            core.gate.closed = True
    base = yield from load_checkpoint(core, scan.base)
    # A body-stored tail checkpoint says ``ascii`` only once loaded; its compactor's other
    # records and the next checkpoint say it again (5.4).
    learn_codec(core, [base, *scan.tail_checkpoints()])
    overlay = Overlay(base)
    overlay.apply_entries(scan.tail)
    # Records that state where their IDs are in the base's pages (4.4): facts for good.
    overlay.resolve(*page_facts(scan.tail, page_list_key(base.pages, base.dirs)))
    with core.lock:
        core.until_check = min(
            core.until_check, max(0, core.settings.compact_every - tail_weight(scan))
        )
    return View(scan, base, overlay, read_at)


def load_checkpoint(core: Core, checkpoint: Checkpoint) -> Flow[Checkpoint]:
    """A checkpoint whose record only names its body objects, read from them (4.6); others
    as they are. Bodies never change, so each is read once an instance (a few kept)."""
    if checkpoint.loaded:
        return checkpoint
    known = core.bodies.get(checkpoint.body)
    if known is not None:
        return known
    outcomes = yield from send_all([core.backend.retrieve(b) for b in checkpoint.body])
    metadata = []
    for body_id, outcome in zip(checkpoint.body, outcomes, strict=True):
        if isinstance(outcome.error, NotFound):
            raise PageGone(body_id)
        metadata.append(outcome.unwrap().metadata)
    where = f"the checkpoint in {checkpoint.body[0]!r}"
    try:
        text = body_text(metadata)
    except CorruptIndexError as exc:
        raise CorruptIndexError(f"{where}: {exc}") from exc
    loaded = parse_checkpoint_text(checkpoint, text, where)
    with core.lock:
        if len(core.bodies) >= 8:
            core.bodies.pop(next(iter(core.bodies)))
        core.bodies[checkpoint.body] = loaded
    return loaded


WEIGHT_IDS = 100
"""IDs an entry carries per unit of the compaction count (docs/design.md, 7.2): an entry of a
lone write or of a ``bulk_batch`` of 100 counts 1, an entry of 2,000 IDs counts 20, so that
the tail a reader folds (and holds) stays about ``compact_every`` x 100 IDs, whatever the
mix of lone and bulk writes."""


ENTRY_IDS = WEIGHT_IDS
"""The most IDs one entry of ``add``, ``rm`` or ``at`` records carries (docs/design.md, 6.3):
a bulk record is split into entries of at most 100 IDs (about 3,200 characters), so that
the newest entries a reader's first journal answer decodes are small whatever the history
(an ``add_many`` of 2,000 IDs is 20 entries, still one append of conversations), and each
of our entries counts 1 toward ``compact_every``."""


def entry_weight(records: Iterable[Record]) -> int:
    """What an entry counts toward ``compact_every``: 1 per ``WEIGHT_IDS`` IDs, at least 1."""
    return max(1, -(-sum(len(r.ids) for r in records) // WEIGHT_IDS))


def tail_weight(scan: JournalScan) -> int:
    """The tail's count toward ``compact_every`` (``entry_weight`` of each entry)."""
    return sum(entry_weight(e.records) for e in scan.tail)


def _feed(scan: JournalScan, page: Sequence[EntryText]) -> bool:
    return any(scan.feed(parse_entry(item.id, item.text)) for item in page)


def _decode_page(page_id: str, outcome: Outcome) -> tuple[list[str], int, int]:
    """A page's IDs, and the bit string they were packed in (what the cache keeps)."""
    if isinstance(outcome.error, NotFound):
        raise PageGone(page_id)
    container: Container = outcome.unwrap()
    try:
        value, nbits = decode_slots(dict(container.metadata))
        return bits_to_ids(value, nbits), value, nbits
    except CorruptIndexError as exc:
        raise CorruptIndexError(f"index page {page_id!r} is damaged: {exc}") from exc


def read_pages(core: Core, page_ids: Sequence[str]) -> Flow[list[list[str]]]:
    """Every page's IDs as stored now, ``read_concurrency`` requests at a time (no cache:
    for ``verify`` and ``destroy``, whose job is what the server holds)."""
    out: list[list[str]] = []
    step = core.settings.read_concurrency
    for start in range(0, len(page_ids), step):
        ids = page_ids[start : start + step]
        outcomes = yield from send_all([core.backend.retrieve(p) for p in ids])
        out.extend(_decode_page(p, o)[0] for p, o in zip(ids, outcomes, strict=True))
    return out


def cached_pages(core: Core, page_ids: Sequence[str]) -> Flow[list[list[str]]]:
    """Every page's IDs, from this instance's cache where it has them (pages never change:
    docs/design.md 7.5), the others read ``read_concurrency`` at a time and cached."""
    out: list[list[str] | None] = [core.cache.get(p) for p in page_ids]
    missing = [i for i, content in enumerate(out) if content is None]
    step = core.settings.read_concurrency
    for start in range(0, len(missing), step):
        where = missing[start : start + step]
        ids = [page_ids[i] for i in where]
        outcomes = yield from send_all([core.backend.retrieve(p) for p in ids])
        for i, page_id, outcome in zip(where, ids, outcomes, strict=True):
            content, value, nbits = _decode_page(page_id, outcome)
            core.cache.put(page_id, value, nbits, content)
            out[i] = content
    return [c for c in out if c is not None]


def page_list(core: Core, base: Checkpoint) -> Flow[list[str]]:
    """The base's pages, reading its directories if it has any."""
    if base.dirs:
        contents = yield from cached_pages(core, base.dirs)
        pages = [p for ids in contents for p in ids]
    else:
        pages = list(base.pages)
    _know(core, page_list_key(base.pages, base.dirs), pages)
    return pages


def _know(core: Core, key: str, pages: Sequence[str]) -> None:
    with core.lock:
        core.known = (key, tuple(pages))


def list_ids(core: Core) -> Flow[None]:
    """Emit every listed ID in order (``all()``). Memory: the overlay, one answer of at most
    ``LISTING_JOURNAL_PAGE`` journal entries, and one batch of pages.

    Cost: 1 (2 while the tail is over 99 entries) + (directories) + ceil(pages); sequential
    round trips 1 + ceil(pages / c).
    """
    emitted = False
    for attempt in range(3):
        view = yield from read_view(core, LISTING_JOURNAL_PAGE)
        try:
            pages = yield from page_list(core, view.base)
            folder = Folder(view.overlay)
            learner = Learner(view.overlay)
            step = core.settings.read_concurrency
            for start in range(0, len(pages), step):
                chunk = pages[start : start + step]
                outcomes = yield from send_all([core.backend.retrieve(p) for p in chunk])
                for page_id, outcome in zip(chunk, outcomes, strict=True):
                    content = _decode_page(page_id, outcome)[0]
                    learner.page(content)
                    ids = folder.page(content)
                    if ids:
                        emitted = True
                        yield Emit(ids)
            learner.learn(core, view.base, pages)
            tail = folder.finish()
            if tail:
                yield Emit(tail)
            return
        except PageGone:
            if emitted or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def count(core: Core) -> Flow[int]:
    """``len()``: 1 request when the overlay is exact (or this instance already knows where
    its undecided IDs are), else a read of every page, which it remembers (7.4)."""
    return (yield from restarting(lambda: _count(core)))


def _count(core: Core) -> Flow[int]:
    view = yield from read_view(core)
    if view.overlay.exact:
        return view.overlay.count(view.base.slots)
    pages = yield from page_list(core, view.base)
    overlay = resolved(core, view.overlay, pages)
    if not overlay.exact:
        # Learn where the undecided IDs are: from the pages this instance holds, then the
        # others, read (and cached) ``read_concurrency`` at a time.
        learner = Learner(overlay)
        unread = _search_cache(core, learner, pages)
        step = core.settings.read_concurrency
        for start in range(0, len(unread), step):
            for content in (yield from cached_pages(core, unread[start : start + step])):
                learner.page(content)
        # Pages had to be read, as they would be by every process that holds none: say what
        # they hold (4.5). Failing that, this instance's next write records it (7.4).
        shared = bool(unread) and (yield from share_learned(core, view.base, learner))
        learner.learn(core, view.base, pages, record_soon=not shared)
        overlay = resolved(core, view.overlay, pages)
    if overlay.exact:
        return overlay.count(view.base.slots)
    # Only pages that repeat an ID (a damaged index, which verify reports) leave it
    # undecided: count by folding them.
    folder = Folder(overlay)
    total = 0
    step = core.settings.read_concurrency
    for start in range(0, len(pages), step):
        for content in (yield from cached_pages(core, pages[start : start + step])):
            total += len(folder.page(content))
    return total + len(folder.finish())


def share_learned(core: Core, base: Checkpoint, learner: Learner) -> Flow[bool]:
    """Append an ``at`` record of what ``learner`` found in every page of ``base`` (4.5),
    so that other processes' ``len`` costs 1 request; True if it went out. It never fails
    the read that learned: a refused or failed append is left to the next write (7.4)."""
    ids, flags = learner.statement()
    if not ids or not core.settings.record_counts or core.sharing_refused:
        return False
    record = Record(op="at", ids=ids, at=page_list_key(base.pages, base.dirs), placed=flags)
    try:
        yield from flush(core, [record])
    except APIRequestError as exc:
        if exc.status_code in (401, 403):  # a key that may read but not write
            core.sharing_refused = True
        return False
    except LinkedThreadsError:
        return False
    return True


def contains(core: Core, child_id: str) -> Flow[bool]:
    """``in``: 1 request when the overlay decides, else pages are read until found."""
    return (yield from restarting(lambda: _contains(core, child_id)))


def _contains(core: Core, child_id: str) -> Flow[bool]:
    view = yield from read_view(core)
    if child_id in view.overlay.extra:
        return True  # listed: after the pages, or (conditional) at its place in them
    if child_id in view.overlay.hide:
        return False
    pages = yield from page_list(core, view.base)
    unread: list[str] = []
    for page_id in pages:  # what this instance already holds costs nothing: look there first
        held = core.cache.holds(page_id, child_id)
        if held is None:
            unread.append(page_id)
        elif held:
            return True
    step = core.settings.read_concurrency
    for start in range(0, len(unread), step):
        contents = yield from cached_pages(core, unread[start : start + step])
        if any(child_id in c for c in contents):
            return True
    return False


# -- writing ---------------------------------------------------------------------------------


def flush(core: Core, records: list[Record]) -> Flow[None]:
    """Append ``records`` (and every pending checkpoint) in as few requests as possible.

    No entry is longer than the record limit (4.6): a checkpoint that would be is carried
    in body objects, a refusal for length teaches the limit and what is left is split
    again, and ``records`` never wait for a checkpoint that cannot be sent (it waits for
    the next append, or is retired there once too old: 7.3).

    ``IndexNotFoundError`` once this process destroys the index or met its tombstone (8.5)."""
    gate = core.gate
    with gate.lock:
        closed = gate.closed
        if not closed:
            gate.appending += 1
    if closed:
        with core.lock:
            pending, core.pending = core.pending, []
        yield from discard_written(core, pending)
        raise index_gone(core)
    try:
        yield from _append_records(core, records)
    finally:
        with gate.lock:
            gate.appending -= 1


def discard_written(core: Core, pending: Sequence[Planned]) -> Flow[None]:
    """Delete the pages of checkpoints that will never be appended (the index is gone), so
    they are not left behind. Best effort: a failure leaves an index orphan (8.2)."""
    written = sorted(p for planned in pending for p in planned.written)
    if written:
        yield from send_all([core.backend.delete(p) for p in written])


def _append_records(core: Core, records: list[Record]) -> Flow[None]:
    with core.lock:
        pending, core.pending = core.pending, []
    going: list[Planned] = []
    for planned in pending:
        grace = core.settings.gc_grace_seconds
        if grace == 0 or time.time() - planned.read_at < grace / 2:
            going.append(planned)
        elif planned.written:  # too old to be safe (section 7.3): retire what it wrote
            now = time.time()
            garbage = ((tuple(sorted(planned.written)), now),)
            retire = Checkpoint(upto=None, garbage=garbage, ascii=core.fell_back)
            going.append(Planned(retire, now, planned.written))
        # A dropped checkpoint deletes nothing: what it found due is still garbage in the
        # checkpoints it read, and the next compaction deletes it (once).
    going = yield from fit_checkpoints(core, going)
    sent: set[int] = set()
    lead = _checkpoint_records(going)  # kept: ``sent`` and ``owners`` go by identity
    owners = {id(r): p for p, r in lead}
    user = state_placement(core, merge_records(records))
    try:
        left = yield from append_records(core, [*(r for _, r in lead), *user], sent)
    except IndexNotFoundError:
        # The root is gone (8.5): a checkpoint not sent never will be; its pages go now.
        yield from discard_written(core, [p for i, p in owners.items() if i not in sent])
        raise
    except BaseException:
        # The checkpoint did not go out: keep it for the next append, so the pages it
        # wrote are not orphaned (it is dropped there if it has grown too old).
        _put_back(core, [p for i, p in owners.items() if i not in sent])
        raise
    if left:
        # The user's records are out; a checkpoint longer than the limit learned meanwhile
        # goes out alone, in body objects, or waits for the next append (upkeep never fails
        # the caller).
        retry = yield from fit_checkpoints(core, [owners.pop(id(r)) for r in left])
        again = _checkpoint_records(retry)
        owners.update((id(r), p) for p, r in again)
        try:
            left = yield from append_records(core, [r for _, r in again], sent)
        except LinkedThreadsError:
            left = [r for _, r in again if id(r) not in sent]
        _put_back(core, [owners[id(r)] for r in left])
    due = [page for i, p in owners.items() if i in sent for page in p.due]
    if due:
        yield from delete_garbage(core, due)


def _checkpoint_records(planned: list[Planned]) -> list[tuple[Planned, Record]]:
    return [(p, Record(op="ckpt", checkpoint=p.checkpoint)) for p in planned]


def _put_back(core: Core, planned: list[Planned]) -> None:
    if planned:
        with core.lock:
            core.pending[:0] = planned


_NONCE_SAMPLE = "f" * 16 + ".99"  # the longest nonce an entry gets (up to 20 a request)


def _line_length(record: Record) -> int:
    return len(dump_records([record], _NONCE_SAMPLE))


def fit_checkpoints(core: Core, planned: list[Planned]) -> Flow[list[Planned]]:
    """Each checkpoint whose record is longer than the record limit, carried in body
    objects written now (4.6); one whose objects could not be written stays as it is (too
    long to send: it waits, and is retired once too old, 7.3)."""
    out = []
    for p in planned:
        ck = p.checkpoint
        if ck.body or _line_length(Record(op="ckpt", checkpoint=ck)) <= core.record_limit:
            out.append(p)
            continue
        fields = body_metadata(checkpoint_text(ck))
        outcomes = yield from send_all([core.backend.create(md, {}) for md in fields])
        made = tuple(o.value.id for o in outcomes if o.error is None)
        if len(made) < len(fields):  # what was made is retired with it, if it never goes
            out.append(dataclasses.replace(p, written=p.written | set(made)))
            continue
        spilled = dataclasses.replace(ck, body=made)
        with core.lock:
            core.bodies[made] = spilled
        out.append(dataclasses.replace(p, checkpoint=spilled, written=p.written | set(made)))
    return out


def append_records(core: Core, records: list[Record], sent: set[int]) -> Flow[list[Record]]:
    """Append ``records`` in order, in entries within the record limit; a refusal for length
    teaches the limit (4.6) and the records not yet sent are split again. Adds the ``id``
    of each record sent to ``sent``; returns the checkpoints too long to send at all."""
    queue = list(records)
    oversize: list[Record] = []
    per = core.backend.max_texts_per_append
    while queue:
        entries, too_long = group_entries(queue, core.record_limit)
        oversize.extend(too_long)
        queue = []
        for start in range(0, len(entries), per):
            request = secrets.token_hex(8)
            batch = entries[start : start + per]
            texts = [dump_records(b, f"{request}.{i}") for i, b in enumerate(batch)]
            try:
                yield from send(core.backend.append(core.root_id, texts, request))
            except NotFound:
                raise IndexNotFoundError(f"index root {core.root_id!r} no longer exists") from None
            except APIRequestError as exc:
                if not learn_limit(core, exc, max(len(t) for t in texts)):
                    raise
                queue = [r for b in entries[start:] for r in b]
                break
            sent.update(id(r) for b in batch for r in b)
            with core.lock:
                core.until_check -= sum(map(entry_weight, batch))
    return oversize


def learn_limit(core: Core, exc: APIRequestError, longest_sent: int) -> bool:
    """True when ``exc`` refused an entry for its length: the instance's record limit is
    then the server's, parsed from the refusal or half the longest text sent (4.6)."""
    if exc.status_code != 400:
        return False
    limit = learned_limit(str(exc), exc.code, longest_sent)
    if limit is None:
        return False
    with core.lock:
        core.learned_limit = min(limit, core.learned_limit or limit)
    return True


def delete_garbage(core: Core, due: list[str]) -> Flow[None]:
    """Delete pages an appended checkpoint no longer lists as garbage (7.3). Upkeep: a failure
    does not fail the caller; the page goes back into this instance's next checkpoint."""
    outcomes = yield from send_all([core.backend.delete(p) for p in due])
    already_due = time.time() - core.settings.gc_grace_seconds
    with core.lock:
        for page, outcome in zip(due, outcomes, strict=True):
            if outcome.error is None or isinstance(outcome.error, NotFound):
                core.undeleted.pop(page, None)
            else:
                core.undeleted[page] = already_due


def merge_records(records: list[Record]) -> list[Record]:
    """Join neighbouring records of the same kind (fewer characters, same meaning)."""
    out: list[Record] = []
    for r in records:
        if out and r.op in ("add", "rm") and out[-1].op == r.op and out[-1].new == r.new:
            prev = out.pop()
            out.append(Record(op=r.op, ids=prev.ids + r.ids, new=r.new))
        else:
            out.append(r)
    return out


def group_entries(records: list[Record], max_chars: int) -> tuple[list[list[Record]], list[Record]]:
    """Group records into entries whose text, nonces included, is at most ``max_chars``
    long: a hard bound (4.6), and that carry at most ``ENTRY_IDS`` IDs (6.3). Records of
    IDs are split as needed; a checkpoint longer than ``max_chars`` alone is returned apart
    (to be carried in body objects)."""
    entries: list[list[Record]] = []
    oversize: list[Record] = []
    current: list[Record] = []
    size = carried = 0
    for record in records:
        for piece, length in _split(record, max_chars):
            if length > max_chars:
                if piece.op != "ckpt":  # pragma: no cover - one ID is far below any limit
                    raise LinkedThreadsError(
                        f"a journal record of one ID is {length} characters, over the "
                        f"record limit of {max_chars}"
                    )
                oversize.append(piece)
                continue
            ids = len(piece.ids)
            if current and (size + 1 + length > max_chars or carried + ids > ENTRY_IDS):
                entries.append(current)
                current, size, carried = [], 0, 0
            size += length + (1 if current else 0)
            carried += ids
            current.append(piece)
    if current:
        entries.append(current)
    return entries, oversize


def _split(record: Record, limit: int) -> list[tuple[Record, int]]:
    """``record`` in pieces whose line is at most ``limit`` long, each with its length."""
    if record.op not in PLACING_OPS or not record.ids:
        return [(record, _line_length(record))]
    ids = record.ids
    sample = ids[:200]
    per_id = len(encode_ids(sample)) / len(sample) * 1.05 + (1 if record.placed else 0)
    per = max(1, min(ENTRY_IDS, int((limit - 200) / per_id)))
    out: list[tuple[Record, int]] = []
    for i in range(0, len(ids), per):
        piece = dataclasses.replace(record, ids=ids[i : i + per], placed=record.placed[i : i + per])
        _halve_to_fit(piece, limit, out)
    return out


def _halve_to_fit(record: Record, limit: int, out: list[tuple[Record, int]]) -> None:
    length = _line_length(record)
    if length <= limit or len(record.ids) == 1:
        out.append((record, length))
        return
    half = len(record.ids) // 2
    for part in (slice(0, half), slice(half, None)):
        piece = dataclasses.replace(record, ids=record.ids[part], placed=record.placed[part])
        _halve_to_fit(piece, limit, out)


def create_children(
    core: Core, metadata: Mapping[str, str], kwargs: Mapping[str, Any], n: int
) -> Flow[tuple[list[Container], BaseException | None]]:
    """Create ``n`` objects concurrently (after any due compaction, so that the crash window
    is the creates alone)."""
    yield from refuse_if_closed(core)
    yield from maybe_compact(core)
    yield from refuse_if_closed(core)  # its read may have met ``end``
    md = core.child_metadata(metadata)
    outcomes = yield from send_all([core.backend.create(md, kwargs) for _ in range(n)])
    made = [o.value for o in outcomes if o.error is None]
    return made, first_error(outcomes)


def refuse_if_closed(core: Core) -> Flow[None]:
    """``IndexNotFoundError`` before any create once this process destroys the index or met
    its ``end`` (4.7); pages planned for it are deleted."""
    if core.gate.closed:
        with core.lock:
            pending, core.pending = core.pending, []
        yield from discard_written(core, pending)
        raise index_gone(core)


def discard_children(core: Core, ids: Sequence[str], kwargs: Mapping[str, Any]) -> Flow[None]:
    """Delete objects a create made for an index that turned out to be gone, with the items
    or messages it gave them (a deleted conversation keeps its items), so that a refused
    ``create_child`` leaves nothing behind (docs/design.md 8.5). Best effort."""
    if "items" in kwargs or "messages" in kwargs:
        for id_ in ids:
            with contextlib.suppress(LinkedThreadsError):
                yield from erase_entries(core, id_)
    yield from send_all([core.backend.delete(i) for i in ids])


def delete_objects(
    core: Core, ids: Sequence[str], erase_items: bool, upkeep: bool = True
) -> Flow[tuple[list[str], BaseException | None]]:
    """Delete objects concurrently (404 counts as deleted); erase their entries first if asked."""
    if upkeep:
        yield from maybe_compact(core)
    if erase_items:
        for id_ in ids:
            yield from erase_entries(core, id_)
    outcomes = yield from send_all([core.backend.delete(i) for i in ids])
    done = [
        i
        for i, o in zip(ids, outcomes, strict=True)
        if o.error is None or isinstance(o.error, NotFound)
    ]
    return done, first_error(outcomes, ignore_not_found=True)


def erase_entries(core: Core, container_id: str) -> Flow[None]:
    """Delete every message/item of a container (deleting a conversation keeps its items)."""
    entry_ids: list[str] = []
    after: str | None = None
    while True:
        try:
            page, more = yield from send(
                core.backend.list_entries(container_id, order="asc", after=after)
            )
        except NotFound:
            return
        entry_ids.extend(e.id for e in page)
        if not more or not page:
            break
        after = page[-1].id
    step = core.settings.write_concurrency
    for start in range(0, len(entry_ids), step):
        outcomes = yield from send_all(
            [core.backend.delete_entry(container_id, e) for e in entry_ids[start : start + step]]
        )
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error


# -- compaction -----------------------------------------------------------------------------


def maybe_compact(core: Core) -> Flow[None]:
    """Every ``compact_every`` appends (from a random phase), read the tail and, if it is long,
    compute a checkpoint that the next append carries (docs/design.md, 7.2)."""
    with core.lock:
        due = core.until_check <= 0 and not core.pending
        if due:
            core.until_check = core.settings.compact_every
    if not due:
        return
    try:
        view = yield from read_view(core)
        long = tail_weight(view.scan) >= core.settings.compact_every // 2
        if long or _can_record(core, view):
            planned = yield from plan(core, view, full=False)
            with core.lock:
                core.pending.append(planned)
                core.until_check = core.settings.compact_every
    except LinkedThreadsError:
        # Upkeep never fails the caller's operation: the journal alone is correct, and the
        # next write tries again. (A damaged index still fails every read, loudly.)
        with core.lock:
            core.until_check = 1


def _can_record(core: Core, view: View) -> bool:
    """True when this instance knows where some of the view's undecided IDs are, so that a
    checkpoint would record it (and make ``len`` one request for every reader)."""
    res = core.resolution
    if res is None:
        return False
    if view.base.dirs != res.dirs or (not res.dirs and view.base.pages != res.pages):
        return False
    return bool(view.overlay.unknown() & (res.held | res.absent))


def compact(core: Core, full: bool) -> Flow[None]:
    def attempt() -> Flow[Planned]:
        view = yield from read_view(core)
        return (yield from plan(core, view, full=full))

    planned = yield from restarting(attempt)
    with core.lock:
        core.pending.append(planned)
        # The tail was just folded: the next check is a whole cycle away, as after upkeep.
        core.until_check = core.settings.compact_every
    yield from flush(core, [])


def plan(core: Core, view: View, *, full: bool) -> Flow[Planned]:
    """Compute a checkpoint for ``view`` and write its pages (deleting nothing: see flush).

    A page that the server altered or refused (5.4) is not used: the pages this attempt
    made are deleted and, if they were dense, the index falls back to ASCII for good (the
    checkpoint says so) and the checkpoint is computed again."""
    made: list[str] = []
    try:
        return (yield from _plan(core, view, full=full, made=made))
    except PagesRefused as exc:
        yield from discard_pages(core, made)
        if exc.alphabet is ASCII:
            raise BackendUnavailableError(
                f"the server {exc.how} the metadata of an index page written in ASCII: "
                f"linkedthreads cannot keep an index on this server"
            ) from None
    core.fall_back()
    return (yield from _plan(core, view, full=full, made=[]))


def _plan(core: Core, view: View, *, full: bool, made: list[str]) -> Flow[Planned]:
    base = view.base
    page_ids = yield from page_list(core, base)
    # Checkpoints of the tail carried in body objects name their pages there (4.6); read
    # before any page is written, so that a body collected meanwhile orphans nothing.
    tail = []
    for ck in view.scan.tail_checkpoints():
        tail.append((yield from load_checkpoint(core, ck)))
    learn_from_cache(core, view, page_ids)
    overlay = resolved(core, view.overlay, page_ids)
    waiting = len(overlay.hide) + sum(overlay.extra.values())
    limit = core.overlay_limit
    if not (full or waiting > limit):
        layout = incremental_layout(page_ids, base.slots, overlay, core.capacity)
        # A conditional or re-added ID at the front of ``extra`` blocks paging: once a page
        # of IDs waits behind it, rebuild (which resolves it) so ``extra`` stays under a page.
        waiting_ids = [i for i, _ in layout.extra]
        full = any(done for _, done in chunk_for_pages(waiting_ids, core.capacity))
    if full or waiting > limit:
        rebuilder = Rebuilder(overlay, core.capacity)
        planned: list[PlannedPage] = []
        written_so_far: list[str]
        step = core.settings.read_concurrency
        for start in range(0, len(page_ids), step):
            chunk = page_ids[start : start + step]
            contents = yield from cached_pages(core, chunk)
            for page_id, content in zip(chunk, contents, strict=True):
                planned.extend(rebuilder.feed(page_id, content))
            # Write what is decided as we go, so memory stays about one batch of pages.
            written_so_far = yield from write_planned(core, planned, made)
            planned = list(written_so_far)
        layout = rebuilder.finish()
        layout.pages = planned + layout.pages
    new_pages: list[str] = yield from write_planned(core, layout.pages, made)
    dirs = yield from write_dirs(core, new_pages, base, made)
    referenced = set(new_pages) | set(dirs)
    written = referenced - set(page_ids) - set(base.dirs)
    garbage, due = collect(core, view, referenced, tail)
    checkpoint = Checkpoint(
        upto=view.scan.newest_id,
        pages=() if dirs else tuple(new_pages),
        dirs=tuple(dirs),
        slots=layout.slots,
        extra=tuple(layout.extra),
        hide=frozenset(layout.hide),
        held=frozenset(layout.hide & overlay.held),
        garbage=garbage,
        time=time.time(),
        nonces=tuple((list(base.nonces) + overlay.applied)[-NONCE_MEMORY:]),
        ascii=core.fell_back,
    )
    # The newest page list this instance knows, and holds (it wrote or read every page):
    # the add and rm records it appends from now on state where their IDs are in it (4.4).
    _know(core, page_list_key(checkpoint.pages, checkpoint.dirs), new_pages)
    return Planned(checkpoint, view.read_at, frozenset(written), due)


def write_planned(
    core: Core, planned: Sequence[PlannedPage], made: list[str] | None = None
) -> Flow[list[str]]:
    """Create the planned pages that are new, concurrently; every page's ID, in order. The
    IDs of the objects created are added to ``made``. Raises ``PagesRefused`` when the server
    altered or refused a page's metadata (5.4)."""
    new = [p for p in planned if isinstance(p, list)]
    packed = [ids_to_bits(ids) for ids in new]
    alphabet = core.alphabet
    sent = [encode_slots(value, nbits, alphabet) for value, nbits in packed]
    outcomes = yield from send_all([core.backend.create(md, {}) for md in sent])
    if made is not None:
        made.extend(o.value.id for o in outcomes if o.error is None)
    check_pages(alphabet, sent, outcomes)
    error = first_error(outcomes)
    if error is not None:
        raise error
    for outcome, ids, (value, nbits) in zip(outcomes, new, packed, strict=True):
        core.cache.put(outcome.value.id, value, nbits, ids)
    created = iter(o.value.id for o in outcomes)
    return [p if isinstance(p, str) else next(created) for p in planned]


def write_dirs(
    core: Core, pages: list[str], base: Checkpoint, made: list[str] | None = None
) -> Flow[list[str]]:
    """A page list longer than an eighth of a record goes into directories (reused if
    unchanged)."""
    if len(encode_ids(pages)) <= core.record_limit // 8:
        return []
    old = list(base.dirs)
    old_contents = (yield from cached_pages(core, old)) if old else []
    planned: list[PlannedPage] = []
    for i, (chunk, _) in enumerate(chunk_for_pages(pages, core.capacity)):
        planned.append(old[i] if i < len(old) and old_contents[i] == chunk else chunk)
    return (yield from write_planned(core, planned, made))


class PagesRefused(Exception):
    """Internal: the server altered (``how`` = "altered") or refused a page's metadata."""

    def __init__(self, alphabet: Alphabet, how: str) -> None:
        super().__init__(f"the server {how} an index page")
        self.alphabet = alphabet
        self.how = how


def check_pages(
    alphabet: Alphabet, sent: Sequence[dict[str, str]], outcomes: Sequence[Outcome]
) -> None:
    """The write-time check (5.4): every page created must hold exactly what was sent, as the
    create's answer shows; a page refused for its metadata counts as altered."""
    for metadata, outcome in zip(sent, outcomes, strict=True):
        if isinstance(outcome.error, MetadataError):
            raise PagesRefused(alphabet, "refused")
        if outcome.error is None and dict(outcome.value.metadata) != metadata:
            raise PagesRefused(alphabet, "altered")


def discard_pages(core: Core, pages: Sequence[str]) -> Flow[None]:
    """Delete pages no checkpoint references (made by an attempt whose pages were refused).
    A failure leaves an unreferenced page, as a crash before the checkpoint would (8.2)."""
    yield from send_all([core.backend.delete(p) for p in pages])


def learn_codec(core: Core, checkpoints: Iterable[Checkpoint]) -> None:
    """A checkpoint in view says pages go out in ASCII (5.4): so do this instance's."""
    if not core.fell_back and any(ck.ascii for ck in checkpoints):
        core.fall_back()


def collect(
    core: Core, view: View, referenced: set[str], tail: list[Checkpoint] | None = None
) -> tuple[tuple[tuple[tuple[str, ...], float], ...], tuple[str, ...]]:
    """The garbage a new checkpoint carries, and the pages due for deletion (7.3): retired
    over ``gc_grace_seconds`` before the journal was read, and referenced by neither the
    base, the tail's checkpoints nor the new checkpoint. Due pages are left out of the
    garbage; they are deleted once the checkpoint is appended (``flush``)."""
    now = time.time()
    tail_checkpoints = list(view.scan.tail_checkpoints()) if tail is None else tail
    live = set(referenced) | view.base.referenced()
    retired: dict[str, float] = {}
    # A page's grace counts from the LAST time a visible checkpoint still needed it: the
    # latest retirement wins, and a page a visible checkpoint references is retired now.
    with core.lock:
        leftovers = dict(core.undeleted)
    for ck in [view.base, *tail_checkpoints]:
        for ids, t in ck.garbage:
            for p in ids:
                retired[p] = max(t, retired.get(p, t))
    for p, t in leftovers.items():
        retired[p] = max(t, retired.get(p, t))
    for ck in tail_checkpoints:
        live |= ck.referenced()
    for ck in [view.base, *tail_checkpoints]:
        for p in ck.referenced() - referenced:
            retired[p] = now
    # Measured from when this compactor read the journal, not from now: a checkpoint that
    # landed after that read is not in this view, and the grace must cover it.
    cutoff = view.read_at - core.settings.gc_grace_seconds
    due = tuple(sorted(p for p, t in retired.items() if t <= cutoff and p not in live))
    by_time: dict[float, list[str]] = {}
    for p, t in retired.items():
        if p not in referenced and p not in due:
            by_time.setdefault(retirement_stamp(t), []).append(p)
    garbage = tuple((tuple(sorted(ps)), t) for t, ps in sorted(by_time.items()))
    return garbage, due


# -- maintenance ----------------------------------------------------------------------------


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


def stats(core: Core) -> Flow[IndexStats]:
    """Cost: 1 request (+ the directories of a very large index)."""
    view = yield from read_view(core)
    pages = yield from restarting(lambda: page_list(core, view.base))
    overlay = resolved(core, view.overlay, pages)
    return IndexStats(
        children=overlay.count(view.base.slots) if overlay.exact else None,
        pages=len(pages),
        directories=len(view.base.dirs),
        page_slots=view.base.slots,
        unpaged=len(overlay.extra),
        waiting=len(overlay.hide) + sum(overlay.extra.values()),
        tail_entries=view.scan.tail_length,
        checkpointed=view.base.upto is not None,
    )


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


def verify(core: Core, repair: bool) -> Flow[VerifyReport]:
    """Check every page and every child; with ``repair``, forget dangling IDs and rebuild.

    A page missing three times running (not just collected by a concurrent compaction, nor
    too young for a lagging server to show) or damaged is a problem; repair then rebuilds the
    pages from the whole journal. A child is dangling only once its absence is confirmed
    (docs/design.md 8.4).
    """
    for attempt in range(3):
        report = VerifyReport()
        view = yield from read_view(core)
        listed_by = time.monotonic()  # every object the view lists existed by now
        report.tail_entries = view.scan.tail_length
        try:
            ids = yield from _verified_ids(core, view, report)
        except PageGone as exc:
            if attempt < 2:
                if attempt == 1 and core.settings.read_lag_seconds:
                    yield Pause(core.settings.read_lag_seconds)  # a page too young to show
                continue
            report.problems.append(str(exc))
        except CorruptIndexError as exc:
            report.problems.append(str(exc))
        else:
            break
        if repair:
            yield from rebuild_from_journal(core)
            report.repaired = True
            yield from _count_repaired(core, report)
        return report
    report.children = len(set(ids))
    report.dangling = yield from confirmed_absent(core, ids, listed_by)
    if repair and (report.dangling or report.duplicates or not view.overlay.exact):
        if report.dangling:
            yield from flush(core, [Record(op="rm", ids=tuple(report.dangling))])
        yield from compact(core, full=True)
        report.repaired = True
    return report


def _count_repaired(core: Core, report: VerifyReport) -> Flow[None]:
    """After a rebuild from the journal: what the new pages list (read back, so a page the
    rebuild wrote unreadable would show here as a problem)."""
    try:
        after = VerifyReport()
        ids = yield from _verified_ids(core, (yield from read_view(core)), after)
    except CorruptIndexError as exc:
        report.problems.append(f"after the rebuild: {exc}")
        return
    report.children, report.pages = len(set(ids)), after.pages


def confirmed_absent(core: Core, ids: Sequence[str], listed_by: float) -> Flow[list[str]]:
    """The children of ``ids`` (listed by a journal read answered before ``listed_by``, a
    ``time.monotonic()``) whose absence is confirmed, in list order: a read of it answered
    404 and was sent at least ``read_lag_seconds`` after ``listed_by``. Its object was
    created before its ``add`` was appended, so it had existed that long: a server whose
    read-after-write lag is within the bound shows it by then (docs/design.md 8.4). A 404
    that came sooner is read again once the bound has passed; a child found then is live.

    Cost: one read per child, plus one per child that answered 404 too soon.
    """
    lag = core.settings.read_lag_seconds
    step = core.settings.read_concurrency * 4
    absent: list[str] = []
    todo = list(ids)
    while todo:
        suspects: list[str] = []
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            trusted = time.monotonic() - listed_by >= lag  # before the requests are sent
            outcomes = yield from send_all([core.backend.retrieve(i) for i in chunk])
            error = first_error(outcomes, ignore_not_found=True)
            if error is not None:
                raise error
            missing = [
                i for i, o in zip(chunk, outcomes, strict=True) if isinstance(o.error, NotFound)
            ]
            (absent if trusted else suspects).extend(missing)
        todo = suspects
        left = listed_by + lag - time.monotonic()
        if todo and left > 0:
            yield Pause(left)
    order = {id_: n for n, id_ in enumerate(ids)}
    return sorted(absent, key=order.__getitem__)


def _verified_ids(core: Core, view: View, report: VerifyReport) -> Flow[list[str]]:
    """Every listed ID, noting pages and duplicates in ``report``."""
    pages = yield from page_list(core, view.base)
    report.pages = len(pages)
    folder = Folder(view.overlay)
    ids: list[str] = []
    seen: set[str] = set()
    for content in (yield from read_pages(core, pages)):
        for id_ in folder.page(content):
            if id_ in seen:
                report.duplicates.append(id_)
            seen.add(id_)
            ids.append(id_)
    for id_ in folder.finish():
        if id_ in seen:
            report.duplicates.append(id_)
        seen.add(id_)
        ids.append(id_)
    return ids


def read_journal(core: Core, after: str | None = None) -> Flow[list[Entry]]:
    """Every journal entry (after the entry ``after``), oldest first (repair and destroy)."""
    entries: list[Entry] = []
    while True:
        page, more = yield from send(
            core.backend.list_entries(core.root_id, order="asc", after=after)
        )
        entries.extend(parse_entry(e.id, e.text) for e in page)
        if not more or not page:
            return entries
        after = page[-1].id


def rebuild_from_journal(core: Core) -> Flow[None]:
    """Replay the whole journal from its first entry and write a fresh checkpoint."""
    entries = yield from read_journal(core)
    scan = JournalScan()
    for entry in reversed(entries):
        scan.feed(entry)
    scan.finish()
    learn_codec(
        core, [r.checkpoint for e in entries for r in e.records if r.checkpoint is not None]
    )
    empty = Checkpoint(upto=None)
    overlay = Overlay(empty)
    overlay.apply_entries(entries)
    view = View(scan, empty, overlay, time.time())
    planned = yield from plan(core, view, full=True)
    with core.lock:
        core.pending.append(planned)
    yield from flush(core, [])


def destroy(core: Core, erase_items: bool) -> Flow[None]:
    """Delete every child, every page and directory any checkpoint named, then the root, so
    that no child whose creation was acknowledged survives (docs/design.md 8.5):

    1. close this process's appends to the root and append the tombstone (``end``);
    2. wait for this process's appends in flight, then list the children and delete them;
    3. read the whole journal: delete what it lists that step 2 did not (added meanwhile),
       and every page and directory a checkpoint named;
    4. read again after the last entry seen (or, erasing, the entries left), deleting what
       new entries list, until a read shows nothing new; then delete the root.
    """
    gate = core.gate
    with gate.lock:
        was_closed, gate.closed = gate.closed, True
    request = secrets.token_hex(8)
    end = dump_records([Record(op=END_OP)], f"{request}.0")
    try:
        yield from send(core.backend.append(core.root_id, [end], request))
    except NotFound:
        raise IndexNotFoundError(f"no index root {core.root_id!r}: it does not exist") from None
    except BaseException:
        with gate.lock:
            gate.closed = was_closed
        raise
    while gate.appending:  # this process's appends still in flight land before we read
        yield Pause(0.01)
    with core.lock:  # checkpoints of this instance no append will carry now
        pending, core.pending = core.pending, []
    yield from discard_written(core, pending)
    deleted: set[str] = set()
    children = yield from _listed_for_destroy(core)
    yield from _delete_children(core, children, erase_items, deleted)
    # The journal alone states the list (6.1); folding it whole catches adds that landed
    # after the listing above, and names every page any checkpoint ever referenced.
    replay = Overlay(Checkpoint(upto=None))
    index_objects: set[str] = set()
    removed: set[str] = set()
    try:
        entries = yield from read_journal(core)
    except NotFound:  # a concurrent destroy deleted the root
        return
    seen = [e.id for e in entries]
    for rounds in range(1, DESTROY_ROUNDS + 1):
        replay.apply_entries(entries)
        yield from _delete_children(core, list(replay.extra), erase_items, deleted)
        index_objects |= yield from _index_objects(core, entries)
        fresh = sorted(index_objects - removed - deleted)
        outcomes = yield from send_all([core.backend.delete(o) for o in fresh])
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
        removed.update(fresh)
        if erase_items:
            yield from _erase_seen(core, [e.id for e in entries])
        if rounds == DESTROY_ROUNDS:  # others keep appending: stop here (8.5 says what then)
            break
        try:
            if erase_items:  # what is left of the journal: only entries appended since
                entries = [e for e in (yield from read_journal(core)) if e.id not in seen]
            else:
                entries = yield from read_journal(core, after=seen[-1] if seen else None)
        except NotFound:  # a concurrent destroy deleted the root
            return
        if not entries:
            break
        seen.extend(e.id for e in entries)
    with contextlib.suppress(NotFound):
        yield from send(core.backend.delete(core.root_id))
    gate.finished = True


def _listed_for_destroy(core: Core) -> Flow[list[str]]:
    """Every listed ID (as ``all()``), or nothing if pages are gone (a destroy that crashed
    after deleting them): the whole journal, folded next, still names every child."""
    try:
        view = yield from read_view(core)
        pages = yield from page_list(core, view.base)
        folder = Folder(view.overlay)
        ids: list[str] = []
        for content in (yield from read_pages(core, pages)):
            ids.extend(folder.page(content))
        return ids + folder.finish()
    except (PageGone, CorruptIndexError):
        return []


def _delete_children(
    core: Core, ids: Sequence[str], erase_items: bool, deleted: set[str]
) -> Flow[None]:
    todo = [i for i in ids if i not in deleted]
    batch = core.settings.bulk_batch
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        _, error = yield from delete_objects(core, chunk, erase_items, upkeep=False)
        if error is not None:
            raise error
        deleted.update(chunk)


def _index_objects(core: Core, entries: Sequence[Entry]) -> Flow[set[str]]:
    """Every page and directory the checkpoints of ``entries`` name (as current, superseded
    or retired), with the pages the directories list."""
    objects: set[str] = set()
    dirs: set[str] = set()
    for entry in entries:
        for record in entry.records:
            if record.checkpoint is not None:
                ck = record.checkpoint
                objects |= ck.referenced()
                with contextlib.suppress(PageGone, CorruptIndexError):
                    # Gone: collected, with the pages only it named (7.3).
                    ck = yield from load_checkpoint(core, ck)
                objects |= ck.referenced()
                dirs |= set(ck.dirs)
                for ids, _ in ck.garbage:
                    objects.update(ids)
    for d in sorted(dirs):
        try:
            (content,) = yield from read_pages(core, [d])
            objects.update(content)
        except (PageGone, CorruptIndexError):
            pass
    return objects


def _erase_seen(core: Core, entry_ids: Sequence[str]) -> Flow[None]:
    step = core.settings.write_concurrency
    for start in range(0, len(entry_ids), step):
        outcomes = yield from send_all(
            [core.backend.delete_entry(core.root_id, e) for e in entry_ids[start : start + step]]
        )
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error


# -- newest first ------------------------------------------------------------------------------


def list_ids_newest_first(core: Core, want: int | None = None) -> Flow[None]:
    """Emit every listed ID newest first: exactly the reverse of ``list_ids`` (design 6.4).

    The journal's tail holds the newest IDs (the overlay's ``extra``), the pages the older
    ones in order; so this emits ``extra`` backwards, then reads the pages from the last one
    back, from this instance's cache where it holds them (pages never change: 7.5), and the
    directories of a very large index from the last one back too. The first round reads as
    many pages as ``want`` more IDs need (one page for a screen of rows), each later round
    twice as many, up to ``read_concurrency``; a caller that stops early reads nothing more.
    A conditional ``extra`` ID (an add by a process that could not say whether the pages
    hold it, 4.4) is placed first: from what this instance knows, else by searching every
    page once (as ``len`` does), which it remembers (7.4).

    Cost: 1 request + the pages (and directories) holding the IDs consumed that this
    instance does not hold: ``latest(n)`` for n up to a page costs 2 (3 when the page list
    is in directories).
    """
    emitted = False
    for attempt in range(3):
        view = yield from read_view(core)
        try:
            base = view.base
            lazy = bool(base.dirs) and not any(view.overlay.extra.values())
            if lazy:  # the directories are read from the last one back, as needed
                overlay, pages = view.overlay, []
            else:
                pages = yield from page_list(core, base)
                overlay = yield from _placed_overlay(core, view, pages)
            tail = [i for i, conditional in overlay.extra.items() if not conditional]
            folder = Folder(overlay, emitted=tail)
            if tail:
                emitted = True
                yield Emit(tail[::-1])
            short = None if want is None else max(0, want - len(tail))
            rounds = 1 if short is None else -(-short // max(1, core.page_capacity))
            step = max(1, min(rounds, core.settings.read_concurrency))
            for directory in reversed(base.dirs) if lazy else [None]:
                if directory is not None:
                    (pages,) = yield from cached_pages(core, [directory])
                step, some = yield from _emit_backwards(core, pages, folder, step)
                emitted = emitted or some
            return
        except PageGone:
            if emitted or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _emit_backwards(
    core: Core, pages: Sequence[str], folder: Folder, step: int
) -> Flow[tuple[int, bool]]:
    """Emit the visible IDs of ``pages``, last first, reading ``step`` pages at once and
    twice as many each round (up to ``read_concurrency``); the next step, and whether any
    ID was emitted."""
    emitted = False
    end = len(pages)
    while end > 0:
        chunk = pages[max(0, end - step) : end]
        end -= len(chunk)
        for content in reversed((yield from cached_pages(core, chunk))):
            ids = folder.page(reversed(content))
            if ids:
                emitted = True
                yield Emit(ids)
        step = min(step * 2, core.settings.read_concurrency)
    return step, emitted


def _placed_overlay(core: Core, view: View, pages: Sequence[str]) -> Flow[Overlay]:
    """The view's overlay with every conditional ``extra`` ID placed (held by a page: listed
    there; by none: at its own place), so that a reader going backwards knows where each
    goes before it emits the newest. No request unless some are undecided and this instance
    does not hold every page."""
    overlay = resolved(core, view.overlay, pages)
    if not any(overlay.extra.values()):
        return overlay
    learner = Learner(overlay)
    unread = _search_cache(core, learner, pages)
    step = core.settings.read_concurrency
    for start in range(0, len(unread), step):
        for content in (yield from cached_pages(core, unread[start : start + step])):
            learner.page(content)
    learner.learn(core, view.base, pages)
    return resolved(core, view.overlay, pages)
