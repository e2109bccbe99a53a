"""An optional JSON state file, so a local emulator session survives restarts.

The file holds threads, messages, conversations (deleted ones too, with their retained
items) and items: never settings, keys or counters.  It is loaded at start if it exists and
rewritten atomically (a temporary file in the same folder, then ``os.replace``) at most every
``debounce_s`` after a write request, and once more at stop.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from ._models import InMemoryStore


class StateFileError(ValueError):
    """The state file exists but does not hold an emulator's state."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the state file {path} is not an emulator's state: {reason}")
        self.path = path


class StateFile:
    """Debounced, atomic saving of a :class:`InMemoryStore` to ``path``."""

    def __init__(
        self, path: str | os.PathLike[str], backend: InMemoryStore, debounce_s: float = 0.2
    ):
        self.path = Path(path)
        self.backend = backend
        self.debounce_s = debounce_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._dirty = False

    def load(self) -> bool:
        """Restore the state from the file if it exists; whether it did.

        A file that is not an emulator's state raises :class:`StateFileError` naming it,
        and is left as it is."""
        if not self.path.exists():
            return False
        if not self.path.is_file():
            raise StateFileError(self.path, "not a regular file")
        with self.path.open("rb") as f:
            raw = f.read()
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise StateFileError(self.path, f"not UTF-8 text (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise StateFileError(
                self.path, f"not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
            ) from None
        if not isinstance(data, dict):
            raise StateFileError(
                self.path, f"a JSON {type(data).__name__}, not an object with a version"
            )
        try:
            self.backend.restore(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateFileError(self.path, f"{type(exc).__name__}: {exc}") from None
        return True

    def mark_dirty(self) -> None:
        """Note a change; the file is rewritten within ``debounce_s``."""
        with self._lock:
            self._dirty = True
            if self._timer is None:
                self._timer = threading.Timer(self.debounce_s, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()

    def flush(self) -> None:
        """Write the file now if anything changed since the last write."""
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            data = self.backend.snapshot()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, ensure_ascii=False)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def close(self) -> None:
        """Cancel the pending timer and write the last changes."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()
