"""The root header: create and open a root, check its header (docs/design.md, section 3)."""

from __future__ import annotations

from collections.abc import Mapping

from linkedthreads._backends import Backend, Container
from linkedthreads._codec import ASCII, DENSE, DENSE_PROBE, KEY_PROBE, Alphabet
from linkedthreads._errors import (
    BackendUnavailableError,
    IndexNotFoundError,
    MetadataError,
    NotAnIndexError,
    UnsupportedFormatError,
)
from linkedthreads._transport import NotFound

from .constants import CHILD_TAG_PREFIX, CODEC_KEY, INDEX_FORMAT, PROBE_KEY, ROOT_TAG, TAG_KEY
from .environment import PROCESS, Environment
from .flow import Flow, Pause, send


def create_root(
    backend: Backend,
    user: Mapping[str, str],
    codec: str,
    read_lag: float = 0.0,
    env: Environment = PROCESS,
) -> Flow[tuple[str, Mapping[str, str]]]:
    """Create the root (with the dense probe, a key and a value of a dense page's longest
    shape, unless ASCII is asked for) and read it back (docs/design.md, 5.3)."""
    header = {TAG_KEY: ROOT_TAG, CODEC_KEY: codec}
    if codec != "ascii":
        header[KEY_PROBE] = DENSE_PROBE
    try:
        try:
            root: Container = yield from send(backend.create({**user, **header}, {}))
        except MetadataError:
            if codec == "dense":
                # The server's message quotes the probe key, which the user never wrote.
                raise MetadataError(
                    "the server refused non-ASCII metadata, which dense pages need: create the "
                    'index with codec="auto" or "ascii"'
                ) from None
            root = yield from send(
                backend.create({**user, TAG_KEY: ROOT_TAG, CODEC_KEY: "ascii"}, {})
            )
    except NotFound as exc:
        raise BackendUnavailableError(
            f"creating a {backend.noun} answered 404: this server does not serve the "
            f"{backend.name} API here ({exc})"
        ) from None
    try:
        back = yield from read_back(backend, root.id, read_lag, env)
    except NotFound:
        # The record does not say whether a read right after a create may miss (read-after-
        # write lag); the root exists or will, so its ID is what the caller needs.
        raise IndexNotFoundError(
            f"index root {root.id!r} was created, but reading it back answered 404 (the "
            f"server may not show a new {backend.noun} at once): open it later with "
            f"open(client, {root.id!r})"
        ) from None
    return root.id, back.metadata


def read_back(
    backend: Backend, object_id: str, read_lag: float, env: Environment = PROCESS
) -> Flow[Container]:
    """Read an object just created; a 404 is read again for up to ``read_lag`` seconds (a
    server's read-after-write lag, docs/design.md 8.4)."""
    deadline = env.monotonic() + read_lag
    while True:
        try:
            return (yield from send(backend.retrieve(object_id)))
        except NotFound:
            left = deadline - env.monotonic()
            if left <= 0:
                raise
            yield Pause(min(0.25, left))


def open_root(backend: Backend, root_id: str) -> Flow[Mapping[str, str]]:
    try:
        root: Container = yield from send(backend.retrieve(root_id))
    except NotFound:
        raise IndexNotFoundError(
            f"no index root {root_id!r}: that {backend.noun} does not exist"
        ) from None
    return root.metadata


def alphabet_for_root(root_id: str, metadata: Mapping[str, str]) -> Alphabet:
    """Check the root header (docs/design.md, section 3); the alphabet pages are written in."""
    tag = metadata.get(TAG_KEY)
    if not isinstance(tag, str) or not tag.startswith("index/"):
        if isinstance(tag, str) and tag.startswith(CHILD_TAG_PREFIX):
            raise NotAnIndexError(
                f"{root_id!r} is a child of index {tag[len(CHILD_TAG_PREFIX) :]!r}, "
                "not an index root"
            )
        raise NotAnIndexError(f"{root_id!r} is not a linkedthreads index (no {TAG_KEY!r} metadata)")
    try:
        version = int(tag.split("/", 1)[1])
    except ValueError:
        raise NotAnIndexError(f"{root_id!r} has a malformed {TAG_KEY!r} tag {tag!r}") from None
    if version > INDEX_FORMAT:
        raise UnsupportedFormatError(
            f"{root_id!r} is an index of format {version}; this linkedthreads reads format "
            f"{INDEX_FORMAT}: upgrade linkedthreads"
        )
    if metadata.get(CODEC_KEY) not in ("auto", "dense"):
        return ASCII
    # The key probe read back intact: keys and values of a dense page's shape are kept. A
    # root made before the key probe has only the value probe; its writers rely on the
    # write-time check of every page (5.4), as every writer does.
    if metadata.get(KEY_PROBE) == DENSE_PROBE or metadata.get(PROBE_KEY) == DENSE_PROBE:
        return DENSE
    return ASCII
