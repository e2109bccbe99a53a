"""Fixtures for the command-line tests: a clean environment, and ``cli(...)`` running the
app in-process with typer's CliRunner against the ``emulator`` fixture's server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from linkedthreads.cli import app
from linkedthreads.emulator import Emulator

CLEARED = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_VERSION",
    "FORCE_COLOR",
    "NO_COLOR",
)


@dataclass
class Run:
    """What one command printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@dataclass
class CLI:
    """Runs ``linkedthreads ARGS...`` in-process; ``env`` applies to every run."""

    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self,
        *args: str,
        expect: int | None = 0,
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
    ) -> Run:
        result = CliRunner().invoke(
            app, list(args), input=input, env={**self.env, **(env or {})}, catch_exceptions=False
        )
        run = Run(result.exit_code, result.stdout, result.stderr)
        if expect is not None:
            assert run.exit_code == expect, (
                f"exit {run.exit_code} != {expect}\nstdout: {run.stdout}\nstderr: {run.stderr}"
            )
        assert "Traceback" not in run.stderr or "--debug" in args, run.stderr
        return run


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No credential, root or option from the developer's shell; --local state in tmp."""
    for name in list(os.environ):
        if name.startswith("LINKEDTHREADS_") or name in CLEARED:
            monkeypatch.delenv(name)
    monkeypatch.setenv("LINKEDTHREADS_STATE_DIR", str(tmp_path / "state"))
    return


@pytest.fixture
def offline() -> CLI:
    """The command line with no server and no key (for help and usage errors)."""
    return CLI()


@pytest.fixture
def cli(emulator: Emulator) -> CLI:
    """The command line pointed at the emulator with a dummy key."""
    return CLI({"OPENAI_BASE_URL": emulator.base_url, "OPENAI_API_KEY": "test-key"})


@pytest.fixture
def root(cli: CLI) -> str:
    """A new index of conversations, set as LINKEDTHREADS_ROOT for later runs."""
    root_id: str = cli("init", "--json").json()["root_id"]
    cli.env["LINKEDTHREADS_ROOT"] = root_id
    return root_id
