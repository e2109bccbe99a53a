"""Every index command end to end against the emulator, output parsed back."""

from __future__ import annotations

import csv
import io

import pytest

from tests.sdk_warnings import OWN_THREADS_CALLS


@pytest.fixture
def sdk_client(emulator):
    """An SDK client on the emulator, to act behind the index's back."""
    client = emulator.client()
    yield client
    client.close()


def _conversation_with_items(emulator, *texts: str, **metadata: str) -> str:
    client = emulator.client()
    items = [
        {"type": "message", "role": "user" if i % 2 == 0 else "assistant", "content": t}
        for i, t in enumerate(texts)
    ]
    conv = client.conversations.create(items=items, metadata=metadata or None)
    client.close()
    return conv.id


# -- init --


def test_init_prints_only_the_root_and_how_to_keep_it(cli, emulator) -> None:
    """stdout is the root ID alone (for ROOT=$(linkedthreads init)); stderr says how to keep it."""
    run = cli("init")
    root = run.stdout.strip()
    assert run.stdout == root + "\n"
    assert root.startswith("conv_")
    assert f"export LINKEDTHREADS_ROOT={root}" in run.stderr
    assert root in emulator.live_ids("conversations")


def test_init_json_threads_ascii_metadata(cli) -> None:
    """--json describes the new index; --backend, --codec and --metadata are honoured."""
    data = cli(
        "init", "--backend", "threads", "--codec", "ascii", "-m", "team=red", "--json"
    ).json()
    assert data["root_id"].startswith("thread_")
    assert (data["backend"], data["codec"], data["local"]) == ("threads", "ascii", False)


def test_init_refuses_reserved_metadata(cli) -> None:
    """The library's own metadata key is refused before any request (exit 2)."""
    run = cli("init", "-m", "linkedthreads=x", expect=2)
    assert "reserved" in run.stderr


# -- create, add, rm --


def test_create_prints_ids_and_json(cli, root, emulator) -> None:
    """create prints one new ID a line; --json gives id, time and user metadata."""
    ids = cli("create", "-n", "3").lines
    assert len(ids) == 3
    assert set(ids) <= emulator.live_ids("conversations")
    made = cli("create", "--count", "2", "-m", "user=bob", "-m", "tier=x=y", "--json").json()
    assert [c["metadata"] for c in made] == [{"user": "bob", "tier": "x=y"}] * 2
    assert all(c["created_at"].endswith("Z") and c["exists"] for c in made)
    assert cli("ls").lines == ids + [c["id"] for c in made]


def test_add_checks_existence_and_reads_files(cli, root, emulator, tmp_path) -> None:
    """add lists existing objects from arguments, a file or stdin; unknown IDs are refused."""
    a, b, c, d = (_conversation_with_items(emulator, f"hi {n}") for n in range(4))
    cli("add", a)
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# a comment\n{b}\n\n{c}, extra\n")
    cli("add", "--from", str(listing))
    cli("add", "--from", "-", input=f"{d}\n")
    assert cli("ls").lines == [a, b, c, d]
    missing = "conv_" + "1" * 48
    run = cli("add", missing, expect=1)
    assert missing in run.stderr
    assert "nothing was added" in run.stderr
    assert missing not in cli("ls").lines
    cli("add", "--no-check", missing)
    assert cli("ls").lines[-1] == missing
    assert "not a conversation ID" in cli("add", "thread_abc", expect=2).stderr


def test_rm_deletes_or_keeps_objects(cli, root, emulator) -> None:
    """rm deletes the objects; --keep-object only unlists them; unlisted IDs are refused."""
    a, b, c = cli("create", "-n", "3").lines
    cli("rm", a)
    assert a not in emulator.live_ids("conversations")
    cli("rm", "--keep-object", b)
    assert b in emulator.live_ids("conversations")
    assert cli("ls").lines == [c]
    run = cli("rm", a, c, expect=1)
    assert "not in this index" in run.stderr
    assert a in run.stderr
    assert cli("ls").lines == [c]


def test_rm_erase_items(cli, root, emulator) -> None:
    """--erase-items deletes a conversation's items before the conversation."""
    conv = _conversation_with_items(emulator, "one", "two")
    cli("add", conv)
    cli("rm", "--erase-items", conv)
    assert emulator.retained_item_ids(conv) == []


