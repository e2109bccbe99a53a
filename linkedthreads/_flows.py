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
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._backends import Backend, Container, EntryText, Request
from ._codec import (
    ASCII,
    DENSE,
    DENSE_PROBE,
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
    dump_records,
    page_facts,
    page_list_key,
    parse_entry,
    retirement_stamp,
)
from ._page_cache import PageCache, Probe
from ._settings import IndexSettings
from ._transport import NotFound, Outcome

T = TypeVar("T")

INDEX_FORMAT = 1
TAG_KEY = "linkedthreads"
ROOT_TAG = f"index/{INDEX_FORMAT}"
CODEC_KEY = "lt_codec"
PROBE_KEY = "lt_probe"
CHILD_TAG_PREFIX = "in:"
RESERVED_KEYS = frozenset({TAG_KEY, CODEC_KEY, PROBE_KEY})
NONCE_MEMORY = 128  # entry nonces a checkpoint remembers (docs/design.md, section 8.3)


@dataclass(frozen=True)
class Batch:
    """Requests to send concurrently; the flow receives one ``Outcome`` for each."""

    requests: Sequence[Request[Any]]


@dataclass(frozen=True)
class Emit:
    """IDs a streaming flow hands to its caller."""

    ids: Sequence[str]


Step = Batch | Emit
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
    backend: Backend, user: Mapping[str, str], codec: str
) -> Flow[tuple[str, Mapping[str, str]]]:
    """Create the root (with the dense probe unless ASCII is asked for) and read it back."""
    header = {TAG_KEY: ROOT_TAG, CODEC_KEY: codec}
    if codec != "ascii":
        header[PROBE_KEY] = DENSE_PROBE
    try:
        root: Container = yield from send(backend.create({**user, **header}, {}))
    except MetadataError:
        if codec == "dense":
            raise
        root = yield from send(backend.create({**user, TAG_KEY: ROOT_TAG, CODEC_KEY: "ascii"}, {}))
    back: Container = yield from send(backend.retrieve(root.id))
    return root.id, back.metadata


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
    dense_ok = metadata.get(PROBE_KEY) == DENSE_PROBE
    return DENSE if metadata.get(CODEC_KEY) in ("auto", "dense") and dense_ok else ASCII


# -- the shared state of one index instance --------------------------------------------------


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
    until_check: int = 0
    # Contents of pages and directories this instance wrote or read (immutable: 7.5).
    cache: PageCache = field(init=False)

    def __post_init__(self) -> None:
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

    @functools.cached_property
    def overlay_limit(self) -> int:
        """Hidden plus conditional IDs a checkpoint carries before a rebuild resolves them
        (docs/design.md, 7.2): ``max_overlay`` if set, else one page's worth, at most a
        third of a record."""
        if self.settings.max_overlay is not None:
            return self.settings.max_overlay
        chars_per_id = len(encode_ids([self._sample_id] * 100)) / 100
        fits = int(self.settings.max_record_chars / 3 / chars_per_id)
        return max(1, min(self.page_capacity, fits))

    def child_metadata(self, user: Mapping[str, str]) -> dict[str, str]:
        return {**user, TAG_KEY: CHILD_TAG_PREFIX + self.root_id}


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


LISTING_JOURNAL_PAGE = 50
"""Entries a request when ``all()`` reads the journal (docs/design.md, 6.3). An answer is
decoded whole by the SDK (about 2.8 bytes of memory a character): 50 entries of at most
``max_record_chars`` bound it at about 9 MiB whatever the index's history, where the 100
newest entries of bulk calls took 18 MiB, and most of them lay before the base."""


def read_view(core: Core, limit: int = 100) -> Flow[View]:
    """Read the journal newest first back to the base checkpoint (docs/design.md, 6.1),
    ``limit`` entries a request.

    Cost: 1 request while the tail is under ``limit`` entries.
    """
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
    overlay = Overlay(scan.base)
    overlay.apply_entries(scan.tail)
    # Records that state where their IDs are in the base's pages (4.4): facts for good.
    overlay.resolve(*page_facts(scan.tail, page_list_key(scan.base.pages, scan.base.dirs)))
    with core.lock:
        core.until_check = min(
            core.until_check, max(0, core.settings.compact_every - tail_weight(scan))
        )
    return View(scan, scan.base, overlay, read_at)


