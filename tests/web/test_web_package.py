"""Installed from a built wheel (not only editable), the page and its assets are served:
build the wheel, unpack it, and serve the page from the unpacked copy in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_built_wheel_carries_and_serves_the_page(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "-w", str(tmp_path), "--no-deps", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("linkedthreads-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ("static/app.js", "static/app.css", "templates/index.html"):
        assert f"linkedthreads/web/{asset}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import linkedthreads.web
        assert linkedthreads.web.__file__.startswith(sys.argv[1]), linkedthreads.web.__file__
        from starlette.testclient import TestClient
        from linkedthreads.emulator import Emulator
        from linkedthreads import ThreadIndex
        with Emulator() as emu:
            client = emu.client()
            index = ThreadIndex.create(client, backend="conversations")
            index.create_child()
            app = linkedthreads.web.create_app(index, client, token="t")
            with TestClient(app, base_url="http://127.0.0.1") as web:
                assert web.get("/?token=t").status_code == 200
                assert 'class="row' in web.get("/").text
                assert "IntersectionObserver" in web.get("/static/app.js").text
                assert web.get("/static/app.css").status_code == 200
        print("served")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(site)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "served"
