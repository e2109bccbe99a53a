"""Raw HTTP on loopback, outside the measured work: creating many objects fast (setup) and
sizing the journal page readers fetch.

The SDK spends about 1.6 ms of CPU a call; plain ``http.client`` about 0.2 ms. Growing an
index to 100,000 children through the SDK would take most of the run's budget, so the
large steps create their objects here (exactly as ``create_child`` makes them: one create
request each, with the child tag) and list them with ``ThreadIndex.add_many``, whose cost is
measured. Creation through the library (``create_children``) is measured on the smaller
steps.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping

__all__ = ["create_each", "create_objects", "journal_page_bytes", "path_of"]

_BETA = {"OpenAI-Beta": "assistants=v2"}


def path_of(backend: str) -> str:
    return "/v1/threads" if backend == "threads" else "/v1/conversations"


def create_objects(
    base_url: str,
    backend: str,
    n: int,
    metadata: Mapping[str, str] | None = None,
    *,
    threads: int = 4,
) -> list[str]:
    """Create ``n`` threads or conversations with ``metadata``; their IDs, in creation order
    within each worker (workers interleave)."""
    return create_each(base_url, backend, [metadata or {}] * n, threads=threads)


def create_each(
    base_url: str,
    backend: str,
    metadatas: list[Mapping[str, str]],
    *,
    threads: int = 4,
) -> list[str]:
    """Create one thread or conversation for each of ``metadatas``, with it; their IDs in
    the same order (an object's metadata is known by its position)."""
    n = len(metadatas)
    url = urllib.parse.urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    headers = {
        "Authorization": "Bearer bench-key",
        "Content-Type": "application/json",
        **(_BETA if backend == "threads" else {}),
    }
    out: list[str] = [""] * n
    errors: list[BaseException] = []

    def work(positions: range) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            for i in positions:
                body = json.dumps({"metadata": dict(metadatas[i])})
                conn.request("POST", path_of(backend), body=body, headers=headers)
                answer = conn.getresponse()
                data = json.loads(answer.read())
                if answer.status != 200:
                    raise RuntimeError(f"create failed: {answer.status} {data}")
                out[i] = data["id"]
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    share, rest = divmod(n, threads)
    bounds = [0]
    for i in range(threads):
        bounds.append(bounds[-1] + share + (1 if i < rest else 0))
    workers = [
        threading.Thread(target=work, args=(range(bounds[i], bounds[i + 1]),))
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return out


def journal_page_bytes(base_url: str, backend: str, root_id: str) -> int:
    """Bytes of the answer a reader gets when it lists the newest 100 journal entries (what
    ``open``-then-read, ``len``, ``in`` and ``all()`` each start with). One request."""
    kind = "messages" if backend == "threads" else "items"
    url = f"{base_url}{path_of(backend)[3:]}/{root_id}/{kind}?limit=100&order=desc"
    headers = {"Authorization": "Bearer bench-key", **(_BETA if backend == "threads" else {})}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
        return len(answer.read())
