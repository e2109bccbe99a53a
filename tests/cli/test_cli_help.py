"""Help, version, the env topic, options from the environment, and bad usage (exit 2)."""

from __future__ import annotations

import pytest

COMMANDS = [
    "demo",
    "emulator",
    "init",
    "stats",
    "destroy",
    "create",
    "add",
    "rm",
    "ls",
    "show",
    "purge",
    "export",
    "verify",
    "compact",
    "env",
]


def test_main_help_lists_every_command_exit_codes_and_variables(offline) -> None:
    """--help names every command, the exit codes and the connection variables."""
    out = offline("--help").stdout
    for name in COMMANDS:
        assert f" {name} " in out
    for text in ("Exit codes", "130", "OPENAI_API_KEY", "LINKEDTHREADS_ROOT", "--local"):
        assert text in out


def test_no_arguments_prints_help(offline) -> None:
    """The bare command prints its help and succeeds."""
    assert "Usage: linkedthreads" in offline().stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(offline, name: str) -> None:
    """Each command's --help works without a server and names its environment variables."""
    out = offline(name, "--help").stdout
    assert "Usage:" in out
    assert "env var: LINKEDTHREADS_" in out


def test_version(offline) -> None:
    """--version prints the package version."""
    assert offline("--version").stdout.startswith("linkedthreads ")


def test_env_topic_lists_every_option_variable(offline) -> None:
    """`env --json` lists the SDK variables and one variable for every option."""
    data = offline("env", "--json").json()
    names = {v["name"] for v in data["options"]}
    assert {
        "LINKEDTHREADS_ROOT",
        "LINKEDTHREADS_LOCAL",
        "LINKEDTHREADS_STATE_DIR",
        "LINKEDTHREADS_DEBUG",
        "LINKEDTHREADS_LS_LIMIT",
        "LINKEDTHREADS_PURGE_OLDER_THAN",
        "LINKEDTHREADS_ADD_FROM",
    } <= names
    assert "OPENAI_API_KEY" in {v["name"] for v in data["sdk"]}
    plain = offline("env").stdout
    assert "LINKEDTHREADS_LS_LIMIT\t--limit/-n\tls" in plain


def test_options_come_from_the_environment(cli, root) -> None:
    """LINKEDTHREADS_<COMMAND>_<OPTION> sets an option; the command line wins."""
    cli("create", "--count", "4")
    assert len(cli("ls", env={"LINKEDTHREADS_LS_LIMIT": "2"}).lines) == 2
    assert len(cli("ls", "--limit", "3", env={"LINKEDTHREADS_LS_LIMIT": "2"}).lines) == 3
    assert isinstance(cli("ls", env={"LINKEDTHREADS_LS_JSON": "1"}).json(), list)


def _usage_error(run) -> None:
    assert run.stdout == ""
    assert run.stderr.startswith("error: ")
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["nosuchcommand"],
        ["ls", "--bogus"],
        ["ls", "--limit", "0"],
        ["ls", "--since", "yesterday"],
        ["init", "--backend", "files"],
        ["init", "--codec", "base64"],
        ["create", "--metadata", "novalue"],
        ["create", "--count", "0"],
        ["add"],
        ["rm"],
        ["rm", "--keep-object", "--erase-items", "conv_abc"],
        ["show"],
        ["show", "not-an-id"],
        ["purge", "--older-than", "3 fortnights"],
        ["purge", "--match", "novalue"],
        ["export", "--format", "xml"],
        ["export", "--json", "--format", "csv"],
        ["emulator", "--fault-rate", "2"],
        ["demo", "--children", "0"],
    ],
)
def test_bad_usage_exits_2_with_one_error_line(offline, args: list[str]) -> None:
    """Bad arguments: exit 2, `error: ...` on stderr, nothing on stdout, no traceback."""
    offline.env.update({"OPENAI_API_KEY": "k", "LINKEDTHREADS_ROOT": "conv_x"})
    _usage_error(offline(*args, expect=2))
