"""Bad input to the command line (issue 16, finding 7): each is one clear line on stderr,
exit 2, before any request (counted on the emulator), with control characters shown
escaped; then a fuzz of option values and IDs finds no traceback, no "unexpected" error and
no request made for a value refused."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkedthreads.cli._connection import STATE_FILE_NAME
from tests.conftest import examples

HINT = re.compile(r"^See 'linkedthreads [a-z]+ --help'\.$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")


def assert_usage(run: Any, *words: str) -> None:
    """Exit 2; one ``error:`` line naming the problem (plus, for the parser's own errors, a
    pointer to --help); nothing on stdout; no traceback; no raw control character."""
    assert run.exit_code == 2, run
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines, run
    assert lines[0].startswith("error: "), run.stderr
    assert all(HINT.match(line) for line in lines[1:]), run.stderr
    assert "unexpected" not in run.stderr
    assert "Traceback" not in run.stderr
    assert not CONTROL.search(run.stderr), repr(run.stderr)
    for word in words:
        assert word in lines[0], (word, run.stderr)


@pytest.fixture
def counted_emulator(emulator: Any, root: str) -> Any:
    """The emulator's counters zeroed after the root was made: every request is counted."""
    emulator.reset_stats()
    return emulator


def no_request(emulator: Any) -> None:
    assert emulator.stats()["total"] == 0, emulator.stats()["requests"]


def test_since_far_in_the_past(cli: Any, counted_emulator: Any) -> None:
    assert_usage(cli("ls", "--since", "3000000d", expect=None), "--since", "hundred years")
    assert_usage(cli("ls", "--since", "0001-01-01T00:00", expect=None), "--since")
    no_request(counted_emulator)


def test_limit_too_large(cli: Any, counted_emulator: Any) -> None:
    assert_usage(cli("ls", "--limit", "9" * 30, expect=None), "--limit")
    assert_usage(cli("ls", "-n", "9" * 5000, expect=None), "--limit")
    assert_usage(cli("show", "conv_abc", "--limit", "9" * 30, expect=None), "--limit")
    no_request(counted_emulator)


def test_older_than_too_old_is_refused_before_reading(cli: Any, counted_emulator: Any) -> None:
    cli("create", "-n", "2")
    counted_emulator.reset_stats()
    for age in ("99999999999d", "9" * 400 + "w", "36501d"):
        run = cli("purge", "--older-than", age, "--yes", expect=None)
        assert_usage(run, "--older-than", "hundred years")
    no_request(counted_emulator)
    assert "0 children of 2 match" in cli("purge", "--older-than", "36500d", "--dry-run").stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("conv_caf\xe9\n".encode("latin-1"), ("line 1", "not UTF-8", "0xe9")),
        (b"conv_ok1\n" + bytes(range(256)), ("line 2", "control character")),
        (b"conv_ok1\n" + bytes(range(128, 256)), ("line 2", "not UTF-8", "0x80")),
        (b"conv_a\x00b\n", ("line 1", "control character")),
        (b"conv_" + b"a" * 5_000_000 + b"\n", ("line 1", "longer than 1,048,576 bytes")),
        (b"conv_" + b"a" * 300 + b"\n", ("line 1", "longer than 256")),
        (b"id\nconv_ok\nthread_x\n", ("thread_x", "not a conversation ID")),
    ],
    ids=["latin-1", "binary", "high-bytes", "nul", "5M-line", "long-id", "wrong-kind"],
)
def test_from_files_that_are_not_ids(
    cli: Any, counted_emulator: Any, tmp_path: Path, content: bytes, words: tuple[str, ...]
) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(content)
    assert_usage(cli("add", "--no-check", "--from", str(path), expect=None), *words)
    assert_usage(cli("rm", "--from", "-", input=content, expect=None), *words)  # type: ignore[arg-type]
    no_request(counted_emulator)


def test_from_a_file_that_cannot_be_read(cli: Any, counted_emulator: Any, tmp_path: Path) -> None:
    assert_usage(cli("add", "--from", str(tmp_path / "none"), expect=None), "cannot read")
    assert_usage(cli("add", "--from", str(tmp_path), expect=None), "cannot read")
    no_request(counted_emulator)


