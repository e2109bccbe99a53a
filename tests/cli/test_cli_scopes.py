"""``--scope`` on the commands that take an index, and ``linkedthreads scopes``: over HTTP on
the emulator, checked against the library's own view of the same index."""

from __future__ import annotations

from typing import Any

import pytest

from linkedthreads import ThreadIndex
from linkedthreads.cli._parse import check_scopes


def assert_usage(run: Any, *words: str) -> None:
    """Exit 2; one ``error:`` line naming the problem, then a pointer to --help; nothing on
    stdout; no raw control character."""
    assert run.exit_code == 2, run
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines[0].startswith("error: "), run.stderr
    assert all(line.startswith("See 'linkedthreads ") for line in lines[1:]), run.stderr
    assert "\x1b" not in run.stderr, repr(run.stderr)
    for word in words:
        assert word in lines[0], (word, run.stderr)


def no_request(emulator: Any) -> None:
    assert emulator.stats()["total"] == 0, emulator.stats()["requests"]


def _ids(run: Any) -> list[str]:
    return [line for line in run.lines if line]


def test_create_ls_in_a_scope_and_at_the_root(cli: Any, root: str, emulator: Any) -> None:
    mine = _ids(cli("create", "--scope", "user-42", "--count", "3"))
    other = _ids(cli("create", "--scope", "user-7"))
    at_root = _ids(cli("create"))
    assert sorted(_ids(cli("ls", "--scope", "user-42"))) == sorted(mine)
    assert _ids(cli("ls", "--scope", "user-7")) == other
    assert _ids(cli("ls")) == at_root
    assert _ids(cli("ls", "--scope", "never-written")) == []  # an empty list, not an error
    with emulator.client() as client:
        index = ThreadIndex.open(client, root)
        assert sorted(index.scope("user-42").all()) == sorted(mine)
        index.close()


def test_scope_from_the_environment_and_nested(cli: Any, root: str) -> None:
    inner = _ids(cli("create", "--scope", "acme", "--scope", "user-42"))
    outer = _ids(cli("create", env={"LINKEDTHREADS_SCOPE": "acme"}))
    assert _ids(cli("ls", env={"LINKEDTHREADS_SCOPE": "acme\nuser-42"})) == inner
    spaced = _ids(cli("create", env={"LINKEDTHREADS_SCOPE": "user 42"}))  # one name, kept
    assert _ids(cli("ls", "--scope", "user 42")) == spaced
    assert _ids(cli("ls", "--scope", "acme")) == outer
    # the command line wins over the environment
    assert _ids(cli("ls", "--scope", "acme", env={"LINKEDTHREADS_SCOPE": "other"})) == outer
    assert [s["name"] for s in cli("scopes", "--json").json()] == ["acme", "user 42"]
    assert [s["name"] for s in cli("scopes", "--scope", "acme", "--json").json()] == ["user-42"]


def test_scopes_lists_name_and_root(cli: Any, root: str, emulator: Any) -> None:
    assert cli("scopes", "--json").json() == []
    for name in ("user-1", "user 2", "ünïcode"):
        cli("create", "--scope", name)
    listed = cli("scopes", "--json").json()
    assert [s["name"] for s in listed] == ["user-1", "user 2", "ünïcode"]
    with emulator.client() as client:
        index = ThreadIndex.open(client, root)
        assert [(s["name"], s["root_id"]) for s in listed] == list(index.scopes())
        index.close()
    plain = cli("scopes")
    assert plain.lines == [f"{s['name']}\t{s['root_id']}" for s in listed]
    assert "3 scopes" in plain.stderr


def test_destroy_a_scope_leaves_the_rest(cli: Any, root: str, emulator: Any) -> None:
    doomed = _ids(cli("create", "--scope", "user-42", "--count", "2"))
    kept = _ids(cli("create", "--scope", "user-7"))
    at_root = _ids(cli("create"))
    run = cli("destroy", "--scope", "user-42", "--erase-items", "--yes")
    assert "scope 'user-42'" in run.stderr
    assert "Forget LINKEDTHREADS_ROOT" not in run.stderr
    assert [s["name"] for s in cli("scopes", "--json").json()] == ["user-7"]
    assert _ids(cli("ls", "--scope", "user-42")) == []
    assert _ids(cli("ls", "--scope", "user-7")) == kept
    assert _ids(cli("ls")) == at_root
    live = set(emulator.live_ids("conversations"))
    assert not live & set(doomed)
    assert set(kept + at_root) <= live


