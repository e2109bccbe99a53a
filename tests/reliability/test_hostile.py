"""Hostile and broken input: indexes altered, truncated or deleted by hand (with the raw
SDK), IDs of the wrong kind or shape, metadata at and over the limits, roots that are not
indexes or are of a newer format, and servers that fail forever.

Every case must end in a public ``LinkedThreadsError`` subclass whose message names the ID,
entry or key at fault (never a raw KeyError/IndexError/JSONDecodeError/TypeError, nor an
internal class), and must damage nothing that was stored: once the damage is undone (or
repaired), a fresh open lists the same IDs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from linkedthreads import (
    APIRequestError,
    BackendUnavailableError,
    CorruptIndexError,
    IndexNotFoundError,
    IndexSettings,
    InvalidIdError,
    LinkedThreadsError,
    MetadataError,
    NotAnIndexError,
    RetryPolicy,
    ThreadIndex,
    UnsupportedFormatError,
)
from tests.conftest import BACKENDS_THREADS_SLOW as BACKENDS
from torture.emulator import raw_client
from torture.journal import checkpoints
from torture.objects import (
    append_text,
    delete_entry,
    delete_object,
    fake_ids,
    read_journal_texts,
    retrieve_metadata,
    update_metadata,
)

SETTINGS = IndexSettings(retry=RetryPolicy.instant(attempts=3))
PREFIX = {"conversations": "conv_", "threads": "thread_"}
N_FAKE = 450  # more than one ASCII page of either kind (313 / 421)


@dataclass
class Built:
    """An index of 450 fabricated IDs compacted into pages (313 or 421 a page, ASCII) and
    three children made by create_child: ``want`` is its list."""

    emu: Any
    client: openai.OpenAI
    backend: str
    index: ThreadIndex
    want: list[str]

    @property
    def root(self) -> str:
        return self.index.root_id

    def fresh(self) -> ThreadIndex:
        return ThreadIndex.open(self.client, self.root, settings=SETTINGS)

    def listed(self) -> list[str]:
        return list(self.fresh().all())

    def checkpoint(self) -> tuple[str, Any]:
        return checkpoints(self.client, self.backend, self.root)[-1]


@pytest.fixture(params=BACKENDS)
def built(request: pytest.FixtureRequest, emu: Any, raw: openai.OpenAI) -> Built:
    backend = request.param
    client = raw
    index = ThreadIndex.create(client, backend=backend, codec="ascii", settings=SETTINGS)
    fakes = fake_ids(backend, N_FAKE, random.Random(5))
    index.add_many(fakes)
    index.compact()
    kids = [index.create_child().id for _ in range(3)]
    built = Built(emu, client, backend, index, fakes + kids)
    assert built.listed() == built.want
    return built


def clear_error(
    call: Callable[[], object], cls: type[LinkedThreadsError], *names: str
) -> LinkedThreadsError:
    """``call`` raises a public ``cls`` whose message names every one of ``names``."""
    with pytest.raises(LinkedThreadsError) as info:
        call()
    exc = info.value
    assert isinstance(exc, cls), f"expected {cls.__name__}, got {type(exc).__name__}: {exc}"
    for name in names:
        assert name in str(exc), f"{type(exc).__name__} message does not name {name!r}: {exc}"
    return exc


# -- IDs --------------------------------------------------------------------------------------


def bad_ids(backend: str) -> list[tuple[object, str]]:
    """(bad ID, what the message must contain)."""
    p = PREFIX[backend]
    other = "thread_abc" if backend == "conversations" else "conv_abc"
    return [
        ("", "empty"),
        (" ", "' '"),
        (p, repr(p)),
        (other, repr(other)),
        ("msg_abc", "'msg_abc'"),
        ("x" * 10_000, "x" * 40),
        (p + "y" * 10_000, p + "y" * 30),
        (p + "a b", repr(p + "a b")),
        (p + "a\nb", repr(p + "a\nb")),
        (p + "a\x00b", repr(p + "a\x00b")),
        (p + "a\tb", repr(p + "a\tb")),
        (None, "NoneType"),
        (42, "int"),
        (b"conv_abc", "bytes"),
    ]


def test_bad_ids_are_refused_before_any_request(built: Built) -> None:
    """Wrong kind, empty, 10k characters, whitespace, NUL, non-strings: InvalidIdError naming
    the ID, no request sent, nothing changed; `in` just answers False."""
    ix = built.index
    for bad, name in bad_ids(built.backend):
        before = ix.requests
        for op in (ix.add, ix.remove, ix.delete):
            clear_error(lambda op=op, bad=bad: op(bad), InvalidIdError, name)
        for op in (ix.add_many, ix.remove_many, ix.delete_many):
            clear_error(lambda op=op, bad=bad: op([built.want[0], bad]), InvalidIdError, name)
        assert ix.requests == before, f"{bad!r:.40}: a request was sent"
        assert (bad in ix) is False
    clear_error(lambda: ix.add_many(built.want[0]), InvalidIdError, "list")
    assert built.listed() == built.want


def test_open_with_bad_root_id(raw: openai.OpenAI) -> None:
    """open() of something that is not a root ID of either kind: InvalidIdError."""
    client = raw
    for root in ["", "x" * 10_000, "msg_abc", " ", None, 7, b"conv_x"]:
        clear_error(
            lambda root=root: ThreadIndex.open(client, root, settings=SETTINGS), InvalidIdError
        )


def test_open_with_odd_root_id(built: Built) -> None:
    """open() of a well-prefixed but odd ID names it: refused locally or no such index."""
    for suffix in ["a b", "a\nb", "a\x00b", "😀", "y" * 10_000, "%2e%2e", "a?b=c", "a#b"]:
        root = PREFIX[built.backend] + suffix
        clear_error(
            lambda root=root: ThreadIndex.open(built.client, root, settings=SETTINGS),
            (IndexNotFoundError, InvalidIdError),  # refused locally, or no such index
            repr(root)[:40],
        )


def test_id_with_a_slash(built: Built) -> None:
    """An ID with '/' is refused as InvalidIdError (or, if it can be listed, verify() still
    works and reports it dangling)."""
    slashed = PREFIX[built.backend] + "a/b"
    clear_error(lambda: built.index.delete(slashed), InvalidIdError, slashed)
    clear_error(
        lambda: ThreadIndex.open(built.client, slashed, settings=SETTINGS), InvalidIdError, slashed
    )
    clear_error(lambda: built.index.add(slashed), InvalidIdError, slashed)


# -- metadata -----------------------------------------------------------------------------


def md(n: int) -> dict[str, str]:
    return {f"k{i}": "v" for i in range(n)}


def test_metadata_at_the_limits(built: Built) -> None:
    """15 keys, 64-character keys, 512-character values (also outside the BMP) are taken."""
    ix = built.index
    ok = [md(15), {"k" * 64: "v"}, {"k": "v" * 512}, {"k": "😀" * 512}, {"ключ": "значение"}]
    made = [ix.create_child(metadata=m).id for m in ok]
    for m, id_ in zip(ok, made, strict=True):
        got = retrieve_metadata(built.client, built.backend, id_)
        assert got is not None
        assert {k: got[k] for k in m} == m
    assert built.listed() == built.want + made
    root = ThreadIndex.create(
        built.client, backend=built.backend, metadata=md(13), settings=SETTINGS
    )
    assert list(root.all()) == []


OVER_LIMITS: list[tuple[Any, str]] = [
    (md(16), "16 keys"),
    ({"k" * 65: "v"}, "k" * 40),
    ({"k": "v" * 513}, "'k'"),
    ({"num": 5}, "'num'"),
    ({"none": None}, "'none'"),
    ({"lst": ["a"]}, "'lst'"),
    ({5: "v"}, "5"),
    ({"": "v"}, "''"),
    ({"linkedthreads": "x"}, "'linkedthreads'"),
    ({"lt_codec": "x"}, "'lt_codec'"),
    ("not a mapping", "str"),
]


def test_metadata_over_the_limits(built: Built) -> None:
    """Over a limit: MetadataError naming the key, before any request; nothing created."""
    live = built.emu.live_ids(built.backend)
    before = built.index.requests
    for metadata, name in OVER_LIMITS:
        clear_error(lambda m=metadata: built.index.create_child(metadata=m), MetadataError, name)
        clear_error(
            lambda m=metadata: built.index.create_children(3, metadata=m), MetadataError, name
        )
    assert built.index.requests == before
    assert built.emu.live_ids(built.backend) == live
    assert built.listed() == built.want


def test_root_metadata_over_the_limit(emu: Any, raw: openai.OpenAI) -> None:
    """The root leaves 13 keys to the user: 14 is refused before any request."""
    client = raw
    clear_error(
        lambda: ThreadIndex.create(client, backend="conversations", metadata=md(14)),
        MetadataError,
        "14 keys",
    )
    assert emu.live_ids("conversations") == set()


def test_server_counting_utf16_refuses_astral_metadata(built: Built) -> None:
    """A server that counts UTF-16 units refuses 512 emoji (1024 units): MetadataError naming
    the key, no orphan, nothing damaged."""
    built.emu.update_settings(metadata_length_unit="utf16")
    live = built.emu.live_ids(built.backend)
    clear_error(
        lambda: built.index.create_child(metadata={"emoji": "😀" * 512}),
        MetadataError,
        "metadata.emoji",
    )
    assert built.emu.live_ids(built.backend) == live
    assert built.listed() == built.want


@pytest.mark.parametrize("mode", ["ascii_reject", "ascii_replace"])
def test_server_mangling_unicode_metadata(emu: Any, raw: openai.OpenAI, mode: str) -> None:
    """A server that refuses or mangles non-ASCII metadata: codec='auto' falls back to ASCII
    pages and works; codec='dense' is refused up front (reject) or detected (replace)."""
    emu.update_settings(metadata_text=mode)
    client = raw
    ix = ThreadIndex.create(client, backend="conversations", settings=SETTINGS)
    assert ix.codec == "ascii"
    ids = fake_ids("conversations", 400, random.Random(1))
    ix.add_many(ids)
    ix.compact(full=True)
    assert list(ThreadIndex.open(client, ix.root_id, settings=SETTINGS).all()) == ids
    if mode == "ascii_reject":
        clear_error(
            lambda: ThreadIndex.create(
                client, backend="conversations", codec="dense", settings=SETTINGS
            ),
            MetadataError,
        )
    else:
        dense = ThreadIndex.create(
            client, backend="conversations", codec="dense", settings=SETTINGS
        )
        assert dense.codec == "ascii"


# -- the journal ----------------------------------------------------------------------------

FOREIGN = [
    "hello, I am not a record",
    "[1, 2]",
    '{"lt": 1, "op": "add"}',
    '{"lt":1}',
    '{"lt":1,"op":"frob","ids":"whatever"}',
    '{"lt":1,"op":"ckpt"}',
    '{"lt":1,"op":"add","ids":""}',
    "",
    '{"lt":1,"op":"rm","ids":null}',
]


def test_foreign_journal_lines_are_ignored(built: Built) -> None:
    """Lines that are not records, unknown ops, empty records: the list is unchanged, and
    the index stays writable and compactable."""
    for text in FOREIGN:
        append_text(built.client, built.backend, built.root, text or " ")
    ix = built.fresh()
    assert list(ix.all()) == built.want
    assert len(ix) == len(built.want)
    child = ix.create_child().id
    ix.compact(full=True)
    assert built.listed() == [*built.want, child]


DAMAGED = [
    '{"lt":1,"op":',  # cut in the middle
    '{"lt":1,"op":"add","ids":"',  # cut inside a string
    '{"lt":1,"op":"add","ids":5}',
    '{"lt":"1","op":"add","ids":""}',
    '{"lt":1e400,"op":"add"}',
    '{"lt":1,"op":"ckpt","upto":5}',
    '{"lt":1,"op":"ckpt","upto":"x","garbage":[[1]]}',
    '{"lt":1,"op":"ckpt","upto":"x","garbage":7}',
    '{"lt":1,"op":"ckpt","upto":"x","seen":5}',
    '{"lt":1,"op":"ckpt","upto":"x","t":"abc"}',
    '{"lt":1,"op":"ckpt","upto":"x","slots":-3}',
    '{"lt":1,"op":"ckpt","upto":"x","extra":"","cond":"1"}',
    '{"lt":1,"op":"ckpt","upto":"x","cond":5}',
]


def test_damaged_journal_entry(built: Built) -> None:
    """A record cut short or with wrong types: CorruptIndexError naming the entry from every
    reader (all, len, in, verify, compact); deleting the entry restores the same list."""
    for text in DAMAGED:
        entry = append_text(built.client, built.backend, built.root, text)
        ix = built.fresh()
        calls: list[Callable[[], object]] = [
            lambda ix=ix: list(ix.all()),
            lambda ix=ix: len(ix),
            lambda ix=ix: built.want[0] in ix,
            lambda ix=ix: ix.verify(repair=True),
            lambda ix=ix: ix.compact(full=True),
        ]
        for call in calls:
            try:
                clear_error(call, CorruptIndexError, entry)
            except AssertionError as exc:
                raise AssertionError(f"journal text {text!r}: {exc}") from None
        delete_entry(built.client, built.backend, built.root, entry)
        assert built.listed() == built.want


@pytest.mark.parametrize("ids", ["!!!", "A" * 30, "+;bhP{4?j?/W;r&2|)9:xp:mx;D<jaU"])
def test_undecodable_ids_name_their_entry(built: Built, ids: str) -> None:
    """Packed IDs that do not decode (bad version, bad checksum): the error names the entry."""
    entry = append_text(
        built.client, built.backend, built.root, '{"lt":1,"op":"add","ids":"' + ids + '"}'
    )
    clear_error(lambda: list(built.fresh().all()), CorruptIndexError, entry)


def test_undecodable_ids_are_corrupt_not_raw_errors(built: Built) -> None:
    """Packed IDs that do not decode: CorruptIndexError (not ValueError/IndexError), and the
    list comes back once the entry is deleted."""
    for ids in ["!!!", "A" * 30, "+;bhP{4?j?/W;r&2|)9:xp:mx;D<jaU", "~" * 600]:
        entry = append_text(
            built.client, built.backend, built.root, '{"lt":1,"op":"rm","ids":"' + ids + '"}'
        )
        clear_error(lambda: list(built.fresh().all()), CorruptIndexError)
        delete_entry(built.client, built.backend, built.root, entry)
    assert built.listed() == built.want


def test_newer_record_format(built: Built) -> None:
    """A record of format 2: UnsupportedFormatError naming the entry; readable again once it
    is gone."""
    entry = append_text(built.client, built.backend, built.root, '{"lt":2,"op":"add","ids":""}')
    clear_error(lambda: list(built.fresh().all()), UnsupportedFormatError, entry, "upgrade")
    delete_entry(built.client, built.backend, built.root, entry)
    assert built.listed() == built.want


def test_checkpoint_entry_deleted(built: Built) -> None:
    """Deleting the entry that holds the newest checkpoint loses nothing: readers fall back
    to the journal."""
    entry, _ = built.checkpoint()
    delete_entry(built.client, built.backend, built.root, entry)
    assert built.listed() == built.want
    ix = built.fresh()
    ix.compact()
    assert built.listed() == built.want


def test_entry_a_checkpoint_covers_deleted(built: Built) -> None:
    """Deleting the entry a checkpoint names as ``upto`` makes readers replay the journal
    from its start (design 6.1): the list is exactly what the surviving records say (here,
    the IDs of the deleted entry, the last of add_many's entries of 100 IDs, design 6.3,
    are gone), with no error."""
    _, ck = built.checkpoint()
    delete_entry(built.client, built.backend, built.root, ck.upto)
    cut = (N_FAKE - 1) // 100 * 100
    assert built.listed() == built.want[:cut] + built.want[N_FAKE:]


def test_journal_entry_of_an_add_deleted(built: Built) -> None:
    """Deleting the entry of a child's add by hand: that child (only) leaves the list."""
    entries = read_journal_texts(built.client, built.backend, built.root)
    delete_entry(built.client, built.backend, built.root, entries[-2][0])
    assert built.listed() == [*built.want[:-2], built.want[-1]]


