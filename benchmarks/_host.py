"""The emulator in a child process, so that its CPU does not compete with the client's GIL.

``Host`` starts ``python -m benchmarks._host SETTINGS_JSON``, which runs a
``linkedthreads.testing.Emulator`` and prints its base URL. Counters are read over the
emulator's control plane (``GET /_emulator/stats``, not counted); settings (the injected
latency) are changed through the child's stdin, one JSON object a line, answered on stdout.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import httpx2
import openai

__all__ = ["Host", "Recorder", "list_endpoints_supported"]


class Recorder(httpx2.HTTPTransport):
    """An HTTP transport that, while recording, notes when each request is sent and when
    its answer's headers arrive (the injected latency is served before the answer)."""

    def __init__(self) -> None:
        super().__init__(limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100))
        self._lock = threading.Lock()
        self._intervals: list[tuple[float, float]] | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        sent = time.perf_counter()
        response = super().handle_request(request)
        answered = time.perf_counter()
        with self._lock:
            if self._intervals is not None:
                self._intervals.append((sent, answered))
        return response

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[float, float]]]:
        intervals: list[tuple[float, float]] = []
        with self._lock:
            self._intervals = intervals
        try:
            yield intervals
        finally:
            with self._lock:
                self._intervals = None


def list_endpoints_supported() -> bool:
    """Whether this emulator can serve ``GET /v1/threads`` and ``GET /v1/conversations``."""
    from linkedthreads.testing import EmulatorSettings

    try:
        settings: dict[str, Any] = {"list_endpoints": True}
        EmulatorSettings(**settings)
    except TypeError:
        return False
    return True


class Host:
    """An emulator running in a child process; ``with Host(seed=1) as host: ...``."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self) -> Host:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._host", json.dumps(self.settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"the emulator host did not start: {line!r}")
        self.base_url = line
        return self

    def __enter__(self) -> Host:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung child
            proc.kill()
            proc.wait()

    def _command(self, command: dict[str, Any]) -> Any:
        assert self._proc is not None
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        answer = json.loads(self._proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"emulator host: {answer['error']}")
        return answer["ok"]

    def update(self, **changes: Any) -> None:
        """Change settings of the running emulator (e.g. ``latency_ms``)."""
        self._command({"update": changes})

    def stats(self) -> dict[str, Any]:
        from linkedthreads.testing import control_request

        stats: dict[str, Any] = control_request(self.base_url, "stats")
        return stats

    def total(self) -> int:
        """Requests the emulator has answered so far (API routes only)."""
        return int(self.stats()["total"])

    def live_count(self, kind: str) -> int:
        return int(self._command({"live": kind}))

    def client(self, recorder: Recorder | None = None) -> openai.OpenAI:
        """An SDK client on the emulator; its own retries are off, as the library's are.
        With ``recorder``, its requests go through that transport."""
        http_client = openai.DefaultHttpxClient(transport=recorder) if recorder else None
        return openai.OpenAI(
            base_url=self.base_url, api_key="bench-key", max_retries=0, http_client=http_client
        )


def _main() -> None:
    from linkedthreads.testing import Emulator

    emu = Emulator(**json.loads(sys.argv[1])).start()
    print(emu.base_url, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if "update" in command:
                emu.update_settings(**command["update"])
                answer: dict[str, Any] = {"ok": True}
            elif "live" in command:
                answer = {"ok": len(emu.live_ids(command["live"]))}
            else:
                answer = {"error": f"unknown command {command!r}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    emu.stop()


if __name__ == "__main__":
    _main()
