"""Creating and opening a root (docs/design.md, section 3), step by step."""

from __future__ import annotations

import pytest

from linkedthreads import (
    BackendUnavailableError,
    IndexNotFoundError,
    MetadataError,
    NotAnIndexError,
    UnsupportedFormatError,
)
from linkedthreads._backends import Backend
from linkedthreads._codec import ASCII, DENSE, DENSE_PROBE, KEY_PROBE
from linkedthreads._protocol import Environment, alphabet_for_root, create_root, open_root
from linkedthreads._protocol.constants import CODEC_KEY, ROOT_TAG, TAG_KEY
from linkedthreads._transport import Outcome

from .conftest import ManualClock
from .script import Scripted, container, not_found, sdk_call


def test_a_dense_root_carries_the_key_probe_and_is_read_back(
    conversations_backend: Backend,
) -> None:
    run = Scripted(create_root(conversations_backend, {"team": "a"}, "dense"))
    (create,) = run.expect("create conversation")
    sent = sdk_call(create).kwargs["metadata"]
    assert sent == {"team": "a", TAG_KEY: ROOT_TAG, CODEC_KEY: "dense", KEY_PROBE: DENSE_PROBE}
    run.answer(container("conv_root", sent))
    run.exchange("read conversation conv_root", container("conv_root", sent))
    assert run.result() == ("conv_root", sent)
    assert alphabet_for_root("conv_root", sent) is DENSE


def test_an_auto_root_falls_back_to_ascii_when_the_probe_is_refused(
    conversations_backend: Backend,
) -> None:
    run = Scripted(create_root(conversations_backend, {}, "auto"))
    run.exchange("create conversation", Outcome(error=MetadataError("invalid key")))
    (again,) = run.expect("create conversation")
    sent = sdk_call(again).kwargs["metadata"]
    assert sent == {TAG_KEY: ROOT_TAG, CODEC_KEY: "ascii"}
    run.answer(container("conv_root", sent))
    run.exchange("read conversation conv_root", container("conv_root", sent))
    assert run.result()[0] == "conv_root"
    assert alphabet_for_root("conv_root", sent) is ASCII


def test_a_dense_root_refused_says_what_to_do_without_the_probe_key(
    conversations_backend: Backend,
) -> None:
    run = Scripted(create_root(conversations_backend, {}, "dense"))
    run.exchange("create conversation", Outcome(error=MetadataError(f"bad key {KEY_PROBE}")))
    message = str(run.raises(MetadataError))
    assert 'codec="auto"' in message
    assert KEY_PROBE not in message


def test_a_server_without_the_api_is_unavailable(conversations_backend: Backend) -> None:
    run = Scripted(create_root(conversations_backend, {}, "ascii"))
    run.exchange("create conversation", not_found())
    assert "404" in str(run.raises(BackendUnavailableError))


def test_a_lagging_read_back_is_read_again_until_the_bound_then_named(
    conversations_backend: Backend, lag_clock: ManualClock
) -> None:
    """A 404 right after the create is read again every quarter second while ``read_lag``
    lasts (8.4), by the environment's monotonic clock; then the error names the new ID."""
    env = Environment(monotonic=lag_clock)
    run = Scripted(create_root(conversations_backend, {}, "ascii", read_lag=0.5, env=env))
    run.exchange("create conversation", container("conv_root", {}))
    for _ in range(2):
        run.exchange("read conversation conv_root", not_found())
        assert run.expect_pause() == 0.25
        lag_clock.now += 0.25
    run.exchange("read conversation conv_root", not_found())
    message = str(run.raises(IndexNotFoundError))
    assert "conv_root" in message
    assert "open it later" in message


def test_open_root_names_a_missing_root(conversations_backend: Backend) -> None:
    run = Scripted(open_root(conversations_backend, "conv_gone"))
    run.exchange("read conversation conv_gone", not_found())
    assert "conv_gone" in str(run.raises(IndexNotFoundError))


@pytest.mark.parametrize(
    ("metadata", "error", "says"),
    [
        ({}, NotAnIndexError, "not a linkedthreads index"),
        ({TAG_KEY: "in:conv_other"}, NotAnIndexError, "child of index 'conv_other'"),
        ({TAG_KEY: "index/x"}, NotAnIndexError, "malformed"),
        ({TAG_KEY: "index/99"}, UnsupportedFormatError, "upgrade linkedthreads"),
    ],
)
def test_a_header_that_is_not_a_root_of_this_format_is_refused(
    metadata: dict[str, str], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        alphabet_for_root("conv_root", metadata)