# -- pages ------------------------------------------------------------------------------------


def test_page_altered(built: Built) -> None:
    """A page whose metadata was changed by hand: CorruptIndexError naming the page from
    every reader that needs it; verify() reports it; verify(repair=True) rebuilds from the
    journal and the list is intact."""
    _, ck = built.checkpoint()
    page = ck.pages[0]
    meta = retrieve_metadata(built.client, built.backend, page)
    assert meta is not None
    key = sorted(meta)[2]
    update_metadata(
        built.client,
        built.backend,
        page,
        {key: meta[key][:-1] + ("B" if meta[key][-1] == "A" else "A")},
    )
    ix = built.fresh()
    clear_error(lambda: list(ix.all()), CorruptIndexError, page)
    clear_error(lambda: built.want[1] in ix, CorruptIndexError, page)
    clear_error(lambda: ix.compact(full=True), CorruptIndexError, page)
    report = ix.verify()
    assert not report.ok
    assert any(page in p for p in report.problems)
    repaired = ix.verify(repair=True)
    assert repaired.repaired
    assert built.listed() == built.want
    assert built.fresh().verify().problems == []


@pytest.mark.slow
def test_page_deleted_is_repaired(built: Built) -> None:
    """A page deleted by hand: verify() reports it, verify(repair=True) rebuilds from the
    journal, and the list is intact."""
    _, ck = built.checkpoint()
    delete_object(built.client, built.backend, ck.pages[0])
    ix = built.fresh()
    report = ix.verify()
    assert any(ck.pages[0] in p for p in report.problems)
    assert ix.verify(repair=True).repaired
    assert built.listed() == built.want


