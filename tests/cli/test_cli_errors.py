"""Failures: one clear line on stderr, the documented exit code, never a credential."""

from __future__ import annotations

import openai


def test_missing_key_outside_local_exits_4_and_suggests_local(offline) -> None:
    """No OPENAI_API_KEY and no --local: exit 4, a hint to use --local, nothing on stdout."""
    run = offline("ls", "--root", "conv_abc", expect=4)
    assert run.stdout == ""
    assert run.stderr.startswith("error: no API key")
    assert "--local" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_azure_key_exits_4(offline) -> None:
    """AZURE_OPENAI_ENDPOINT without a key is missing auth too."""
    run = offline("init", env={"AZURE_OPENAI_ENDPOINT": "https://example.invalid"}, expect=4)
    assert "AZURE_OPENAI_API_KEY" in run.stderr


def test_missing_root_is_a_clear_error(cli) -> None:
    """No --root and no LINKEDTHREADS_ROOT: exit 1, says how to give one."""
    run = cli("ls", expect=1)
    assert run.stderr.startswith("error: no index given")
    assert "LINKEDTHREADS_ROOT" in run.stderr
    assert "init" in run.stderr


def test_root_that_does_not_exist(cli) -> None:
    """A root naming no object: exit 1, and a hint that it may live on the other side."""
    run = cli("ls", "--root", "conv_" + "0" * 48, expect=1)
    assert "does not exist" in run.stderr
    assert "--local" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_root_that_is_not_an_index(cli, root) -> None:
    """A child's ID given as the root is refused with the library's explanation."""
    child = cli("create").stdout.strip()
    run = cli("stats", "--root", child, expect=1)
    assert run.stderr.startswith("error: ")
    assert child in run.stderr


def test_malformed_root(cli) -> None:
    """A root of no known kind: bad usage (exit 2), one line, before any request."""
    run = cli("ls", "--root", "bogus", expect=2)
    assert run.stderr.startswith("error: ")
    assert "bogus" in run.stderr


def test_refused_key_exits_4_and_never_prints_credentials(cli, emulator) -> None:
    """HTTP 401: exit 4; neither the key nor the organisation or project appear anywhere."""
    emulator.update_settings(api_key="the-right-key")
    secrets = {
        "OPENAI_API_KEY": "sk-proj-wrongkey1234567890abcdef",
        "OPENAI_ORG_ID": "org-secretorganisation42",
        "OPENAI_PROJECT_ID": "proj_secret99",
    }
    for args in (["init"], ["ls", "--root", "conv_abc"], ["show", "conv_abc"]):
        run = cli(*args, env=secrets, expect=4)
        for value in secrets.values():
            assert value not in run.stdout + run.stderr
    debug = cli("init", "--debug", env=secrets, expect=4)
    assert "Traceback" in debug.stderr
    for value in secrets.values():
        assert value not in debug.stderr


def test_unreachable_server_is_one_line(offline) -> None:
    """No server at OPENAI_BASE_URL: exit 1, one line, no traceback."""
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    run = offline("show", "conv_abc", env=env, expect=1)
    assert run.stderr.startswith("error: ")
    assert len(run.stderr.strip().splitlines()) == 1


def test_debug_adds_the_traceback(cli) -> None:
    """--debug prints the traceback before the error line."""
    run = cli("ls", "--root", "conv_" + "0" * 48, "--debug", expect=1)
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: ")


def test_unexpected_errors_are_one_line(cli, root, monkeypatch) -> None:
    """A bug surfaces as one line naming the exception, with a pointer to --debug."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(openai.resources.conversations.Conversations, "retrieve", broken)
    run = cli("stats", expect=1)
    assert (
        run.stderr.strip()
        == "error: unexpected RuntimeError: boom (run again with --debug for the traceback)"
    )


def test_no_colour_or_progress_without_a_terminal(cli, root) -> None:
    """Output to pipes carries no escape sequences and no progress bars."""
    run = cli("create", "--count", "5", env={"FORCE_COLOR": None})
    assert "\x1b[" not in run.stdout + run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]
