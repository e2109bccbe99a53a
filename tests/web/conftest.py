"""Fixtures of the web page's tests: an index on the emulator with a few conversations, the
app over it, and (for the browser tests) the app served over real HTTP in a thread."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("jinja2", reason="the web page needs linkedthreads[web]")

from linkedthreads import ThreadIndex
from linkedthreads.web import create_app

TOKEN = "test-token-0123456789"
QUESTIONS = [
    ("How do I reset my password?", "Use the link on the sign-in page."),
    ("Can I export my invoices as CSV?", "Yes: Billing, then Export."),
    ("The app crashes when I upload a 2 GB file.", "Uploads are limited to 1 GB for now."),
    ("Translate 'good morning' into Italian.", "Buongiorno."),
    ("Summarise this meeting transcript in three bullet points.", "1. Budget approved..."),
    ("Which plan includes single sign-on?", "The Pro plan and above."),
    ("Write a haiku about autumn rain.", "Cold rain on the roof..."),
]
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def seed(index: ThreadIndex, n: int) -> list[str]:
    """``n`` conversations with metadata and a short exchange; the last one's first message
    is a script. Their IDs, oldest first."""
    ids = []
    for i in range(n):
        question, reply = QUESTIONS[i % len(QUESTIONS)]
        text = HOSTILE if i == n - 1 else f"#{i} {question}"
        child = index.create_child(
            metadata={"user": str(i % 3), "plan": "pro" if i % 2 else "free"},
            items=[
                {"type": "message", "role": "user", "content": text},
                {"type": "message", "role": "assistant", "content": reply},
            ],
        )
        ids.append(child.id)
    return ids


@pytest.fixture
def index(emulator: Any) -> Iterator[ThreadIndex]:
    client = emulator.client()
    idx = ThreadIndex.create(client, backend="conversations")
    yield idx
    idx.close()


@pytest.fixture
def app(index: ThreadIndex, emulator: Any) -> Any:
    return create_app(index, emulator.client(), token=TOKEN, page_size=10, where="the emulator")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match is not None
    return match.group(1)


class Served:
    """An ASGI app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