def test_page_deleted_gives_corrupt_index_error(built: Built) -> None:
    """A page deleted by hand: every reader raises CorruptIndexError naming it."""
    _, ck = built.checkpoint()
    page = ck.pages[0]
    delete_object(built.client, built.backend, page)
    ix = built.fresh()
    clear_error(lambda: list(ix.all()), CorruptIndexError, page)
    clear_error(lambda: built.want[1] in ix, CorruptIndexError, page)
    clear_error(lambda: ix.compact(full=True), CorruptIndexError, page)


def test_checkpoint_naming_objects_that_are_not_pages(built: Built) -> None:
    """A forged checkpoint whose pages are the root or a child: CorruptIndexError naming it."""
    from linkedthreads._journal import Checkpoint, Record, dump_records

    newest = read_journal_texts(built.client, built.backend, built.root)[-1][0]
    for impostor in (built.root, built.want[-1]):
        forged = Checkpoint(upto=newest, pages=(impostor,), slots=1)
        entry = append_text(
            built.client,
            built.backend,
            built.root,
            dump_records([Record(op="ckpt", checkpoint=forged)], "f00d.0"),
        )
        clear_error(lambda: list(built.fresh().all()), CorruptIndexError, impostor)
        delete_entry(built.client, built.backend, built.root, entry)
    assert built.listed() == built.want


