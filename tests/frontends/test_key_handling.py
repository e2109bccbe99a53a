"""Servers that alter or refuse non-ASCII metadata KEYS (issue 16, finding 1; design 5.3-5.4).

The record does not say whether non-ASCII keys are kept, refused or altered, so the
emulator's ``metadata_keys`` setting makes each answer a server: keys with ``?`` for each
non-ASCII character, normalised to NFD, cut at 64 UTF-8 bytes, non-ASCII keys refused, keys
counted in UTF-8 bytes. Dense pages use keys of 64 characters (an ASCII mark and 63 CJK or
Hangul characters), so on each of them: the probe keeps a new index ASCII; a dense index
whose server starts altering keys falls back to ASCII at its next page write, for good and
for every process, with nothing lost; a broken index is found by ``verify`` and mended by
``verify(repair=True)``; and lone creates cost what they cost on a normal server. End to end:
the real SDK over HTTP against the emulator, both backends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from linkedthreads import (
    BackendUnavailableError,
    CorruptIndexError,
    IndexSettings,
    MetadataError,
    ThreadIndex,
)
from linkedthreads._codec import DENSE_PROBE, KEY_PROBE
from linkedthreads._protocol import compaction
from linkedthreads.emulator import _validation
from tests.conftest import BACKENDS_THREADS_SLOW
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # some tests read threads with the SDK themselves

KEY_MODES = ["ascii_replace", "nfd", "utf8_cut", "ascii_reject", "utf8_length"]
# The fast loop (-m "not slow") tries a server that alters keys and one that refuses them.
KEY_MODES_TWO_FAST = [
    pytest.param(m, marks=() if m in ("ascii_replace", "ascii_reject") else pytest.mark.slow)
    for m in KEY_MODES
]
SETTINGS = IndexSettings(gc_grace_seconds=0)
# Pages of about 40 IDs, so that a few hundred children make several pages. Their keys are
# still full length: a dense key carries 945 bits, an ASCII one 409. Readers need nothing.
SMALL_PAGES = IndexSettings(gc_grace_seconds=0, max_page_ids=40)


def total(emu: Any) -> int:
    return int(emu.stats()["total"])


def raw_create(client: Any, backend: str, metadata: dict[str, str]) -> str:
    if backend == "threads":
        return str(client.beta.threads.create(metadata=metadata).id)
    return str(client.conversations.create(metadata=metadata).id)


def index_objects(emu: Any, backend: str, root_id: str, children: set[str]) -> set[str]:
    """Live objects that are neither the root nor a child: pages and directories."""
    return emu.live_ids(backend) - children - {root_id}


def page_keys_are_ascii(client: Any, backend: str, pages: set[str]) -> bool:
    for page in pages:
        obj = (
            client.beta.threads.retrieve(page)
            if backend == "threads"
            else client.conversations.retrieve(page)
        )
        if not all(k.isascii() for k in obj.metadata):
            return False
    return True


@pytest.fixture(params=BACKENDS_THREADS_SLOW)
def backend(request: pytest.FixtureRequest) -> str:
    """Both backends; the fast loop runs this module on conversations only."""
    return str(request.param)


@pytest.fixture
def emu_client(emulator_factory: Any) -> Iterator[Any]:
    """A fresh emulator (``seed=1``) and a client on it, as ``(emu, client)``."""
    emu = emulator_factory(seed=1)
    client = emu.client()
    yield emu, client
    client.close()


# -- the probe: a new index on such a server stays ASCII ------------------------------------------


@pytest.mark.parametrize("mode", KEY_MODES_TWO_FAST)
def test_a_new_index_stays_ascii_where_keys_are_not_kept(
    emulator_factory: Any, backend: str, mode: str
) -> None:
    """The probe is a key and a value of a dense page's longest shape: a server that keeps
    values but alters or refuses such keys gets ASCII pages, which every fresh reader,
    ``verify`` and ``destroy`` read (on today's main: CorruptIndexError)."""
    emu = emulator_factory(seed=1, metadata_keys=mode)
    client = emu.client()
    idx = ThreadIndex.create(client, backend=backend, settings=SMALL_PAGES)  # type: ignore[arg-type]
    assert idx.codec == "ascii"
    ids = [c.id for c in idx.create_children(130)]
    idx.compact()
    fresh = ThreadIndex.open(client, idx.root_id, settings=SETTINGS)
    assert fresh.codec == "ascii"
    assert list(fresh.all()) == ids
    assert len(fresh) == 130
    report = fresh.verify()
    assert report.ok
    assert report.children == 130
    assert report.pages == 3
    fresh.destroy()
    assert emu.live_ids(backend) == set()


def test_the_issue_reproduction_reads_back(emulator_factory: Any) -> None:
    """The issue's patched server (keys with ``?``): 800 children, compact, a fresh reader."""
    emu = emulator_factory(seed=1, metadata_keys="ascii_replace")
    ix = ThreadIndex.create(emu.client(), backend="conversations")
    ix.create_children(800)
    ix.compact()
    assert len(list(ThreadIndex.open(emu.client(), ix.root_id).all())) == 800


def test_where_keys_are_kept_the_index_is_dense(emu_client: Any, backend: str) -> None:
    """The default server keeps keys and values: dense pages, checked and used."""
    _emu, client = emu_client
    idx = ThreadIndex.create(client, backend=backend, settings=SMALL_PAGES)  # type: ignore[arg-type]
    assert idx.codec == "dense"
    ids = [c.id for c in idx.create_children(90)]
    idx.compact()
    fresh = ThreadIndex.open(client, idx.root_id)
    assert fresh.codec == "dense"
    assert list(fresh.all()) == ids
    assert fresh.verify().pages == 2


def test_dense_asked_on_a_refusing_server_names_no_internal_key(emulator_factory: Any) -> None:
    """``codec="dense"`` where non-ASCII keys are refused: one clear error, which quotes
    neither the probe key nor anything else the user never wrote."""
    emu = emulator_factory(metadata_keys="ascii_reject")
    with pytest.raises(MetadataError) as info:
        ThreadIndex.create(emu.client(), backend="conversations", codec="dense")
    assert str(info.value).isascii()
    assert "codec" in str(info.value)
    assert emu.live_ids("conversations") == set()


# -- the write-time check and the fallback --------------------------------------------------------


@pytest.mark.parametrize("mode", KEY_MODES_TWO_FAST)
def test_a_dense_index_falls_back_for_good_and_for_every_process(
    emu_client: Any, backend: str, mode: str
) -> None:
    """An index made dense (its server kept keys then) whose server then alters or refuses
    non-ASCII keys: the next page write fails its check, the pages go out in ASCII, the
    checkpoint says so, and another process that opens the root (whose probe still says
    dense) writes ASCII too. Nothing is lost; verify and destroy work."""
    emu, client = emu_client
    idx = ThreadIndex.create(client, backend=backend, settings=SMALL_PAGES)  # type: ignore[arg-type]
    first = [c.id for c in idx.create_children(50)]
    idx.compact()
    assert idx.codec == "dense"
    dense_pages = index_objects(emu, backend, idx.root_id, set(first))
    assert dense_pages
    emu.update_settings(metadata_keys=mode)
    second = [c.id for c in idx.create_children(60)]
    idx.compact()
    assert idx.codec == "ascii"
    other = ThreadIndex.open(client, idx.root_id, settings=SMALL_PAGES)
    assert other.codec == "dense"  # the root alone cannot tell
    third = [c.id for c in other.create_children(40)]
    other.compact(full=True)
    assert other.codec == "ascii"  # learned from the checkpoint, before any page was sent
    everything = first + second + third
    fresh = ThreadIndex.open(client, idx.root_id, settings=SETTINGS)
    assert list(fresh.all()) == everything
    assert len(fresh) == len(everything)
    report = fresh.verify()
    assert report.ok
    assert report.children == len(everything)
    pages = index_objects(emu, backend, idx.root_id, set(everything))
    # Dense pages written while the server kept keys are intact and stay in use; every page
    # written since is ASCII.
    assert page_keys_are_ascii(client, backend, pages - dense_pages)
    assert pages - dense_pages
    fresh.destroy()
    assert emu.live_ids(backend) == set()


SECOND_PROCESS = """
import sys, warnings
warnings.simplefilter("ignore")
import openai
from linkedthreads import IndexSettings, ThreadIndex
client = openai.OpenAI(base_url=sys.argv[1], api_key="test-key")
settings = IndexSettings(gc_grace_seconds=0, max_page_ids=40)
index = ThreadIndex.open(client, sys.argv[2], settings=settings)
before = index.codec
index.create_children(70)
index.compact()
print(before, index.codec)
"""


def test_a_second_process_sends_no_dense_page(emu_client: Any, backend: str) -> None:
    """The fallback is in the checkpoint: another process that opens the index afterwards
    (its root still says dense) learns it from its first read of the journal and never sends
    a dense page: every page it creates is accepted and ASCII."""
    emu, client = emu_client
    idx = ThreadIndex.create(client, backend=backend, settings=SMALL_PAGES)  # type: ignore[arg-type]
    idx.create_children(50)
    emu.update_settings(metadata_keys="ascii_reject")
    idx.compact()
    assert idx.codec == "ascii"
    creates = f"POST /v1/{backend}"
    before, live = emu.stats()["requests"].get(creates, 0), emu.live_ids(backend)
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, emu.base_url, idx.root_id],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["dense", "ascii"]
    sent = emu.stats()["requests"].get(creates, 0) - before
    new = emu.live_ids(backend) - live
    assert len(new) == sent  # none refused: 70 children and the pages
    pages = new - set(ThreadIndex.open(client, idx.root_id).all())
    assert pages
    assert page_keys_are_ascii(client, backend, pages)
    assert len(ThreadIndex.open(client, idx.root_id)) == 120