WEIGHT_IDS = 100
"""IDs an entry carries per unit of the compaction count (docs/design.md, 7.2): an entry of a
lone write or of a ``bulk_batch`` of 100 counts 1, an entry of 2,000 IDs counts 20, so that
the tail a reader folds (and holds) stays about ``compact_every`` x 100 IDs, whatever the
mix of lone and bulk writes."""


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

    Cost: 1 (2 while the tail is over 49 entries) + (directories) + ceil(pages); sequential
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
    """Append ``records`` (and every pending checkpoint) in as few requests as possible."""
    with core.lock:
        pending, core.pending = core.pending, []
    lead: list[Record] = []
    due: list[str] = []
    for planned in pending:
        grace = core.settings.gc_grace_seconds
        if grace == 0 or time.time() - planned.read_at < grace / 2:
            lead.append(Record(op="ckpt", checkpoint=planned.checkpoint))
            due.extend(planned.due)
        elif planned.written:  # too old to be safe (section 7.3): retire what it wrote
            garbage = ((tuple(sorted(planned.written)), time.time()),)
            lead.append(Record(op="ckpt", checkpoint=Checkpoint(upto=None, garbage=garbage)))
        # A dropped checkpoint deletes nothing: what it found due is still garbage in the
        # checkpoints it read, and the next compaction deletes it (once).
    records = state_placement(core, merge_records([*lead, *records]))
    entries = group_entries(records, core.settings.max_record_chars)
    per = core.backend.max_texts_per_append
    for start in range(0, len(entries), per):
        request = secrets.token_hex(8)
        batch = entries[start : start + per]
        texts = [dump_records(b, f"{request}.{i}") for i, b in enumerate(batch)]
        try:
            yield from send(core.backend.append(core.root_id, texts, request))
        except NotFound:
            raise IndexNotFoundError(f"index root {core.root_id!r} no longer exists") from None
        except BaseException:
            # The checkpoint did not go out: keep it for the next append, so the pages it
            # wrote are not orphaned (it is dropped there if it has grown too old).
            if start == 0 and pending:
                with core.lock:
                    core.pending[:0] = pending
            raise
    with core.lock:
        core.until_check -= sum(map(entry_weight, entries))
    if due:
        yield from delete_garbage(core, due)


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


def group_entries(records: list[Record], max_chars: int) -> list[list[Record]]:
    """Group records into entries whose text stays under ``max_chars`` (big ones split)."""
    limit = max_chars - 64  # room for the nonce on each line
    entries: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        for piece in _split(record, limit):
            piece_size = len(dump_records([piece])) + 40
            if current and size + piece_size > limit:
                entries.append(current)
                current, size = [], 0
            current.append(piece)
            size += piece_size
    if current:
        entries.append(current)
    return entries


def _split(record: Record, limit: int) -> list[Record]:
    if record.op not in PLACING_OPS:
        return [record]
    total = len(dump_records([record]))
    if total <= limit:
        return [record]
    ids = list(record.ids)
    per = max(1, len(ids) * (limit - 200) // total)
    return [
        dataclasses.replace(
            record,
            ids=tuple(ids[i : i + per]),
            placed=record.placed[i : i + per],
        )
        for i in range(0, len(ids), per)
    ]


def create_children(
    core: Core, metadata: Mapping[str, str], kwargs: Mapping[str, Any], n: int
) -> Flow[tuple[list[Container], BaseException | None]]:
    """Create ``n`` objects concurrently (after any due compaction, so that the crash window
    is the creates alone)."""
    yield from maybe_compact(core)
    md = core.child_metadata(metadata)
    outcomes = yield from send_all([core.backend.create(md, kwargs) for _ in range(n)])
    made = [o.value for o in outcomes if o.error is None]
    return made, first_error(outcomes)


def delete_objects(
    core: Core, ids: Sequence[str], erase_items: bool
) -> Flow[tuple[list[str], BaseException | None]]:
    """Delete objects concurrently (404 counts as deleted); erase their entries first if asked."""
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
    yield from flush(core, [])


def plan(core: Core, view: View, *, full: bool) -> Flow[Planned]:
    """Compute a checkpoint for ``view`` and write its pages (deleting nothing: see flush)."""
    base = view.base
    page_ids = yield from page_list(core, base)
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
            written_so_far = yield from write_planned(core, planned)
            planned = list(written_so_far)
        layout = rebuilder.finish()
        layout.pages = planned + layout.pages
    new_pages: list[str] = yield from write_planned(core, layout.pages)
    dirs = yield from write_dirs(core, new_pages, base)
    referenced = set(new_pages) | set(dirs)
    written = referenced - set(page_ids) - set(base.dirs)
    garbage, due = collect(core, view, referenced)
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
    )
    # The newest page list this instance knows, and holds (it wrote or read every page):
    # the add and rm records it appends from now on state where their IDs are in it (4.4).
    _know(core, page_list_key(checkpoint.pages, checkpoint.dirs), new_pages)
    return Planned(checkpoint, view.read_at, frozenset(written), due)


