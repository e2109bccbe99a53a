"""The control plane (``/_emulator/*``) over HTTP: refused to web pages (cross-origin, simple
forms, rebound host names), optionally keyed, and a state file is never wiped by a browser;
a non-loopback bind warns (issue 16, finding 6)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from linkedthreads.emulator import Emulator, control_request

AUTH = {"Authorization": "Bearer test-key"}
EVIL = "http://evil.example"


@pytest.fixture
def control(emulator: Emulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emulator.base_url.removesuffix("/v1")) as c:
        yield c


def _one_conversation(emu: Emulator) -> str:
    return emu.client().conversations.create().id


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        # the issue's curl: -H 'Origin: http://evil.example' -d x=1
        (
            {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"},
            b"x=1",
            403,
        ),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"x=1", 415),  # curl -d x=1
        ({"Content-Type": "text/plain"}, b"{}", 415),  # fetch(..., {mode: "no-cors"})
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--", 415),
        ({}, b"", 415),  # no Content-Type at all
        ({"Origin": EVIL, "Content-Type": "application/json"}, b"{}", 403),
        ({"Origin": "null", "Content-Type": "application/json"}, b"{}", 403),
        ({"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, b"{}", 403),
        ({"Host": "evil.example:8787", "Content-Type": "application/json"}, b"{}", 403),
        (
            {"Host": "evil.example", "Origin": "http://evil.example"}
            | {"Content-Type": "application/json"},
            b"{}",
            403,
        ),  # DNS rebinding: same origin, foreign host name
        ({"Content-Type": "application/json"}, b"[1]", 400),
        ({"Content-Type": "application/json"}, b"x=1", 400),
    ],
)
def test_reset_refused_to_pages_and_forms(
    emulator: Emulator,
    control: httpx2.Client,
    headers: dict[str, str],
    content: bytes,
    status: int,
) -> None:
    conv = _one_conversation(emulator)
    answer = control.post("/_emulator/reset", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]
    assert emulator.live_ids("conversations") == {conv}
    answer = control.post("/_emulator/reset_stats", content=content, headers=headers)
    assert answer.status_code == status
    assert emulator.stats()["total"] == 1


def test_reads_refused_to_other_sites(emulator: Emulator, control: httpx2.Client) -> None:
    _one_conversation(emulator)
    for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Host": "evil.example"}):
        assert control.get("/_emulator/objects", headers=headers).status_code == 403
        assert control.get("/_emulator/stats", headers=headers).status_code == 403


def test_programs_are_served(emulator: Emulator, control: httpx2.Client) -> None:
    """JSON POSTs from a program (no Origin), at 127.0.0.1, localhost or the emulator's own
    origin; GETs as before; ``control_request`` does it all."""
    conv = _one_conversation(emulator)
    assert control.get("/_emulator/objects").json()["conversations"] == [conv]
    assert control.post("/_emulator/reset_stats", json={}).json() == {"ok": True}
    port = emulator.base_url.split(":")[2].split("/")[0]
    for headers in (
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json; charset=utf-8", "Host": f"localhost:{port}"},
        {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"},
        {"Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"},
    ):
        _one_conversation(emulator)
        answer = control.post("/_emulator/reset", content=b"", headers=headers)
        assert answer.json() == {"ok": True}, headers
        assert emulator.live_ids("conversations") == set()
    _one_conversation(emulator)
    assert control_request(emulator.base_url, "stats")["total"] == 1
    assert len(control_request(emulator.base_url, "objects")["conversations"]) == 1
    assert control_request(emulator.base_url, "reset") == {"ok": True}
    assert emulator.live_ids("conversations") == set()
    with pytest.raises(ValueError, match="unknown control action"):
        control_request(emulator.base_url, "wipe")


@pytest.mark.parametrize("setting", ["control_key", "api_key"])
def test_a_key_guards_the_control_plane(emulator_factory: Any, setting: str) -> None:
    """``control_key`` (else ``api_key``) is required as a bearer key; with it, any host
    name is served (a container's name, say)."""
    emu = emulator_factory(**{setting: "ctl-secret-123"})
    key = {"api_key": "ctl-secret-123"} if setting == "control_key" else {}
    if setting == "control_key":
        emu.update_settings(api_key=None)
    conv = emu.client(**key).conversations.create().id
    root = emu.base_url.removesuffix("/v1")
    json_type = {"Content-Type": "application/json"}
    with httpx2.Client(base_url=root) as control:
        for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "ctl-secret-123"}):
            assert control.post("/_emulator/reset", json={}, headers=auth).status_code == 401
            assert control.get("/_emulator/objects", headers=auth).status_code == 401
        assert emu.live_ids("conversations") == {conv}
        right = {"Authorization": "Bearer ctl-secret-123"}
        assert control.get("/_emulator/stats", headers={**right, "Host": "emulator"}).is_success
        evil = {**right, **json_type, "Origin": EVIL}
        assert control.post("/_emulator/reset", content=b"{}", headers=evil).status_code == 403
        form = {**right, "Content-Type": "application/x-www-form-urlencoded"}
        assert control.post("/_emulator/reset", content=b"x=1", headers=form).status_code == 415
        assert emu.live_ids("conversations") == {conv}
    with pytest.raises(RuntimeError, match="HTTP 401"):
        control_request(emu.base_url, "reset")
    assert control_request(emu.base_url, "reset", key="ctl-secret-123") == {"ok": True}
    assert emu.live_ids("conversations") == set()


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "linkedthreads.cli", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("LINKEDTHREADS_")},
            **(env or {}),
        },
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


