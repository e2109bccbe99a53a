"""Plain HTTP: headers on every answer, unknown URLs and methods, bodies that are not JSON,
the ``/_emulator`` control plane, persistence and the foreground server."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from linkedthreads.emulator import Emulator
from tests.sdk_warnings import OWN_THREADS_CALLS

AUTH = {"Authorization": "Bearer test-key"}


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx2.Client]:
    """A raw HTTP client on the emulator's /v1."""
    with httpx2.Client(base_url=emulator.base_url, headers=AUTH) as c:
        yield c


@pytest.fixture
def control(emulator: Emulator) -> Iterator[httpx2.Client]:
    """A raw HTTP client on the emulator's root (control plane), without auth."""
    with httpx2.Client(base_url=emulator.base_url.removesuffix("/v1")) as c:
        yield c


def test_headers_on_every_answer(http: httpx2.Client) -> None:
    """Success and error answers carry x-request-id, openai-processing-ms, openai-version."""
    answers = [
        http.post("/conversations", json={}),
        http.get("/conversations/conv_" + "0" * 48),
        http.get("/nowhere"),
        http.post("/conversations", headers={"Authorization": ""}),
    ]
    assert [a.status_code for a in answers] == [200, 404, 404, 401]
    seen = set()
    for answer in answers:
        assert re.fullmatch(r"req_[0-9a-f]{32}", answer.headers["x-request-id"])
        assert int(answer.headers["openai-processing-ms"]) >= 0
        assert answer.headers["openai-version"] == "2020-10-01"
        assert answer.headers["content-type"] == "application/json"
        assert "server" not in answer.headers
        seen.add(answer.headers["x-request-id"])
    assert len(seen) == len(answers)


def test_unknown_url_and_method(http: httpx2.Client, emulator: Emulator) -> None:
    """Unknown URLs answer OpenAI's 404; a known path with another method 405 + Allow."""
    answer = http.get("/models")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "message": "Invalid URL (GET /v1/models)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    answer = http.put("/threads")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["error"]["message"] == "Invalid URL (PUT /v1/threads)"
    assert emulator.stats()["unmatched"] == 2
    assert emulator.stats()["total"] == 0


def test_bodies_that_are_not_objects(http: httpx2.Client) -> None:
    """Invalid JSON, a JSON non-object, or no body where one is required: 400."""
    answer = http.post(
        "/conversations", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(
        "We could not parse the JSON body of your request."
    )
    answer = http.post("/conversations", content=b"null")
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "body")
    assert http.post("/conversations").status_code == 200  # the body is optional here
    conv = http.post("/conversations", json={}).json()["id"]
    assert http.post(f"/conversations/{conv}/items").status_code == 400  # required here


def test_control_plane(http: httpx2.Client, control: httpx2.Client, emulator: Emulator) -> None:
    """/_emulator/stats, objects, reset_stats and reset: no auth (by default), never counted;
    POSTs are JSON (what browsers refuse; test_control_plane.py)."""
    conv = http.post("/conversations", json={}).json()["id"]
    thread = http.post("/threads", json={}, headers={"OpenAI-Beta": "assistants=v2"}).json()["id"]
    stats = control.get("/_emulator/stats").json()
    assert stats == emulator.stats()
    assert stats["total"] == 2
    assert control.get("/_emulator/objects").json() == {
        "threads": [thread],
        "conversations": [conv],
    }
    assert control.post("/_emulator/reset_stats", json={}).json() == {"ok": True}
    assert emulator.stats()["total"] == 0
    assert control.post("/_emulator/reset", json={}).json() == {"ok": True}
    assert emulator.live_ids("conversations") == set()
    assert control.get("/_emulator/nothing").status_code == 404
    assert control.post("/_emulator/stats", json={}).status_code == 404
    assert emulator.stats()["total"] == 0


@OWN_THREADS_CALLS
def test_state_file_survives_restarts(
    tmp_path: Path, emulator_factory: Callable[..., Emulator]
) -> None:
    """With ``state_file``, a new emulator starts where the last one stopped; no secrets."""
    path = tmp_path / "state" / "emulator.json"
    first = emulator_factory(state_file=path, api_key="sk-secret-1234567890")
    client = first.client()
    conv = client.conversations.create(
        metadata={"a": "1"}, items=[{"role": "user", "content": "x"}]
    )
    gone = client.conversations.create(items=[{"role": "user", "content": "kept"}])
    client.conversations.delete(gone.id)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    first.stop()
    text = path.read_text(encoding="utf-8")
    assert "sk-secret" not in text
    assert json.loads(text)["version"] == 1

    second = emulator_factory(state_file=path, api_key="sk-secret-1234567890")
    client = second.client()
    assert client.conversations.retrieve(conv.id).metadata == {"a": "1"}
    assert [i.id for i in client.conversations.items.list(conv.id)] == (
        second.retained_item_ids(conv.id)
    )
    assert len(second.retained_item_ids(gone.id)) == 1
    assert second.live_ids("threads") == {thread.id}
    assert client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "hi"


SERVE = textwrap.dedent(
    """
    import sys
    from linkedthreads.emulator import EmulatorSettings, serve
    serve("127.0.0.1", 0, EmulatorSettings(seed=1), sys.argv[1])
    """
)


def test_serve_in_the_foreground(tmp_path: Path) -> None:
    """``serve()`` prints the base URL, serves, and stops on Ctrl-C saving its state."""
    state = tmp_path / "state.json"
    with subprocess.Popen(
        [sys.executable, "-c", SERVE, str(state)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
            answer = httpx2.post(f"{url}/conversations", json={}, headers=AUTH, timeout=10)
            assert answer.status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [c["conversation"]["id"] for c in saved["conversations"]] == [answer.json()["id"]]


def test_list_endpoints_are_a_benchmark_only_setting(emulator_factory: Any) -> None:
    """OpenAI lists nothing (405 by default); ``list_endpoints=True`` serves cursor pages."""
    plain = emulator_factory().client(max_retries=0)
    with pytest.raises(openai.APIStatusError) as err:
        plain.get("/conversations", cast_to=object)
    assert err.value.status_code == 405
    client = emulator_factory(list_endpoints=True).client()
    ids = [client.conversations.create().id for _ in range(5)]
    client.conversations.delete(ids[1])
    first: Any = client.get(
        "/conversations", cast_to=object, options={"params": {"limit": 2, "order": "asc"}}
    )
    assert [d["id"] for d in first["data"]] == [ids[0], ids[2]]
    assert first["has_more"] is True
    rest: Any = client.get(
        "/conversations",
        cast_to=object,
        options={"params": {"limit": 100, "order": "asc", "after": first["last_id"]}},
    )
    assert [d["id"] for d in rest["data"]] == ids[3:]
    assert rest["has_more"] is False


@pytest.mark.parametrize("path", ["/v1/conversations", "/v1/threads"])
def test_a_request_cut_before_its_body_is_not_applied(emulator: Emulator, path: str) -> None:
    """A client that dies after the headers of a create, before its body, creates nothing
    (a server does not act on half a request). Found by the crash tests (SIGKILLed writers)."""
    host, port = emulator.base_url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer test-key\r\n"
                "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
            ).encode()
        )
    time.sleep(0.5)  # the server has seen the disconnect
    assert emulator.live_ids("threads") == set()
    assert emulator.live_ids("conversations") == set()
