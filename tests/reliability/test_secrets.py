"""Secrets: no log line (DEBUG, every logger including ``openai`` and ``httpx2``), exception
message, repr or traceback, printed output or file written contains the API key, the
organisation or the project. Canary values are planted in the environment and in the
client; the emulator only accepts the canary key, so every request carries it; the
workload goes through faults, lost responses, a wrong key (401) and a missing index."""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path

import openai
import pytest

from linkedthreads import (
    IndexSettings,
    LinkedThreadsError,
    RetryPolicy,
    ThreadIndex,
)
from tests.conftest import BACKENDS_THREADS_SLOW as BACKENDS
from torture.emulator import start_emulator
from torture.objects import fake_ids

LOGGERS = [
    "",
    "openai",
    "httpx2",
    "httpcore2",
    "httpx",
    "httpcore",
    "linkedthreads",
    "uvicorn",
    "uvicorn.error",
    "linkedthreads.emulator",
    "tenacity",
]


def canaries() -> dict[str, str]:
    tail = secrets.token_hex(12)
    return {
        "key": f"sk-canary-KEYSECRET-{tail}",
        "wrong": f"sk-canary-WRONGSECRET-{tail}",
        "org": f"org-canaryORGSECRET{tail}",
        "project": f"proj_canaryPROJSECRET{tail}",
    }


def leaks(text: str, values: dict[str, str]) -> list[str]:
    """Every canary (or its secret middle) found in ``text``."""
    found = []
    for name, value in values.items():
        middle = value.split("canary", 1)[1][:16]
        if value in text or middle in text:
            found.append(name)
    return found


def describe(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    cause: BaseException | None = exc
    while cause is not None:
        parts += [
            str(cause),
            repr(cause),
            repr(getattr(cause, "body", None)),
            str(getattr(cause, "response", "")),
        ]
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_secret_anywhere(
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Plant canaries, run a workload with every error path, grep everything for them."""
    values = canaries()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", values["key"])
    monkeypatch.setenv("OPENAI_ORG_ID", values["org"])
    monkeypatch.setenv("OPENAI_PROJECT_ID", values["project"])
    monkeypatch.setenv("OPENAI_LOG", "debug")
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []
    state = tmp_path / "emulator-state.json"
    emu = start_emulator(seed=9, api_key=values["key"], state_file=state)
    opened: list[openai.OpenAI] = []
    try:
        client = openai.OpenAI(base_url=emu.base_url)  # key, org, project from the env
        explicit = openai.OpenAI(
            base_url=emu.base_url,
            api_key=values["key"],
            organization=values["org"],
            project=values["project"],
            max_retries=0,
        )
        opened += [client, explicit]
        settings = IndexSettings(compact_every=4, retry=RetryPolicy.instant(attempts=12))
        index = ThreadIndex.create(client, backend=backend, settings=settings)
        texts.append(repr(index))
        kids = [c.id for c in index.create_children(6)]
        index.add_many(fake_ids(backend, 30, __import__("random").Random(1)))
        index.remove(kids[0])
        index.delete(kids[1])
        index.compact(full=True)
        texts.append(repr(list(index.all())))
        texts.append(repr(index.verify()))
        emu.update_settings(fault_rate=0.3, lost_response_rate=0.2)
        other = ThreadIndex.open(explicit, index.root_id, settings=settings)
        for _ in range(10):
            other.create_child()
            texts.append(repr(list(other.all())))
        emu.update_settings(fault_rate=1.0, fault_weights={"500": 1.0, "drop": 1.0})
        with pytest.raises(LinkedThreadsError) as failing:
            other.create_child()
        texts.append(describe(failing.value))
        emu.update_settings(fault_rate=0.0, lost_response_rate=0.0)
        wrong = openai.OpenAI(
            base_url=emu.base_url,
            api_key=values["wrong"],
            organization=values["org"],
            project=values["project"],
        )
        opened.append(wrong)
        with pytest.raises(LinkedThreadsError) as unauthorized:
            ThreadIndex.open(wrong, index.root_id, settings=settings)
        assert getattr(unauthorized.value, "status_code", None) == 401
        texts.append(describe(unauthorized.value))
        with pytest.raises(LinkedThreadsError) as missing:
            ThreadIndex.open(client, index.root_id[:-3] + "zzz", settings=settings)
        texts.append(describe(missing.value))
        index.destroy()
    finally:
        for c in opened:
            c.close()
        emu.stop()
    out, err = capfd.readouterr()
    texts += [out, err, caplog.text]
    texts += [f"{r.name} {r.levelname} {r.getMessage()} {r.args!r}" for r in caplog.records]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert state in files
    for path in files:
        texts.append(f"{path}: " + path.read_text(errors="replace"))
    assert len(caplog.records) > 50, "DEBUG logging was not captured"
    found = {name for text in texts for name in leaks(text, values)}
    assert not found, f"secret values leaked: {sorted(found)}"