@pytest.mark.slow
def test_the_issues_curl_leaves_the_state_file_alone(tmp_path: Path) -> None:
    """``linkedthreads emulator --state FILE``: the exact curl of the issue is refused and
    the file keeps its conversation; a JSON reset from a program works."""
    state = tmp_path / "state.json"
    proc = _serve("--state", str(state))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        root = url.removesuffix("/v1")
        conv = httpx2.post(f"{url}/conversations", json={}, headers=AUTH).json()["id"]
        time.sleep(0.5)  # the state file is written within 0.2 s of a write
        before = state.read_bytes()
        assert conv.encode() in before
        curl = shutil.which("curl")
        command = ["-X", "POST", "-H", "Origin: http://evil.example", "-d", "x=1"]
        if curl is not None:
            out = subprocess.run(
                [curl, "-s", "-w", " %{http_code}", *command, f"{root}/_emulator/reset"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            assert out.stdout.endswith(" 403"), out.stdout
        answer = httpx2.post(
            f"{root}/_emulator/reset",
            content=b"x=1",
            headers={
                "Origin": "http://evil.example",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert answer.status_code == 403
        assert httpx2.post(f"{root}/_emulator/reset", data={"x": "1"}).status_code == 415
        time.sleep(0.5)
        assert state.read_bytes() == before
        assert control_request(url, "objects")["conversations"] == [conv]
    finally:
        _stop(proc)
    assert conv in json.dumps(json.loads(state.read_text(encoding="utf-8")))

    proc = _serve("--state", str(state))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert control_request(url, "reset") == {"ok": True}  # a program may wipe it
    finally:
        _stop(proc)
    assert conv not in state.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False), ("localhost", False)]
)
def test_a_non_loopback_bind_warns(host: str, warned: bool) -> None:
    """``linkedthreads emulator --host 0.0.0.0`` warns on stderr; loopback does not."""
    proc = _serve("--host", host, "--control-key", "k-123456")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        port = url.split(":")[-1].split("/")[0]
        stats = control_request(f"http://127.0.0.1:{port}", "stats", key="k-123456")
        assert stats["total"] == 0
        with pytest.raises(RuntimeError, match="HTTP 401"):
            control_request(f"http://127.0.0.1:{port}", "stats")
    finally:
        err = _stop(proc)
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    if warned:
        assert len(warning) == 1, err
        assert "0.0.0.0" in warning[0]
        assert "not on a loopback address" in warning[0]
    else:
        assert warning == [], err