# -- ls, show, export --


def test_ls_plain_json_limit(cli, root) -> None:
    """ls prints IDs in order; --json and --limit."""
    ids = cli("create", "-n", "5").lines
    assert cli("ls").lines == ids
    assert cli("ls", "--json").json() == [{"id": i} for i in ids]
    assert cli("ls", "--limit", "2").lines == ids[:2]


def test_ls_long_reads_details(cli, root, emulator) -> None:
    """--long adds creation time, user metadata and the first item; TSV when piped."""
    conv = _conversation_with_items(emulator, "Hello\tthere", "Hi!", topic="greet")
    cli("add", conv)
    cli("create", "-m", "user=al")
    rows = cli("ls", "--long", "--json").json()
    assert rows[0]["id"] == conv
    assert rows[0]["metadata"] == {"topic": "greet"}
    assert (rows[0]["first_text"], rows[0]["first_role"]) == ("Hello\tthere", "user")
    assert rows[1]["metadata"] == {"user": "al"}
    assert rows[1]["first_text"] is None
    tsv = [line.split("\t") for line in cli("ls", "-l").lines]
    assert tsv[0][0] == conv
    assert tsv[0][2] == "topic=greet"
    assert tsv[0][3] == "Hello there"
    assert tsv[1][2] == "user=al"


def test_ls_long_marks_deleted_children(cli, root, sdk_client) -> None:
    """A child deleted behind the index's back shows as not existing."""
    a, _b = cli("create", "-n", "2").lines
    sdk_client.conversations.delete(a)
    rows = cli("ls", "--long", "--json").json()
    assert [r["exists"] for r in rows] == [False, True]
    assert cli("ls", "-l").lines[0] == f"{a}\tdeleted\t\t"


def test_ls_since(cli, root) -> None:
    """--since keeps children created since a moment (an age or a date)."""
    ids = cli("create", "-n", "3").lines
    assert cli("ls", "--since", "1h").lines == ids
    assert cli("ls", "--since", "2999-01-01").lines == []
    assert cli("ls", "--since", "2000-01-01T00:00Z", "--limit", "1", "--json").json() == [
        {"id": ids[0]}
    ]


def test_show_conversation(cli, emulator) -> None:
    """show prints roles and texts in order; --json keeps the SDK's item objects."""
    conv = _conversation_with_items(emulator, "First line\nsecond line", "An answer", topic="x")
    out = cli("show", conv).stdout
    assert conv in out
    assert "metadata: topic=x" in out
    assert out.index("user") < out.index("  First line") < out.index("assistant")
    assert "  second line" in out
    assert "  An answer" in out
    data = cli("show", conv, "--json").json()
    assert data["id"] == conv
    assert len(data["entries"]) == 2
    assert data["entries"][1]["role"] == "assistant"
    assert len(cli("show", conv, "--limit", "1", "--json").json()["entries"]) == 1


def test_show_missing(cli) -> None:
    """show of an unknown ID: exit 1, one line."""
    run = cli("show", "conv_" + "2" * 48, expect=1)
    assert run.stderr.startswith("error: no conversation")


def test_export_json_and_csv(cli, root) -> None:
    """export writes every child with its details, as one JSON document or CSV rows."""
    ids = cli("create", "-n", "3", "-m", "k=v").lines
    doc = cli("export").json()
    assert doc["root_id"] == root
    assert doc["count"] == 3
    assert [c["id"] for c in doc["children"]] == ids
    assert doc["children"][0]["metadata"] == {"k": "v"}
    assert cli("export", "--json").json()["count"] == 3
    rows = list(csv.DictReader(io.StringIO(cli("export", "--format", "csv").stdout)))
    assert [r["id"] for r in rows] == ids
    assert rows[0]["exists"] == "true"
    assert rows[0]["metadata"] == '{"k": "v"}'


# -- verify, compact, stats, destroy --