def test_a_five_million_character_id(cli: Any, counted_emulator: Any) -> None:
    huge = "conv_" + "a" * 5_000_000
    for args in (["rm", huge], ["add", huge], ["show", huge], ["ls", "--root", huge]):
        run = cli(*args, expect=None)
        assert_usage(run, "longer than 256 characters")
        assert len(run.stderr) < 300
    no_request(counted_emulator)


@pytest.mark.parametrize(
    "value",
    ["conv_\x1b[2J\x1b[31mred", "conv_a\x1b]0;title\x07", "conv_\u202egnp.exe", "conv_a\rb"],
)
def test_ids_with_terminal_escapes_are_shown_escaped(
    cli: Any, counted_emulator: Any, value: str
) -> None:
    for args in (["rm", value], ["add", value], ["show", value], ["stats", "--root", value]):
        run = cli(*args, expect=None)
        assert_usage(run, "control character")
        assert "\\x1b" in run.stderr or "\\u202e" in run.stderr or "\\r" in run.stderr
    no_request(counted_emulator)


def test_create_count_is_bounded_and_large_counts_ask(cli: Any, counted_emulator: Any) -> None:
    assert_usage(cli("create", "--count", "99999999999999999999", expect=None), "--count")
    assert_usage(cli("create", "--count", "1000001", expect=None), "--count")
    run = cli("create", "--count", "5000", expect=None)
    assert_usage(run, "--yes")
    no_request(counted_emulator)


def test_metadata_refused_before_any_request(cli: Any, counted_emulator: Any) -> None:
    assert_usage(cli("create", "-m", "k" * 65 + "=v", expect=None), "--metadata", "64")
    assert_usage(cli("create", "-m", "k=" + "v" * 513, expect=None), "--metadata", "512")
    many = [arg for i in range(16) for arg in ("-m", f"k{i}=v")]
    assert_usage(cli("create", *many, expect=None), "--metadata", "at most 15")
    no_request(counted_emulator)


def test_emulator_state_file_with_bad_json(offline: Any, tmp_path: Path) -> None:
    """`emulator --state FILE`: the file named, what is wrong with it, and left as it is."""
    for name, text in (("bad.json", "{bad"), ("list.json", "[1, 2]"), ("v.json", '{"a": 1}')):
        path = tmp_path / name
        path.write_text(text)
        run = offline("emulator", "--state", str(path), expect=None)
        assert_usage(run, "--state", name)
        assert path.read_text() == text


def test_local_state_file_holding_a_list(offline: Any, tmp_path: Path) -> None:
    state = Path(os.environ["LINKEDTHREADS_STATE_DIR"])
    state.mkdir(parents=True)
    path = state / STATE_FILE_NAME
    path.write_text("[]")
    for args in (["init", "--local"], ["ls", "--local", "--root", "conv_abc"]):
        run = offline(*args, expect=None)
        assert_usage(run, STATE_FILE_NAME, "not an emulator's state", "move it away")
    assert path.read_text() == "[]"


def test_emulator_options_that_are_not_numbers(offline: Any) -> None:
    for args in (["--fault-rate", "nan"], ["--latency-ms", "nan"], ["--latency-ms", "inf"]):
        assert_usage(offline("emulator", *args, expect=None))
    assert_usage(offline("demo", "--latency-ms", "inf", expect=None), "--latency-ms")


def test_emulator_state_that_is_not_a_file(offline: Any) -> None:
    """A device (endless) or a directory is refused before it is read."""
    assert_usage(offline("emulator", "--state", "/dev/zero", expect=None), "regular file")
    assert_usage(offline("emulator", "--state", "/", expect=None), "--state")


def test_reserved_metadata_key(cli: Any, counted_emulator: Any) -> None:
    assert_usage(cli("create", "-m", "linkedthreads=x", expect=None), "linkedthreads")
    assert_usage(cli("init", "-m", "linkedthreads=x", expect=None), "linkedthreads")
    no_request(counted_emulator)