def lone_creates(emulator_factory: Any, backend: str, mode: str, n: int) -> tuple[int, Any]:
    """Requests that ``n`` lone create_child calls cost on an index made dense whose server
    then handles keys as ``mode``; and the index."""
    emu = emulator_factory(seed=1)
    client = emu.client()
    settings = IndexSettings(max_page_ids=40, first_compaction_after=32)  # the same phase
    idx = ThreadIndex.create(client, backend=backend, settings=settings)  # type: ignore[arg-type]
    emu.update_settings(metadata_keys=mode)
    before = total(emu)
    for _ in range(n):
        idx.create_child()
    spent = total(emu) - before
    assert idx.stats().tail_entries < 100
    assert len(ThreadIndex.open(client, idx.root_id)) == n
    return spent, idx


@pytest.mark.slow
def test_lone_creates_cost_the_same_whatever_the_server_does_with_keys(
    emulator_factory: Any, backend: str
) -> None:
    """Lone create_child calls on an index made dense, its server then refusing or altering
    non-ASCII keys, cost what they cost on a normal server, to a few requests: the fallback
    costs the pages of one compaction sent dense and refused (or altered, then deleted);
    here two pages at most. Pages of 40 IDs, so that
    300 children write several (on today's main, on a refusing server, 3,000 lone creates
    with full pages cost 38,223 requests, 12.7 each, and the journal tail reached 2,296)."""
    n = 300
    normal, idx = lone_creates(emulator_factory, backend, "intact", n)
    assert idx.codec == "dense"
    assert 2 * n < normal <= 2.06 * n  # with pages of 40 IDs, ~0.04 a child of upkeep
    for mode, fallback in (("ascii_reject", 2), ("ascii_replace", 4)):
        spent, idx = lone_creates(emulator_factory, backend, mode, n)
        assert idx.codec == "ascii"
        assert normal < spent <= normal + fallback, (mode, spent, normal)