def test_serve_a_scope_never_written_says_so(cli: Any, root: str) -> None:
    run = cli("serve", "--scope", "nobody", expect=1)
    assert "never written" in run.stderr
    assert run.stdout == ""


def test_purge_and_export_in_a_scope(cli: Any, root: str) -> None:
    cli("create", "--scope", "user-42", "--metadata", "topic=a", "--count", "2")
    keep = _ids(cli("create", "--scope", "user-42", "--metadata", "topic=b"))
    elsewhere = _ids(cli("create", "--metadata", "topic=a"))
    exported = cli("export", "--scope", "user-42").json()
    assert exported["count"] == 3
    run = cli("purge", "--scope", "user-42", "--match", "topic=a", "--yes", "--json")
    assert run.json()["deleted"] == 2
    assert run.json()["listed"] == 3  # only the scope's children were read
    assert _ids(cli("ls", "--scope", "user-42")) == keep
    assert _ids(cli("ls")) == elsewhere


def test_stats_and_verify_in_a_scope(cli: Any, root: str) -> None:
    cli("create", "--scope", "user-42", "--count", "2")
    data = cli("stats", "--scope", "user-42", "--json").json()
    assert data["children"] == 2
    assert data["scope"] == ["user-42"]
    assert data["root_id"] != root
    assert cli("stats", "--json").json()["scope"] == []
    cli("verify", "--scope", "user-42")
    cli("compact", "--scope", "user-42")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", ["empty"]),
        (" user", ["space"]),
        ("user ", ["space"]),
        ("a\x1bb", ["control"]),
        ("x" * 201, ["200"]),
    ],
)
def test_bad_scope_names(cli: Any, quiet: Any, value: str, words: list[str]) -> None:
    commands = ("ls", "scopes", "create", "add", "rm", "destroy", "purge", "export", "stats")
    for command in (*commands, "verify", "compact", "serve"):
        assert_usage(cli(command, "--scope", value, expect=None), "--scope", *words)
    assert_usage(cli("ls", expect=None, env={"LINKEDTHREADS_SCOPE": "ok\x1bno"}), "--scope")
    assert_usage(cli("ls", expect=None, env={"LINKEDTHREADS_SCOPE": "ok\n"}), "empty")
    no_request(quiet)


@pytest.fixture
def quiet(emulator: Any, root: str) -> Any:
    emulator.reset_stats()
    return emulator


@pytest.fixture
def unwritten(emulator: Any) -> Any:
    """An index, for ``scope``'s check of a name (which makes no request)."""
    with emulator.client() as client:
        index = ThreadIndex.create(client, backend="conversations")
        yield index
        index.close()


@pytest.mark.parametrize(
    "name", ["", " a", "a ", "a\tb", "a\nb", "\x00", "x" * 200, "x" * 201, "user/42", "ü", "a b"]
)
def test_the_command_line_checks_names_as_the_library_does(unwritten: Any, name: str) -> None:
    """The command line keeps its own copy of the rules (it uses the public API only): it
    refuses exactly the names the library refuses."""
    from linkedthreads import LinkedThreadsError

    try:
        unwritten.scope(name)
        library_ok = True
    except LinkedThreadsError:
        library_ok = False
    try:
        check_scopes([name])
        cli_ok = True
    except Exception:
        cli_ok = False
    assert cli_ok == library_ok, name


def test_a_scope_of_an_index_of_threads(cli: Any) -> None:
    root = cli("init", "--backend", "threads", "--json").json()["root_id"]
    cli.env["LINKEDTHREADS_ROOT"] = root
    made = _ids(cli("create", "--scope", "user-42", "--count", "2"))
    assert all(i.startswith("thread_") for i in made)
    assert sorted(_ids(cli("ls", "--scope", "user-42"))) == sorted(made)
    assert [s["name"] for s in cli("scopes", "--json").json()] == ["user-42"]
    cli("destroy", "--scope", "user-42", "--yes")
    assert cli("scopes", "--json").json() == []
    assert _ids(cli("ls")) == []