# -- the root -------------------------------------------------------------------------------


def test_root_of_a_newer_format(built: Built) -> None:
    """linkedthreads: index/99 on the root: UnsupportedFormatError naming the root; an
    instance opened before keeps reading; restoring the tag restores everything."""
    update_metadata(built.client, built.backend, built.root, {"linkedthreads": "index/99"})
    clear_error(built.fresh, UnsupportedFormatError, built.root, "99")
    assert list(built.index.all()) == built.want
    update_metadata(built.client, built.backend, built.root, {"linkedthreads": "index/1"})
    assert built.listed() == built.want


def test_root_with_a_malformed_tag(built: Built) -> None:
    """A root tag that is not index/<int>: NotAnIndexError naming the root."""
    for tag in ["index/x", "index/", "index/1.0", "", "INDEX/1", "index", "in:"]:
        update_metadata(built.client, built.backend, built.root, {"linkedthreads": tag})
        clear_error(built.fresh, NotAnIndexError, built.root)
    update_metadata(built.client, built.backend, built.root, {"linkedthreads": "index/1"})
    assert built.listed() == built.want


def test_root_codec_keys_tampered(built: Built) -> None:
    """An unknown lt_codec or a mangled probe: the index reads, and writes ASCII pages."""
    update_metadata(
        built.client, built.backend, built.root, {"lt_codec": "zstd", "lt_probe": "mangled"}
    )
    ix = built.fresh()
    assert ix.codec == "ascii"
    ix.compact(full=True)
    assert built.listed() == built.want


