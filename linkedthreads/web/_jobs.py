"""Long operations (purge preview and run, verify, repair) run on a thread while the page
polls their progress: a job says what it is doing, how far it got, and how it ended."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._errors import describe

KEEP_SECONDS = 3600  # finished jobs are forgotten after this long


@dataclass
class Job:
    kind: str
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    phase: str = "Starting"
    done: int = 0
    total: int | None = None
    state: str = "running"  # running, done, failed
    error: str | None = None
    result: Any = None
    started: float = field(default_factory=time.time)
    ended: float | None = None

    def progress(self, phase: str, done: int = 0, total: int | None = None) -> None:
        self.phase, self.done, self.total = phase, done, total


class Jobs:
    """The jobs of one app; at most one purge or repair runs at a time."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def busy(self, kinds: tuple[str, ...]) -> Job | None:
        with self._lock:
            return next(
                (j for j in self._jobs.values() if j.kind in kinds and j.state == "running"), None
            )

    def start(self, kind: str, work: Callable[[Job], Any]) -> Job:
        job = Job(kind)
        now = time.time()
        with self._lock:
            for old in [j for j in self._jobs.values() if j.ended and now - j.ended > KEEP_SECONDS]:
                del self._jobs[old.id]
            self._jobs[job.id] = job

        def run() -> None:
            try:
                job.result = work(job)
                job.state = "done"
            except Exception as exc:
                job.error = describe(exc)[1]
                job.state = "failed"
            finally:
                job.ended = time.time()

        threading.Thread(target=run, name=f"linkedthreads-web-{kind}", daemon=True).start()
        return job
