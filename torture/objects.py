"""Objects made, read and changed with the raw SDK, beside the library (through its one
SDK adapter, ``linkedthreads._backends``): raw children to ``add``, hand-made journal
entries, metadata read back by the checker. One request each (a page of 100 for a list)."""

from __future__ import annotations

import random

import openai

from linkedthreads._backends import call, make_backend

from .settings import RAW_TAG


def _never(text: str) -> bool:
    """No check before a retry: the SDK's own retries (the library's transport is not used)."""
    return False


def fake_ids(backend: str, n: int, rng: random.Random) -> list[str]:
    """IDs of the right shape that name no object (``add`` does not check existence)."""
    if backend == "threads":
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return ["thread_" + "".join(rng.choice(alphabet) for _ in range(24)) for _ in range(n)]
    return ["conv_" + "".join(rng.choice("0123456789abcdef") for _ in range(48)) for _ in range(n)]


def create_raw(client: openai.OpenAI, backend: str, n: int, label: str) -> list[str]:
    """``n`` objects made with the raw SDK (not children of any index)."""
    requests = make_backend(backend)
    return [call(client, requests.create({RAW_TAG: f"{label}:{i}"}, {})).id for i in range(n)]


def retrieve_metadata(client: openai.OpenAI, backend: str, id_: str) -> dict[str, str] | None:
    """An object's metadata, or None if it does not exist."""
    try:
        return dict(call(client, make_backend(backend).retrieve(id_)).metadata)
    except openai.NotFoundError:
        return None


def read_journal_texts(client: openai.OpenAI, backend: str, root_id: str) -> list[tuple[str, str]]:
    """Every journal entry of the root, oldest first: (entry ID, text)."""
    requests = make_backend(backend)
    out: list[tuple[str, str]] = []
    after: str | None = None
    for _ in range(100_000):
        entries, has_more = call(client, requests.list_entries(root_id, order="asc", after=after))
        out.extend((e.id, e.text) for e in entries)
        if not has_more or not entries:
            break
        after = entries[-1].id
    return out


def append_text(client: openai.OpenAI, backend: str, root_id: str, text: str) -> str:
    """Append one message/item to ``root_id`` by hand; its ID."""
    return call(client, make_backend(backend).append(root_id, [text], _never))[0]


def delete_entry(client: openai.OpenAI, backend: str, root_id: str, entry_id: str) -> None:
    call(client, make_backend(backend).delete_entry(root_id, entry_id))


def update_metadata(client: openai.OpenAI, backend: str, id_: str, md: dict[str, str]) -> None:
    call(client, make_backend(backend).update(id_, md))


def delete_object(client: openai.OpenAI, backend: str, id_: str) -> None:
    call(client, make_backend(backend).delete(id_))