def test_objects_that_are_not_roots(built: Built) -> None:
    """A child, a page, a plain object and a missing one opened as roots: clear errors
    naming them (a child's names its index)."""
    child = built.want[-1]
    clear_error(
        lambda: ThreadIndex.open(built.client, child, settings=SETTINGS),
        NotAnIndexError,
        child,
        built.root,
    )
    _, ck = built.checkpoint()
    clear_error(
        lambda: ThreadIndex.open(built.client, ck.pages[0], settings=SETTINGS),
        NotAnIndexError,
        ck.pages[0],
    )
    if built.backend == "threads":
        plain = built.client.beta.threads.create(metadata={"a": "b"}).id
    else:
        plain = built.client.conversations.create(metadata={"a": "b"}).id
    clear_error(
        lambda: ThreadIndex.open(built.client, plain, settings=SETTINGS), NotAnIndexError, plain
    )
    delete_object(built.client, built.backend, plain)
    clear_error(
        lambda: ThreadIndex.open(built.client, plain, settings=SETTINGS), IndexNotFoundError, plain
    )


def test_root_deleted_under_an_open_instance(built: Built) -> None:
    """The root deleted by hand: every call of an open instance raises IndexNotFoundError
    naming it."""
    delete_object(built.client, built.backend, built.root)
    ix = built.index
    for call in (
        lambda: list(ix.all()),
        lambda: len(ix),
        lambda: ix.add(built.want[0]),
        lambda: ix.remove(built.want[0]),
        ix.create_child,
        ix.compact,
        lambda: ix.verify(repair=True),
        built.fresh,
    ):
        clear_error(call, IndexNotFoundError, built.root)


