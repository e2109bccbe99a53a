"""The command line's errors, with and without --debug, against a server that echoes the
key, organisation and project it was sent (issue 16, finding 5)."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from linkedthreads import RetryPolicy
from linkedthreads.cli import _connection

KEY = "sk-proj-KEYSECRETab12cd34ef56gh78ij90"
ORG = "org-ORGSECRETab12cd34ef56gh78"
PROJECT = "proj_PROJSECRETab12cd34ef56gh"
MIDDLES = ("KEYSECRET", "ORGSECRET", "PROJSECRET")
ROOT = "conv_" + "a" * 48


def echo(kind: str, request: httpx2.Request) -> httpx2.Response:
    auth = request.headers.get("authorization", "")
    text = (
        f"you sent {auth} as {request.headers.get('openai-organization')} in "
        f"{request.headers.get('openai-project')} \x1b[2J\x1b]0;pwned\x07"
    )
    if kind == "connection":
        raise httpx2.ConnectError(text, request=request)
    return httpx2.Response(
        int(kind),
        json={"error": {"message": text, "type": text, "code": text, "param": text}},
        headers={"x-request-id": text.replace("\x1b", "").replace("\x07", ""), "x-echo": KEY},
    )


@pytest.mark.parametrize("kind", ["401", "404", "429", "500", "connection"])
@pytest.mark.parametrize(
    "args",
    [("ls", "--root", ROOT), ("init",), ("show", ROOT)],
    ids=["library", "init", "sdk-direct"],
)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_cli_errors_show_no_credential(
    offline: Any, monkeypatch: pytest.MonkeyPatch, kind: str, args: tuple[str, ...], debug: bool
) -> None:
    def remote_client() -> tuple[openai.OpenAI, str]:
        transport = httpx2.MockTransport(lambda request: echo(kind, request))
        client = openai.OpenAI(
            base_url="http://127.0.0.1:9/v1",
            max_retries=0,
            http_client=openai.DefaultHttpxClient(transport=transport),
        )
        return client, "the echoing server"

    monkeypatch.setattr(_connection, "remote_client", remote_client)
    monkeypatch.setattr(RetryPolicy, "wait_seconds", lambda self, state: 0.0)
    env = {
        "OPENAI_API_KEY": KEY,
        "OPENAI_ORG_ID": ORG,
        "OPENAI_PROJECT_ID": PROJECT,
        "LINKEDTHREADS_DEBUG": "1" if debug else None,
    }
    expected = 4 if kind == "401" else 1
    run = offline(*args, *(["--debug"] if debug else []), env=env, expect=expected)
    output = run.stdout + run.stderr
    assert not [m for m in MIDDLES if m in output], output
    assert "\x1b" not in output, repr(output)
    assert "\x07" not in output, repr(output)
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ")
    if debug:
        assert "Traceback (most recent call last)" in run.stderr
    else:
        assert len(lines) == 1, run.stderr
