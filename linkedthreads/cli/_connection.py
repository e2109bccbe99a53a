"""Where requests go: the OpenAI API (or Azure, or any compatible server) from the SDK's own
environment variables, or, with ``--local``, an emulator embedded in this process whose
state persists in a file of the user's data directory.

Nothing here prints or stores a credential; the SDK reads them from the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._errors import AuthError, CLIError, UsageProblem
from ._output import note
from ._parse import check_root

if TYPE_CHECKING:
    import openai

    from linkedthreads import ThreadIndex

APP_NAME = "linkedthreads"
STATE_FILE_NAME = "local-state.json"
LOCK_FILE_NAME = "local.lock"


@dataclass
class Session:
    """An SDK client and a description of where it points (for messages)."""

    client: openai.OpenAI
    local: bool
    where: str


def default_state_dir() -> Path:
    """The user's data directory for linkedthreads (``typer.get_app_dir``)."""
    return Path(typer.get_app_dir(APP_NAME))


def state_file(state_dir: Path | None) -> Path:
    return (state_dir or default_state_dir()) / STATE_FILE_NAME


def remote_client() -> tuple[openai.OpenAI, str]:
    """A client configured by the SDK's environment variables, or an :class:`AuthError`."""
    import openai

    if os.environ.get("AZURE_OPENAI_ENDPOINT"):
        if not (os.environ.get("AZURE_OPENAI_API_KEY") or os.environ.get("AZURE_OPENAI_AD_TOKEN")):
            raise AuthError(
                "AZURE_OPENAI_ENDPOINT is set but there is no key: set AZURE_OPENAI_API_KEY "
                "(or AZURE_OPENAI_AD_TOKEN), or use --local for a local emulator (no key needed)"
            )
        try:
            return openai.AzureOpenAI(), "the Azure OpenAI endpoint"
        except openai.OpenAIError as exc:
            raise CLIError(f"cannot configure the Azure OpenAI client: {exc}") from None
    if not os.environ.get("OPENAI_API_KEY"):
        raise AuthError(
            "no API key: set OPENAI_API_KEY, or use --local (or LINKEDTHREADS_LOCAL=1) to "
            "work against a local emulator, no key needed"
        )
    where = (
        "the server at OPENAI_BASE_URL" if os.environ.get("OPENAI_BASE_URL") else "the OpenAI API"
    )
    return openai.OpenAI(), where


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` so two local commands do not overwrite each
    other's state (POSIX only; elsewhere commands must not overlap)."""
    if sys.platform == "win32":
        yield
        return
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note("waiting for another linkedthreads --local command to finish…")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def local_session(state_dir: Path | None) -> Iterator[Session]:
    """An emulator in this process, its state loaded from and saved to the state file."""
    try:
        from linkedthreads.emulator import Emulator
    except ImportError as exc:
        raise CLIError(
            f"--local needs the emulator: pip install 'linkedthreads[cli]' ({exc})"
        ) from None
    path = state_file(state_dir)
    with _locked(path.parent / LOCK_FILE_NAME):
        emu = Emulator(state_file=path)
        try:
            emu.start()
        except ValueError as exc:  # the emulator names the file and what is wrong with it
            raise UsageProblem(f"{exc}; move it away to start afresh (--local)") from None
        try:
            client = emu.client()
            try:
                yield Session(client, True, "the local emulator")
            finally:
                client.close()
        finally:
            emu.stop()


@contextmanager
def connect(*, local: bool, state_dir: Path | None) -> Iterator[Session]:
    """A session against the local emulator or the configured server; closed at the end."""
    if local:
        with local_session(state_dir) as session:
            yield session
        return
    client, where = remote_client()
    try:
        yield Session(client, False, where)
    finally:
        client.close()


def require_root(root: str | None) -> str:
    if not root:
        raise CLIError(
            "no index given: pass --root ROOT_ID or set LINKEDTHREADS_ROOT "
            "(create an index with 'linkedthreads init')"
        )
    return check_root(root)


@contextmanager
def open_index(
    session: Session, root: str | None, scope: Sequence[str] = ()
) -> Iterator[ThreadIndex]:
    """The index named by ``root`` (``--root`` / ``LINKEDTHREADS_ROOT``), or its scope named
    by ``scope`` (``--scope``, outermost first), closed at the end."""
    from linkedthreads import IndexNotFoundError, ThreadIndex

    root_id = require_root(root)
    try:
        index = ThreadIndex.open(session.client, root_id)
    except IndexNotFoundError as exc:
        other = "without --local" if session.local else "with --local"
        raise CLIError(f"{exc} on {session.where} (was it created {other}?)") from None
    try:
        yield open_scope(index, scope)
    finally:
        index.close()


def root_of(index: ThreadIndex) -> str | None:
    """The root ID of ``index``; None for a scope never written (it has no root). No
    request: call it after a read or write of ``index``, which finds its scope."""
    from linkedthreads import IndexNotFoundError

    try:
        return index.root_id
    except IndexNotFoundError:
        return None


def open_scope(index: ThreadIndex, scope: Sequence[str]) -> ThreadIndex:
    """The scope of ``index`` named by ``scope`` (outermost first; none: ``index`` itself).
    No request: a scope is found on its first read or write."""
    for name in scope:
        index = index.scope(name)
    return index


@contextmanager
def index_session(
    root: str | None,
    *,
    local: bool,
    state_dir: Path | None,
    scope: Sequence[str] | None = None,
) -> Iterator[tuple[Session, ThreadIndex]]:
    """Both at once: the usual start of a command that works on an index (or a scope)."""
    require_root(root)
    with (
        connect(local=local, state_dir=state_dir) as session,
        open_index(session, root, scope or ()) as index,
    ):
        yield session, index