# -- servers that fail ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "503", "429", "drop"])
def test_server_failing_forever(built: Built, kind: str) -> None:
    """Every request fails: APIRequestError naming the request and the object, after the
    retries; once the server recovers the list is intact and the index writable."""
    built.emu.update_settings(fault_rate=1.0, fault_weights={kind: 1.0}, retry_after_s=0)
    ix = built.index
    calls: list[tuple[Callable[[], object], tuple[str, ...]]] = [
        (lambda: list(ix.all()), (built.root,)),
        (lambda: len(ix), (built.root,)),
        (lambda: ix.add(built.want[0]), (built.root,)),
        (lambda: ix.remove(built.want[5]), (built.root,)),
        (lambda: ix.delete(built.want[-1]), (built.root, built.want[-1])),
        (lambda: ix.compact(full=True), (built.root,)),
        (built.fresh, (built.root,)),
        (ix.create_child, (built.root, "create")),
    ]
    for call, names in calls:
        exc = clear_error(call, APIRequestError)
        assert any(n in str(exc) for n in names), f"{exc} names none of {names}"
        if kind != "drop":
            assert exc.status_code == int(kind)  # type: ignore[attr-defined]
    built.emu.update_settings(fault_rate=0.0)
    assert built.listed() == built.want
    extra = ix.create_child().id
    assert built.listed() == [*built.want, extra]