def test_values_echoed_in_notes_are_escaped(cli: Any, root: str) -> None:
    run = cli("purge", "--dry-run", "--match", "k\x1b[2J=v\x07", expect=0)
    assert "\x1b" not in run.stderr
    assert "\x07" not in run.stderr
    assert "k\\x1b[2J=v\\x07" in run.stderr


# -- fuzz -------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=examples(25),  # 10 in the fast loop
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
AGES = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A\s?[0-9]{1,25}(\.[0-9]{0,5})?\s?[smhdwSMHDWx]?\s?\Z"),
    st.from_regex(r"\A[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}(T[0-9:]{1,8})?(Z|[+-][0-9:]{1,6})?\Z"),
)
INTS = st.one_of(st.text(max_size=30), st.integers().map(str), st.from_regex(r"\A[0-9]{15,40}\Z"))
IDS = st.one_of(
    st.text(max_size=80),
    st.text(max_size=80).map(lambda t: "conv_" + t),
    st.text(st.characters(codec="ascii"), max_size=300).map(lambda t: "conv_" + t),
)


def check(run: Any, emulator: Any, allowed: tuple[int, ...] = (0,)) -> None:
    """A value the command accepts runs; one it refuses is a usage error sent nowhere."""
    assert "Traceback" not in run.stderr
    assert "unexpected" not in run.stderr, run.stderr
    if run.exit_code == 2:
        assert_usage(run)
        no_request(emulator)
    else:
        assert run.exit_code in allowed, run


@FUZZ
@given(value=AGES)
def test_fuzz_since(cli: Any, counted_emulator: Any, value: str) -> None:
    counted_emulator.reset_stats()
    check(cli("ls", f"--since={value}", expect=None), counted_emulator)


@FUZZ
@given(value=AGES)
def test_fuzz_older_than(cli: Any, counted_emulator: Any, value: str) -> None:
    counted_emulator.reset_stats()
    check(cli("purge", "--dry-run", f"--older-than={value}", expect=None), counted_emulator)


@FUZZ
@given(value=INTS)
def test_fuzz_limit(cli: Any, counted_emulator: Any, value: str) -> None:
    counted_emulator.reset_stats()
    check(cli("ls", f"--limit={value}", expect=None), counted_emulator)


@FUZZ
@given(
    value=st.one_of(
        st.text(max_size=30),
        st.integers(max_value=0).map(str),
        st.integers(min_value=1001).map(str),
        st.just("1"),
    )
)
def test_fuzz_count(cli: Any, counted_emulator: Any, value: str) -> None:
    counted_emulator.reset_stats()
    check(cli("create", f"--count={value}", expect=None), counted_emulator)


@FUZZ
@given(value=IDS)
def test_fuzz_ids(cli: Any, counted_emulator: Any, value: str) -> None:
    counted_emulator.reset_stats()
    # A well-formed ID not in the index: refused (exit 1) after reading the index.
    check(cli("rm", "--keep-object", "--", value, expect=None), counted_emulator, allowed=(1,))
    counted_emulator.reset_stats()
    run = cli("show", "--", value, expect=None)
    check(run, counted_emulator, allowed=(1,))  # a well-formed ID naming nothing: exit 1


@FUZZ
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzz_from_files(cli: Any, counted_emulator: Any, tmp_path: Path, content: bytes) -> None:
    counted_emulator.reset_stats()
    path = tmp_path / "ids.txt"
    path.write_bytes(content)
    run = cli("rm", "--keep-object", "--from", str(path), expect=None)
    check(run, counted_emulator, allowed=(1,))


@FUZZ
@given(value=st.text(max_size=40))
def test_fuzz_state_files(offline: Any, tmp_path: Path, value: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(value if value.strip() else json.dumps(value))
    run = offline("emulator", "--state", str(path), "--port", "1", expect=None)
    assert "Traceback" not in run.stderr
    assert "unexpected" not in run.stderr, run.stderr
    assert run.exit_code in (1, 2), run