def write_planned(core: Core, planned: Sequence[PlannedPage]) -> Flow[list[str]]:
    """Create the planned pages that are new, concurrently; every page's ID, in order."""
    new = [p for p in planned if isinstance(p, list)]
    packed = [ids_to_bits(ids) for ids in new]
    requests = [
        core.backend.create(encode_slots(value, nbits, core.alphabet), {})
        for value, nbits in packed
    ]
    outcomes = yield from send_all(requests)
    error = first_error(outcomes)
    if error is not None:
        raise error
    for outcome, ids, (value, nbits) in zip(outcomes, new, packed, strict=True):
        core.cache.put(outcome.value.id, value, nbits, ids)
    made = iter(o.value.id for o in outcomes)
    return [p if isinstance(p, str) else next(made) for p in planned]


def write_dirs(core: Core, pages: list[str], base: Checkpoint) -> Flow[list[str]]:
    """A page list longer than an eighth of a record goes into directories (reused if
    unchanged)."""
    if len(encode_ids(pages)) <= core.settings.max_record_chars // 8:
        return []
    old = list(base.dirs)
    old_contents = (yield from cached_pages(core, old)) if old else []
    planned: list[PlannedPage] = []
    for i, (chunk, _) in enumerate(chunk_for_pages(pages, core.capacity)):
        planned.append(old[i] if i < len(old) and old_contents[i] == chunk else chunk)
    return (yield from write_planned(core, planned))


def collect(
    core: Core, view: View, referenced: set[str]
) -> tuple[tuple[tuple[tuple[str, ...], float], ...], tuple[str, ...]]:
    """The garbage a new checkpoint carries, and the pages due for deletion (7.3): retired
    over ``gc_grace_seconds`` before the journal was read, and referenced by neither the
    base, the tail's checkpoints nor the new checkpoint. Due pages are left out of the
    garbage; they are deleted once the checkpoint is appended (``flush``)."""
    now = time.time()
    tail_checkpoints = list(view.scan.tail_checkpoints())
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

    A page missing three times running (not just collected by a concurrent compaction) or
    damaged is a problem; repair then rebuilds the pages from the whole journal.
    """
    for attempt in range(3):
        report = VerifyReport()
        view = yield from read_view(core)
        report.tail_entries = view.scan.tail_length
        try:
            ids = yield from _verified_ids(core, view, report)
        except PageGone as exc:
            if attempt < 2:
                continue
            report.problems.append(str(exc))
        except CorruptIndexError as exc:
            report.problems.append(str(exc))
        else:
            break
        if repair:
            yield from rebuild_from_journal(core)
            report.repaired = True
        return report
    report.children = len(set(ids))
    step = core.settings.read_concurrency * 4
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        outcomes = yield from send_all([core.backend.retrieve(i) for i in chunk])
        report.dangling.extend(
            i for i, o in zip(chunk, outcomes, strict=True) if isinstance(o.error, NotFound)
        )
        error = first_error(outcomes, ignore_not_found=True)
        if error is not None:
            raise error
    if repair and (report.dangling or report.duplicates or not view.overlay.exact):
        if report.dangling:
            yield from flush(core, [Record(op="rm", ids=tuple(report.dangling))])
        yield from compact(core, full=True)
        report.repaired = True
    return report


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


def read_journal(core: Core) -> Flow[list[Entry]]:
    """Every journal entry, oldest first (for repair and destroy)."""
    entries: list[Entry] = []
    after: str | None = None
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
    empty = Checkpoint(upto=None)
    overlay = Overlay(empty)
    overlay.apply_entries(entries)
    view = View(scan, empty, overlay, time.time())
    planned = yield from plan(core, view, full=True)
    with core.lock:
        core.pending.append(planned)
    yield from flush(core, [])


def destroy(core: Core, erase_items: bool) -> Flow[None]:
    """Delete every child, every page and directory any checkpoint named, then the root."""
    children: list[str] = []
    emitting = list_ids(core)
    step = next(emitting)
    while True:
        try:
            if isinstance(step, Emit):
                children.extend(step.ids)
                step = emitting.send(None)
            else:
                step = emitting.send((yield step))
        except StopIteration:
            break
    batch = core.settings.bulk_batch
    for start in range(0, len(children), batch):
        _, error = yield from delete_objects(core, children[start : start + batch], erase_items)
        if error is not None:
            raise error
    objects: set[str] = set()
    dirs: set[str] = set()
    for entry in (yield from read_journal(core)):
        for record in entry.records:
            if record.checkpoint is not None:
                objects |= record.checkpoint.referenced()
                dirs |= set(record.checkpoint.dirs)
                for ids, _ in record.checkpoint.garbage:
                    objects.update(ids)
    for d in sorted(dirs):
        try:
            (content,) = yield from read_pages(core, [d])
            objects.update(content)
        except (PageGone, CorruptIndexError):
            pass
    objects -= set(children)
    outcomes = yield from send_all([core.backend.delete(o) for o in sorted(objects)])
    error = first_error(outcomes, ignore_not_found=True)
    if error is not None:
        raise error
    if erase_items:
        yield from erase_entries(core, core.root_id)
    with contextlib.suppress(NotFound):
        yield from send(core.backend.delete(core.root_id))