@pytest.mark.slow
def test_verify_reports_and_repairs(cli, root, sdk_client) -> None:
    """verify: ok (exit 0); a child deleted elsewhere is dangling (exit 1) until --repair."""
    a, b = cli("create", "-n", "2").lines
    report = cli("verify", "--json").json()
    assert report["ok"] is True
    assert report["dangling"] == []
    assert cli("verify").lines[-1] == "ok"
    sdk_client.conversations.delete(a)
    run = cli("verify", "--json", expect=1)
    assert run.json()["dangling"] == [a]
    assert "verify --repair" in run.stderr
    repaired = cli("verify", "--repair", "--json").json()
    assert repaired["repaired"] is True
    assert cli("verify", "--json").json()["ok"] is True
    assert cli("ls").lines == [b]


@pytest.mark.slow
def test_a_page_deleted_by_hand_names_the_repair_command(cli, root, emulator) -> None:
    """An index object deleted by hand: the command fails naming it and the command that
    mends it (not the library's call); verify --repair mends it; nothing is lost."""
    ids = cli("create", "-n", "800").lines  # more than a page holds (718 dense)
    cli("compact", "--full")
    pages = emulator.live_ids("conversations") - {root, *ids}
    assert pages
    client = emulator.client()
    for page in pages:
        client.conversations.delete(page)
    run = cli("ls", expect=1)
    assert "is gone" in run.stderr
    assert "linkedthreads verify --repair" in run.stderr
    assert "verify(repair=True)" not in run.stderr
    cli("verify", "--repair")
    assert cli("ls").lines == ids


def test_compact_keeps_the_listing(cli, root) -> None:
    """compact and compact --full change nothing visible."""
    ids = cli("create", "-n", "6").lines
    cli("rm", ids[0])
    cli("compact")
    cli("compact", "--full")
    assert cli("ls").lines == ids[1:]


def test_stats(cli, root) -> None:
    """stats counts children and reports backend, codec, capacity and requests."""
    cli("create", "-n", "4")
    data = cli("stats", "--json").json()
    assert data["root_id"] == root
    assert data["children"] == 4
    assert data["backend"] == "conversations"
    assert data["codec"] in ("ascii", "dense")
    assert data["page_capacity"] > 100
    assert data["requests"] >= 1
    text = cli("stats").stdout
    assert "children       4" in text
    assert "page capacity" in text


def test_destroy(cli, root, emulator) -> None:
    """destroy needs --yes without a terminal; with it, nothing of the index remains."""
    ids = cli("create", "-n", "3").lines
    assert "--yes" in cli("destroy", expect=2).stderr
    assert cli("ls").lines == ids
    cli("destroy", "--yes")
    live = emulator.live_ids("conversations")
    assert root not in live
    assert not set(ids) & live
    assert cli("stats", expect=1).stderr.startswith("error: ")


def test_destroy_asks_on_a_terminal(cli, root, monkeypatch) -> None:
    """On a terminal destroy asks; anything but yes changes nothing (exit 1)."""
    monkeypatch.setattr("linkedthreads.cli._confirm.stdin_is_terminal", lambda: True)
    cli("create")
    run = cli("destroy", input="n\n", expect=1)
    assert "cancelled" in run.stderr
    assert len(cli("ls").lines) == 1
    cli("destroy", input="y\n")
    cli("stats", expect=1)


# -- the threads backend --


@OWN_THREADS_CALLS
def test_threads_backend(cli, sdk_client) -> None:
    """The same commands work on an index of threads, first message included."""
    root = cli("init", "--backend", "threads").stdout.strip()
    cli.env["LINKEDTHREADS_ROOT"] = root
    thread = sdk_client.beta.threads.create(
        messages=[{"role": "user", "content": "Thread hello"}], metadata={"k": "v"}
    )
    cli("add", thread.id)
    made = cli("create", "-n", "2").lines
    assert cli("ls").lines == [thread.id, *made]
    rows = cli("ls", "--long", "--json").json()
    assert rows[0]["first_text"] == "Thread hello"
    assert rows[0]["metadata"] == {"k": "v"}
    shown = cli("show", thread.id)
    assert "Thread hello" in shown.stdout
    assert "thread" in shown.stdout
    cli("purge", "--match", "k=v", "--yes")
    assert cli("ls").lines == made
    assert cli("verify", "--json").json()["ok"] is True
