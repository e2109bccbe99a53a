"""Fault injection, rate limits, latency, counters and concurrency, seen through the SDK."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import openai
import pytest

from linkedthreads.emulator import Emulator
from tests.sdk_warnings import OWN_THREADS_CALLS

pytestmark = OWN_THREADS_CALLS  # these tests call client.beta.threads themselves

RATE_LIMIT_MESSAGE = "You've exceeded the rate limit, please slow down and try again later."


def _outcomes(emu: Emulator, n: int) -> list[str]:
    client = emu.client(max_retries=0)
    out = []
    for _ in range(n):
        try:
            client.conversations.create()
            out.append("ok")
        except openai.APIStatusError as err:
            out.append(str(err.status_code))
        except openai.APIConnectionError:
            out.append("cut")
    return out


def test_faults_are_seeded_and_reproducible(emulator_factory: Callable[..., Emulator]) -> None:
    """The same seed gives the same faults, lost responses and IDs, request for request."""
    settings = {"seed": 11, "fault_rate": 0.5, "lost_response_rate": 0.3}
    a, b = emulator_factory(**settings), emulator_factory(**settings)
    first, second = _outcomes(a, 40), _outcomes(b, 40)
    assert first == second
    assert {"ok", "429", "500", "503", "cut"} <= set(first)
    assert a.stats()["faults"] == b.stats()["faults"]
    tail = lambda emu: sorted(i[13:] for i in emu.live_ids("conversations"))  # noqa: E731
    assert tail(a) == tail(b)  # the ID after the time digits is seeded

    a.reset()
    assert _outcomes(a, 40) == first  # reset restarts the seeded streams
    c = emulator_factory(**{**settings, "seed": 12})
    assert _outcomes(c, 40) != first


def test_seeded_ids(emulator_factory: Callable[..., Emulator]) -> None:
    """Threads and messages get the same IDs from the same seed."""
    ids = []
    for _ in range(2):
        client = emulator_factory(seed=3).client()
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
        ids.append((thread.id, client.beta.threads.messages.list(thread.id).data[0].id))
    assert ids[0] == ids[1]


def test_lost_response_applies_the_write(emulator_factory: Callable[..., Emulator]) -> None:
    """A lost response is a connection error after the write was applied; the SDK retries it
    and the retried create makes a second object."""
    emu = emulator_factory(lost_response_rate=1.0)
    with pytest.raises(openai.APIConnectionError):
        emu.client(max_retries=0).conversations.create()
    assert len(emu.live_ids("conversations")) == 1

    emu.reset()
    with pytest.raises(openai.APIConnectionError):
        emu.client(max_retries=1).conversations.create()
    assert len(emu.live_ids("conversations")) == 2  # the SDK retried: two objects
    stats = emu.stats()
    assert stats["requests"] == {"POST /v1/conversations": 2}
    assert stats["faults"]["lost_response"] == 2

    emu.update_settings(lost_response_rate=0.0)
    (conv_id,) = list(emu.live_ids("conversations"))[:1]
    client = emu.client(max_retries=0)
    emu.update_settings(lost_response_rate=1.0)
    with pytest.raises(openai.APIConnectionError):
        client.conversations.items.create(conv_id, items=[{"role": "user", "content": "x"}])
    emu.update_settings(lost_response_rate=0.0)
    assert len(client.conversations.items.list(conv_id).data) == 1  # the append happened
    assert client.conversations.retrieve(conv_id).id == conv_id  # reads are never lost


def test_dropped_connection_applies_nothing(emulator_factory: Callable[..., Emulator]) -> None:
    """A ``drop`` fault cuts the connection before anything is applied."""
    emu = emulator_factory(fault_rate=1.0, fault_weights={"drop": 1})
    with pytest.raises(openai.APIConnectionError):
        emu.client(max_retries=0).conversations.create()
    assert emu.live_ids("conversations") == set()
    assert emu.stats()["faults"]["drop"] == 1


@pytest.mark.parametrize(
    ("kind", "error", "body"),
    [
        (
            "429",
            openai.RateLimitError,
            {
                "message": RATE_LIMIT_MESSAGE,
                "type": "invalid_request_error",
                "param": None,
                "code": "rate_limit_exceeded",
            },
        ),
        (
            "500",
            openai.InternalServerError,
            {
                "message": "The server had an error while processing your request. Sorry about "
                "that!",
                "type": "server_error",
                "param": None,
                "code": None,
            },
        ),
        (
            "503",
            openai.InternalServerError,
            {
                "message": "The server is overloaded or not ready yet.",
                "type": "server_error",
                "param": None,
                "code": None,
            },
        ),
    ],
)
def test_injected_error_answers(
    emulator_factory: Callable[..., Emulator],
    kind: str,
    error: type[openai.APIStatusError],
    body: dict[str, object],
) -> None:
    """Injected 429/500/503 answer OpenAI's bodies; a 429 carries ``retry-after``."""
    emu = emulator_factory(fault_rate=1.0, fault_weights={kind: 1}, retry_after_s=2)
    with pytest.raises(error) as info:
        emu.client(max_retries=0).conversations.create()
    assert info.value.status_code == int(kind)
    assert info.value.body == body
    assert info.value.response.headers.get("retry-after") == ("2" if kind == "429" else None)
    assert emu.live_ids("conversations") == set()


