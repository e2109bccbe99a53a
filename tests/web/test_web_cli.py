"""``linkedthreads serve`` as a user runs it: prints its URL, serves the page, refuses a
non-loopback address unless told."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkedthreads.cli import app


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkedthreads.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_serve_prints_a_url_that_signs_in(tmp_path: Path) -> None:
    env = {**os.environ, "LINKEDTHREADS_STATE_DIR": str(tmp_path), "LINKEDTHREADS_LOCAL": "1"}
    env.pop("OPENAI_API_KEY", None)
    made = cli("init", "--json", env=env)
    assert made.returncode == 0, made.stderr
    root = json.loads(made.stdout)["root_id"]
    assert cli("create", "--root", root, "--count", "2", env=env).returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "linkedthreads.cli", "serve", "--root", root],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert "?token=" in url
        bare = url.split("?", 1)[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare, timeout=10)
        assert refused.value.code == 403
        refused.value.close()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(url, timeout=30) as answer:
            page = answer.read().decode()
        assert root in page
        assert page.count('<li class="row') == 2
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)


def test_a_remote_host_needs_allow_remote() -> None:
    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--root", "conv_x", "--local"], env={}
    )
    assert result.exit_code == 2
    assert "--allow-remote" in result.output
