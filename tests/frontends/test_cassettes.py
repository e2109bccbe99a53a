"""Replay tests: the core flows as recorded HTTP (vcrpy cassettes under ``cassettes/``).

By default the cassettes are replayed with the network blocked (``--record-mode=none``).
To record them again (docs/testing.md):

    # against a fresh local emulator
    LINKEDTHREADS_CASSETTES=emulator pytest tests/frontends/test_cassettes.py --record-mode=rewrite
    # against OpenAI (conversations; threads only where the server still serves them)
    LINKEDTHREADS_CASSETTES=real OPENAI_API_KEY=sk-... \
        pytest tests/frontends/test_cassettes.py --record-mode=rewrite

Recorded requests and responses keep no credential: Authorization, organisation and project
headers, cookies and set-cookie are removed before anything is written, and every URL is
written as https://api.openai.com so a cassette names no local host.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
import pytest

from linkedthreads import IndexSettings, RetryPolicy, ThreadIndex

MODE = os.environ.get("LINKEDTHREADS_CASSETTES", "replay")
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
CANONICAL = "https://api.openai.com"
SECRET_HEADERS = [
    "authorization",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
    "api-key",
    "x-api-key",
]

CREDENTIAL = re.compile(r"(sk-[A-Za-z0-9_-]{20,}|sess-[A-Za-z0-9]{20,}|Bearer [A-Za-z0-9_-]{8,})")
_VOLATILE = [
    (re.compile(r'\\?"w\\?":\\?"[0-9a-f]{16}\.\d+\\?"'), '"w":"*"'),
    (re.compile(r'\\?"t\\?":[0-9.]+'), '"t":0'),
    (re.compile(r'\[\\?"[^\]]*?\\?",[0-9.]+\]'), '["*",0]'),
    (re.compile(r'\\?"seen\\?":\[[^\]]*\]'), '"seen":[]'),
]


def _normalise(body: Any) -> Any:
    """A request body as JSON, with the journal's random nonces and clock readings blanked."""
    if body in (None, b"", ""):
        return None
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: JSON bodies equal up to key order and volatile journal fields."""
    assert _normalise(r1.body) == _normalise(r2.body)


def _canonical(request: Any) -> Any:
    parts = urlsplit(request.uri)
    request.uri = urlunsplit(("https", "api.openai.com", parts.path, parts.query, ""))
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            del request.headers[name]
        elif name.lower() == "host":
            request.headers[name] = "api.openai.com"
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            del headers[name]
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": SECRET_HEADERS,
        "before_record_request": _canonical,
        "before_record_response": _scrub_response,
        "match_on": ["method", "path", "query", "json_body"],
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def recorded_client(request: pytest.FixtureRequest) -> Iterator[openai.OpenAI]:
    """A client whose traffic is recorded (emulator or OpenAI) or replayed (no network)."""
    random.seed(1234)  # the compaction phase: recorded and replayed runs make the same requests
    if MODE == "emulator":
        emulator = request.getfixturevalue("emulator")
        yield emulator.client(max_retries=0)
    elif MODE == "real":
        yield openai.OpenAI()
    else:
        yield openai.OpenAI(api_key="sk-replay", base_url=f"{CANONICAL}/v1", max_retries=0)


SETTINGS = IndexSettings(compact_every=8, gc_grace_seconds=0, retry=RetryPolicy.none())


@pytest.mark.vcr
@pytest.mark.block_network
@pytest.mark.parametrize("backend", ["conversations", "threads"])
def test_core_flow_replays(recorded_client: openai.OpenAI, backend: str) -> None:
    """Create, list, delete, compact and reopen, exactly as recorded."""
    if MODE == "real" and backend == "threads" and "OPENAI_BASE_URL" not in os.environ:
        pytest.skip("OpenAI sunset the threads API on 2026-08-26")
    index = ThreadIndex.create(recorded_client, backend=backend, codec="ascii", settings=SETTINGS)  # type: ignore[arg-type]
    ids = [index.create_child(metadata={"n": str(i)}).id for i in range(12)]
    index.delete(ids[0])
    index.remove(ids[1])
    index.compact(full=True)
    reopened = ThreadIndex.open(recorded_client, index.root_id, settings=SETTINGS)
    assert list(reopened.all()) == ids[2:]
    assert len(reopened) == 10
    index.destroy()


def test_cassettes_hold_no_credentials() -> None:
    """No recorded request or response keeps a credential header or names a local host."""
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert files, "the cassettes are missing"
    for path in files:
        text = path.read_text()
        for name in SECRET_HEADERS:
            assert not re.search(rf"^\s*-?\s*{name}:", text, re.IGNORECASE | re.MULTILINE), (
                path,
                name,
            )
        assert not CREDENTIAL.search(text), (path, CREDENTIAL.search(text))
        assert "127.0.0.1" not in text, path
        assert "localhost" not in text, path