def test_sdk_retries_through_faults(emulator_factory: Callable[..., Emulator]) -> None:
    """With faults turned on after setup, the SDK's retries get every call through, and the
    counters see each attempt. Seeded: each request's fate depends only on the seed and its
    rank, so the faults this test counts on happen on every run (unseeded, 6 calls at a rate
    of 0.4 met none about one run in twenty)."""
    emulator = emulator_factory(seed=1)
    client = emulator.client(max_retries=6)
    conv = client.conversations.create()
    # 429s with a short retry-after keep the SDK's waits short.
    emulator.update_settings(fault_rate=0.4, fault_weights={"429": 1}, retry_after_s=0.01)
    emulator.reset_stats()
    for n in range(6):
        client.conversations.items.create(conv.id, items=[{"role": "user", "content": str(n)}])
    stats = emulator.stats()
    faults = stats["faults"]["429"]
    assert faults > 0
    assert stats["requests"] == {"POST /v1/conversations/{conversation_id}/items": 6 + faults}
    emulator.update_settings(fault_rate=0.0)
    texts = [i.content[0].text for i in client.conversations.items.list(conv.id, order="asc")]
    assert texts == [str(n) for n in range(6)]


def test_rate_limits(emulator_factory: Callable[..., Emulator]) -> None:
    """Per-route and per-method limits answer 429 ``rate_limit_exceeded`` like OpenAI."""
    emu = emulator_factory(rate_limits={"POST /v1/conversations": 2, "GET": 3})
    client = emu.client(max_retries=0)
    conv = client.conversations.create()
    client.conversations.create()
    with pytest.raises(openai.RateLimitError) as info:
        client.conversations.create()
    err = info.value
    assert (err.code, err.param, err.type) == ("rate_limit_exceeded", None, "invalid_request_error")
    assert err.body == {
        "message": RATE_LIMIT_MESSAGE,
        "type": "invalid_request_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert 1 <= int(err.response.headers["retry-after"]) <= 60
    assert err.response.headers["x-ratelimit-limit-requests"] == "2"
    client.conversations.update(conv.id, metadata={"a": "b"})  # another POST route is free
    for _ in range(3):
        client.conversations.retrieve(conv.id)
    with pytest.raises(openai.RateLimitError):
        client.conversations.items.list(conv.id)  # "GET" counts every GET route
    assert emu.stats()["rate_limited"] == 2


def test_rate_limit_window(emulator_factory: Callable[..., Emulator]) -> None:
    """The window slides: after ``rate_limit_window_s`` the route is free again."""
    emu = emulator_factory(rate_limits={"POST": 1}, rate_limit_window_s=0.3)
    client = emu.client(max_retries=0)
    client.conversations.create()
    with pytest.raises(openai.RateLimitError):
        client.conversations.create()
    time.sleep(0.35)
    client.conversations.create()


def test_latency(emulator_factory: Callable[..., Emulator]) -> None:
    """``latency_ms`` (plus jitter) delays every answer."""
    emu = emulator_factory(latency_ms=60, latency_jitter_ms=20, seed=1)
    client = emu.client(max_retries=0)
    started = time.perf_counter()
    for _ in range(3):
        client.conversations.create()
    assert time.perf_counter() - started >= 0.18


def test_stats_are_exact(emulator: Emulator, client: openai.OpenAI) -> None:
    """Counters by method and route template, faults by kind; ``reset_stats`` zeroes them."""
    conv = client.conversations.create()
    client.conversations.items.create(conv.id, items=[{"role": "user", "content": "x"}])
    client.conversations.items.list(conv.id)
    client.conversations.items.list(conv.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve("conv_" + "0" * 48)
    client.beta.threads.create()
    assert emulator.stats() == {
        "requests": {
            "GET /v1/conversations/{conversation_id}": 1,
            "GET /v1/conversations/{conversation_id}/items": 2,
            "POST /v1/conversations": 1,
            "POST /v1/conversations/{conversation_id}/items": 1,
            "POST /v1/threads": 1,
        },
        "total": 6,
        "faults": {"429": 0, "500": 0, "503": 0, "drop": 0, "lost_response": 0},
        "rate_limited": 0,
        "unmatched": 0,
    }
    emulator.reset_stats()
    assert emulator.stats()["total"] == 0
    assert emulator.live_ids("conversations") == {conv.id}  # state is kept


def test_concurrent_appends_are_atomic_and_ordered(emulator: Emulator) -> None:
    """Many threads appending to one conversation lose nothing, and each writer's items
    keep its order."""
    conv_id = emulator.client().conversations.create().id
    writers, per_writer = 8, 15

    def write(w: int) -> None:
        with emulator.client(max_retries=0) as client:
            for n in range(per_writer):
                client.conversations.items.create(
                    conv_id, items=[{"role": "user", "content": f"{w}:{n}"}]
                )

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = emulator.client().conversations.items.list(conv_id, order="asc", limit=100)
    texts = [i.content[0].text for i in items]
    assert len(texts) == writers * per_writer
    for w in range(writers):
        assert [t for t in texts if t.startswith(f"{w}:")] == [
            f"{w}:{n}" for n in range(per_writer)
        ]


CHILD = textwrap.dedent(
    """
    import sys, httpx2
    base, conv, tag = sys.argv[1:]
    with httpx2.Client(base_url=base, headers={"Authorization": "Bearer k"}) as c:
        for n in range(20):
            r = c.post(f"/conversations/{conv}/items",
                       json={"items": [{"role": "user", "content": f"{tag}:{n}"}]})
            r.raise_for_status()
    """
)


def test_several_processes_share_one_emulator(emulator: Emulator) -> None:
    """OS processes appending at once through one emulator lose nothing."""
    conv_id = emulator.client().conversations.create().id
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, emulator.base_url, conv_id, str(p)])
        for p in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    items = list(emulator.client().conversations.items.list(conv_id, order="asc", limit=100))
    texts = [i.content[0].text for i in items]
    assert len(texts) == 60
    for p in range(3):
        assert [t for t in texts if t.startswith(f"{p}:")] == [f"{p}:{n}" for n in range(20)]
