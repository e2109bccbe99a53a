"""The library's own threads calls do not emit the SDK's "Assistants API is deprecated"
``DeprecationWarning`` on the user's behalf (openai 3.x marks every ``client.beta.threads``
method with it): a user's code that runs with warnings as errors passes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from typing import Any

import openai
import pytest

from linkedthreads import AsyncThreadIndex, IndexSettings, ThreadIndex
from linkedthreads._quiet import quiet
from linkedthreads.cli._details import fetch, iter_entries

SETTINGS = IndexSettings(compact_every=2, gc_grace_seconds=0)


def test_the_sdk_still_warns_on_its_own() -> None:
    """The premise: a direct SDK call warns (if a release stops, ``quiet`` is moot, not
    wrong), and ``quiet`` returns the same SDK method unwrapped, bound to the same resource."""
    client = openai.OpenAI(api_key="test-key", base_url="http://127.0.0.1:9/v1")
    method = client.beta.threads.retrieve
    assert getattr(method.__func__, "__deprecated__", None)
    unwrapped = quiet(method)
    assert unwrapped.__self__ is client.beta.threads
    assert unwrapped.__func__ is method.__func__.__wrapped__
    plain = client.conversations.retrieve
    assert quiet(plain) is plain
    client.close()


def test_an_index_of_threads_emits_no_deprecation_warning(emulator: Any) -> None:
    """Every operation of a threads index, and the CLI's reads of threads, in process."""
    client = emulator.client()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadIndex.create(client, backend="threads", settings=SETTINGS) as index:
            kids = [index.create_child(messages=[{"role": "user", "content": "hi"}]).id]
            kids += [c.id for c in index.create_children(3)]
            index.delete(kids.pop(), erase_items=True)
            assert list(index.all()) == kids
            assert len(index) == 3
            assert kids[0] in index
            index.compact(full=True)
            assert index.verify().dangling == []
            info = fetch(client, kids[0], first_text=True)
            assert info.first_text == "hi"
            assert len(list(iter_entries(client, kids[0]))) == 1
            index.destroy(erase_items=True)
    client.close()
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []


async def test_an_async_index_of_threads_emits_no_deprecation_warning(emulator: Any) -> None:
    client = emulator.async_client()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = await AsyncThreadIndex.create(client, backend="threads", settings=SETTINGS)
        kid = (await index.create_child()).id
        assert [i async for i in index.all()] == [kid]
        await index.delete(kid, erase_items=True)
        assert await index.count() == 0
        await index.destroy()
    await client.close()
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []


USER_CODE = textwrap.dedent(
    """
    import asyncio
    from linkedthreads import AsyncThreadIndex, ThreadIndex
    from linkedthreads.testing import Emulator

    with Emulator() as emu:
        client = emu.client()
        index = ThreadIndex.create(client, backend="threads")
        child = index.create_child(metadata={"user": "42"})
        assert list(index.all()) == [child.id] and len(index) == 1
        index.delete(child.id, erase_items=True)
        index.compact(full=True)
        index.verify(repair=True)
        same = ThreadIndex.open(client, index.root_id)
        assert list(same.all()) == []
        index.destroy()

        async def main():
            aclient = emu.async_client()
            aindex = await AsyncThreadIndex.create(aclient, backend="threads")
            await aindex.create_child()
            assert await aindex.count() == 1
            await aindex.destroy()
            await aclient.close()

        asyncio.run(main())
    print("ok")
    """
)


@pytest.mark.parametrize("flag", ["error::DeprecationWarning", "error"])
def test_user_code_under_warnings_as_errors_passes(flag: str) -> None:
    """A user's program using a threads index, run with ``-W error::DeprecationWarning``
    (and with every warning an error), exits 0."""
    done = subprocess.run(
        [sys.executable, "-W", flag, "-c", USER_CODE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