def test_a_server_that_alters_ascii_keys_too_gets_a_clear_error(
    emu_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No alphabet to fall back to: one clear error, naming no internal key, and nothing
    lost (the journal still lists every child)."""
    emu, client = emu_client
    idx = ThreadIndex.create(client, backend="conversations", codec="ascii", settings=SMALL_PAGES)
    ids = [c.id for c in idx.create_children(50)]
    real = _validation.metadata

    def lower_page_keys(value: Any, settings: Any, *, param: str = "metadata") -> Any:
        out = real(value, settings, param=param)
        if out and all(k[:1] in "ABCDEFGHIJKLMNOP" for k in out):
            return {k[:1] + k[1:].lower(): v for k, v in out.items()}
        return out

    monkeypatch.setattr(_validation, "metadata", lower_page_keys)
    with pytest.raises(BackendUnavailableError) as info:
        idx.compact()
    assert "ASCII" in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert list(ThreadIndex.open(client, idx.root_id).all()) == ids
    assert emu.live_ids("conversations") == set(ids) | {idx.root_id}  # its page deleted


# -- an index broken before the fix ---------------------------------------------------------------


def legacy_root(client: Any, backend: str) -> str:
    """A root as linkedthreads wrote them before the key probe: the value probe only."""
    return raw_create(
        client,
        backend,
        {"linkedthreads": "index/1", "lt_codec": "auto", "lt_probe": DENSE_PROBE},
    )


def test_a_legacy_root_is_still_dense_and_checked(emu_client: Any, backend: str) -> None:
    """A root made before the key probe keeps its dense pages where the server keeps keys,
    and falls back where it does not (the write-time check)."""
    emu, client = emu_client
    root = legacy_root(client, backend)
    idx = ThreadIndex.open(client, root, settings=SMALL_PAGES)
    assert idx.codec == "dense"
    ids = [c.id for c in idx.create_children(50)]
    idx.compact()
    emu.update_settings(metadata_keys="utf8_cut")
    ids += [c.id for c in idx.create_children(60)]
    idx.compact()
    assert idx.codec == "ascii"
    assert list(ThreadIndex.open(client, root).all()) == ids


@pytest.mark.parametrize(
    "mode",
    ["ascii_replace", *(pytest.param(m, marks=pytest.mark.slow) for m in ("nfd", "utf8_cut"))],
)
def test_repair_mends_an_index_broken_before_the_fix(
    emu_client: Any, backend: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dense pages written without the check (as before the fix) on a server that altered
    their keys: readers fail, verify says so, and ``verify(repair=True)`` rebuilds readable
    ASCII pages from the journal (before the fix it wrote the same broken pages again and
    said children=0). Then every reader, verify and destroy work."""
    emu, client = emu_client
    root = legacy_root(client, backend)
    emu.update_settings(metadata_keys=mode)
    with monkeypatch.context() as m:
        m.setattr(compaction, "check_pages", lambda *a: None)  # before the fix
        old = ThreadIndex.open(client, root, settings=SMALL_PAGES)
        ids = [c.id for c in old.create_children(100)]
        old.remove(ids[5])
        old.compact(full=True)
    kept = ids.pop(5)  # removed: the object stays, unlisted
    fresh = ThreadIndex.open(client, root, settings=SMALL_PAGES)
    with pytest.raises(CorruptIndexError) as info:
        list(fresh.all())
    assert not any(c in str(info.value) for c in KEY_PROBE[1:])
    found = fresh.verify()
    assert not found.ok
    assert found.problems
    mended = fresh.verify(repair=True)
    assert mended.repaired
    assert mended.children == len(ids)
    assert fresh.codec == "ascii"
    reader = ThreadIndex.open(client, root, settings=SETTINGS)
    assert list(reader.all()) == ids
    assert len(reader) == len(ids)
    assert reader.verify().ok
    reader.destroy()
    assert emu.live_ids(backend) == {kept}


# -- async -------------------------------------------------------------------------------------


async def test_the_async_front_end_falls_back_too(emu_client: Any) -> None:
    from linkedthreads import AsyncThreadIndex

    emu, _ = emu_client
    client = emu.async_client()
    try:
        idx = await AsyncThreadIndex.create(client, backend="threads", settings=SMALL_PAGES)
        assert idx.codec == "dense"
        emu.update_settings(metadata_keys="nfd")
        ids = [c.id for c in await idx.create_children(60)]
        await idx.compact()
        assert idx.codec == "ascii"
        fresh = await AsyncThreadIndex.open(client, idx.root_id)
        assert [i async for i in fresh.all()] == ids
    finally:
        await client.close()