@pytest.mark.slow
def test_retry_after_is_honoured(built: Built) -> None:
    """429 with retry-after: 1 on every request: a policy of 3 attempts waits twice ~1 s
    (the one test that sleeps), then APIRequestError 429."""
    built.emu.update_settings(fault_rate=1.0, fault_weights={"429": 1.0}, retry_after_s=1)
    policy = IndexSettings(retry=RetryPolicy(attempts=3, max_delay=30))
    started = time.monotonic()
    exc = clear_error(
        lambda: ThreadIndex.open(built.client, built.root, settings=policy),
        APIRequestError,
        built.root,
    )
    elapsed = time.monotonic() - started
    assert exc.status_code == 429  # type: ignore[attr-defined]
    assert 1.9 <= elapsed < 10, elapsed
    built.emu.update_settings(fault_rate=0.3, fault_weights={"429": 1.0})
    ix = ThreadIndex.open(
        built.client,
        built.root,
        settings=IndexSettings(retry=RetryPolicy(attempts=12, max_delay=60)),
    )
    assert list(ix.all()) == built.want


def test_server_not_running(emu: Any) -> None:
    """Nothing listens: APIRequestError saying the server cannot be reached."""
    with openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0) as client:
        clear_error(
            lambda: ThreadIndex.open(client, "conv_" + "0" * 48, settings=SETTINGS),
            APIRequestError,
            "could not reach",
        )
        clear_error(
            lambda: ThreadIndex.create(client, backend="threads", settings=SETTINGS),
            APIRequestError,
            "could not reach",
        )


def test_server_restarted_keeps_the_index(tmp_path: Any) -> None:
    """The server stops mid-use (connection refused) and comes back on the same port with
    its state: the open instance fails clearly meanwhile, then carries on, nothing lost."""
    from torture.emulator import start_emulator

    state = tmp_path / "state.json"
    first = start_emulator(seed=1, state_file=state)
    port = int(first.base_url.rsplit(":", 1)[1].split("/")[0])
    client = raw_client(first.base_url, max_retries=0)
    ix = ThreadIndex.create(client, backend="conversations", settings=SETTINGS)
    kids = [c.id for c in ix.create_children(5)]
    first.stop()
    clear_error(lambda: list(ix.all()), APIRequestError, ix.root_id)
    clear_error(ix.create_child, APIRequestError, "could not reach")
    second = start_emulator(seed=2, state_file=state, port=port)
    try:
        assert list(ix.all()) == kids
        more = ix.create_child().id
        assert list(ThreadIndex.open(client, ix.root_id, settings=SETTINGS).all()) == [*kids, more]
    finally:
        client.close()
        second.stop()


def test_threads_sunset(emu: Any, raw: openai.OpenAI) -> None:
    """A server that no longer serves threads (OpenAI since 2026-08-26):
    BackendUnavailableError that says so."""
    emu.update_settings(threads_sunset=True)
    client = raw
    clear_error(
        lambda: ThreadIndex.create(client, backend="threads", settings=SETTINGS),
        BackendUnavailableError,
        "threads",
        "conversations",
    )
    ix = ThreadIndex.create(client, backend="conversations", settings=SETTINGS)
    assert list(ix.all()) == []


def test_wrong_api_key(emu: Any, raw: openai.OpenAI) -> None:
    """401: APIRequestError with the status, naming the root."""
    client = raw
    ix = ThreadIndex.create(client, backend="conversations", settings=SETTINGS)
    emu.update_settings(api_key="sk-the-right-key-0123456789")
    exc = clear_error(
        lambda: ThreadIndex.open(client, ix.root_id, settings=SETTINGS), APIRequestError, ix.root_id
    )
    assert exc.status_code == 401  # type: ignore[attr-defined]
