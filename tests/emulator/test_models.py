"""The state layer alone (no HTTP): objects, validation, IDs, paging, errors, faults."""

from __future__ import annotations

import re
from typing import Any

import pytest

from linkedthreads.emulator import EmulatorSettings
from linkedthreads.emulator import _errors as e
from linkedthreads.emulator._faults import FaultInjector, RateLimiter, pick_kind
from linkedthreads.emulator._ids import IdGenerator
from linkedthreads.emulator._models import InMemoryStore, OrderedLog
from linkedthreads.emulator._validation import ListQuery, text_length


def backend(**settings: Any) -> InMemoryStore:
    return InMemoryStore(EmulatorSettings(**settings), clock=lambda: 0x68542DC6)


def raises(call: Any, *args: Any) -> e.APIError:
    with pytest.raises(e.APIError) as info:
        call(*args)
    return info.value


# --- IDs ---------------------------------------------------------------------------------


def test_id_shapes() -> None:
    """IDs have the shapes of FACTS.md."""
    ids = IdGenerator(seed=1)
    assert re.fullmatch(r"thread_[A-Za-z0-9]{24}", ids.thread_id())
    assert re.fullmatch(r"msg_[A-Za-z0-9]{24}", ids.message_id())
    assert re.fullmatch(r"conv_68542dc6[0-9a-f]{40}", ids.conversation_id(0x68542DC6))
    assert re.fullmatch(r"msg_68542dc6[0-9a-f]{40}", ids.item_id(0x68542DC6))
    assert re.fullmatch(r"msg_[0-9a-f]{50}", ids.item_id(0, (50,)))
    assert re.fullmatch(r"req_[0-9a-f]{32}", ids.request_id())


def test_ids_are_seeded() -> None:
    """A seed fixes the sequence; request IDs do not shift object IDs."""
    a, b = IdGenerator(seed=9), IdGenerator(seed=9)
    b.request_id()
    assert [a.thread_id(), a.conversation_id(1)] == [b.thread_id(), b.conversation_id(1)]
    assert IdGenerator(seed=1).thread_id() != IdGenerator(seed=2).thread_id()


# --- threads and messages ------------------------------------------------------------------


def test_thread_lifecycle() -> None:
    """Create with messages, read, merge metadata, delete; messages go with the thread."""
    b = backend()
    t = b.create_thread({"messages": [{"role": "user", "content": "hi"}], "metadata": {"a": "1"}})
    assert t == {
        "id": t["id"],
        "object": "thread",
        "created_at": 0x68542DC6,
        "metadata": {"a": "1"},
        "tool_resources": {},
    }
    assert b.modify_thread(t["id"], {"metadata": {"b": "2"}})["metadata"] == {"a": "1", "b": "2"}
    assert t["metadata"] == {"a": "1"}  # objects handed out are never mutated
    page = b.list_messages(t["id"], {})
    assert [m["content"][0]["text"]["value"] for m in page["data"]] == ["hi"]
    assert b.delete_thread(t["id"]) == {"id": t["id"], "object": "thread.deleted", "deleted": True}
    assert raises(b.get_thread, t["id"]).message == f"No thread found with id '{t['id']}'."
    assert b.live_ids("threads") == set()


def test_thread_metadata_replace_setting() -> None:
    """``thread_metadata_update="replace"`` replaces; ``None`` metadata changes nothing."""
    b = backend(thread_metadata_update="replace")
    t = b.create_thread({"metadata": {"a": "1"}})
    assert b.modify_thread(t["id"], {"metadata": {"b": "2"}})["metadata"] == {"b": "2"}
    assert b.modify_thread(t["id"], {"metadata": None})["metadata"] == {"b": "2"}


def test_thread_create_is_all_or_nothing() -> None:
    """A bad message in ``messages`` creates nothing."""
    b = backend()
    err = raises(b.create_thread, {"messages": [{"role": "user", "content": "x"}, {"role": "x"}]})
    assert (err.param, err.code) == ("messages[1].role", "invalid_value")
    assert b.live_ids("threads") == set()


def test_tool_resources() -> None:
    """File IDs are kept; vector store creation is not emulated; limits are checked."""
    b = backend()
    resources = {
        "code_interpreter": {"file_ids": ["f1"]},
        "file_search": {"vector_store_ids": ["v"]},
    }
    assert b.create_thread({"tool_resources": resources})["tool_resources"] == resources
    err = raises(
        b.create_thread, {"tool_resources": {"code_interpreter": {"file_ids": ["f"] * 21}}}
    )
    assert err.code == "array_above_max_length"
    err = raises(b.create_thread, {"tool_resources": {"file_search": {"vector_stores": []}}})
    assert err.param == "tool_resources.file_search.vector_stores"


# --- conversations and items ---------------------------------------------------------------


def test_conversation_merge_and_null_metadata() -> None:
    """Updates merge keys; ``metadata: null`` is allowed and changes nothing."""
    b = backend()
    c = b.create_conversation({"metadata": {"a": "1"}})
    assert b.update_conversation(c["id"], {"metadata": {"a": "2", "b": "3"}})["metadata"] == {
        "a": "2",
        "b": "3",
    }
    assert b.update_conversation(c["id"], {"metadata": None})["metadata"] == {"a": "2", "b": "3"}
    assert raises(b.update_conversation, c["id"], {}).code == "missing_required_parameter"


def test_items_stored_shape() -> None:
    """String content becomes one input_text part whatever the role (recorded); parts keep
    their type."""
    b = backend()
    c = b.create_conversation({})
    page = b.create_items(
        c["id"],
        {
            "items": [
                {"role": "user", "content": "u"},
                {"type": "message", "role": "assistant", "content": "a", "phase": "final_answer"},
                {"role": "system", "content": [{"type": "output_text", "text": "s"}]},
            ]
        },
    )
    user, assistant, system = page["data"]
    assert user["content"] == [{"type": "input_text", "text": "u"}]
    assert assistant["content"] == [{"type": "input_text", "text": "a"}]
    assert assistant["phase"] == "final_answer"
    assert system["content"][0]["type"] == "output_text"
    assert (page["first_id"], page["last_id"], page["has_more"]) == (
        user["id"],
        system["id"],
        False,
    )


def test_deleted_conversation_retains_items() -> None:
    """Deleting a conversation keeps its items; deleted items are not retained."""
    b = backend()
    c = b.create_conversation({"items": [{"role": "user", "content": str(n)} for n in range(3)]})
    ids = b.retained_item_ids(c["id"])
    b.delete_item(c["id"], ids[0])
    b.delete_conversation(c["id"])
    assert b.retained_item_ids(c["id"]) == ids[1:]
    assert raises(b.get_conversation, c["id"]).status == 404
    assert raises(b.delete_conversation, c["id"]).status == 404
    assert b.live_ids("conversations") == set()
    assert b.stored_ids("conversations") == {c["id"]}


def test_stored_ids_keep_deleted_conversations_not_deleted_threads() -> None:
    """A deleted conversation stays stored (its items with it); a deleted thread does not."""
    b = backend()
    kept, gone = b.create_conversation({}), b.create_conversation({})
    b.delete_conversation(gone["id"])
    t1, t2 = b.create_thread({}), b.create_thread({})
    b.delete_thread(t2["id"])
    assert b.stored_ids("conversations") == {kept["id"], gone["id"]}
    assert b.stored_ids("threads") == b.live_ids("threads") == {t1["id"]}
    with pytest.raises(ValueError, match="kind"):
        b.stored_ids("files")  # type: ignore[arg-type]


def test_item_delete_setting() -> None:
    """``item_delete_response`` picks the conversation or the compat shape."""
    for setting, expected in (
        ("conversation", "conversation"),
        ("deleted", "conversation.item.deleted"),
    ):
        b = backend(item_delete_response=setting)
        c = b.create_conversation({"items": [{"role": "user", "content": "x"}]})
        (item_id,) = b.retained_item_ids(c["id"])
        assert b.delete_item(c["id"], item_id)["object"] == expected


# --- metadata validation -------------------------------------------------------------------


def test_metadata_length_units() -> None:
    """Code points by default; UTF-16 units by setting (a non-BMP character counts 2)."""
    emoji = "\U0001f600"
    assert (text_length(emoji * 2, "codepoints"), text_length(emoji * 2, "utf16")) == (2, 4)
    backend().create_conversation({"metadata": {"k": emoji * 512}})
    utf16 = backend(metadata_length_unit="utf16")
    err = raises(utf16.create_conversation, {"metadata": {"k": emoji * 257}})
    assert (err.code, err.param) == ("string_above_max_length", "metadata.k")
    assert "length 514" in err.message


def test_metadata_ascii_settings() -> None:
    """Non-ASCII metadata: intact, replaced by '?', or refused, by setting."""
    meta = {"clé": "café"}
    assert backend().create_conversation({"metadata": meta})["metadata"] == meta
    replaced = backend(metadata_text="ascii_replace").create_conversation({"metadata": meta})
    assert replaced["metadata"] == {"cl?": "caf?"}
    err = raises(backend(metadata_text="ascii_reject").create_conversation, {"metadata": meta})
    assert (err.status, err.code, err.param) == (400, "invalid_value", "metadata.clé")


def test_metadata_error_order() -> None:
    """Too many keys is checked first, then keys in order."""
    meta = {f"{'k' * 70}{i}": 1 for i in range(17)}
    assert raises(backend().create_conversation, {"metadata": meta}).code == (
        "object_above_max_properties"
    )
    err = raises(backend().create_conversation, {"metadata": {"ok": "v", "bad": 1.5}})
    assert (
        err.message
        == "Invalid type for 'metadata.bad': expected a string, but got a decimal instead."
    )


# --- paging --------------------------------------------------------------------------------


def _log(n: int) -> OrderedLog:
    log = OrderedLog()
    for i in range(n):
        log.append(str(i), {"id": str(i)})
    return log


def _ids(page: tuple[list[dict[str, Any]], bool]) -> tuple[list[str], bool]:
    return [o["id"] for o in page[0]], page[1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ListQuery(limit=3, order="asc"), (["0", "1", "2"], True)),
        (ListQuery(limit=3, order="desc"), (["9", "8", "7"], True)),
        (ListQuery(limit=3, order="asc", after="7"), (["8", "9"], False)),
        (ListQuery(limit=3, order="desc", after="2"), (["1", "0"], False)),
        (ListQuery(limit=3, order="asc", before="5"), (["2", "3", "4"], True)),
        (ListQuery(limit=3, order="desc", before="5"), (["8", "7", "6"], True)),
        (ListQuery(limit=9, order="asc", after="1", before="5"), (["2", "3", "4"], False)),
        (ListQuery(limit=9, order="desc", after="8", before="3"), (["7", "6", "5", "4"], False)),
        (ListQuery(limit=3, order="asc", after="9"), ([], False)),
    ],
)
def test_paging(query: ListQuery, expected: tuple[list[str], bool]) -> None:
    """``after``/``before`` windows in both orders, with exact ``has_more``."""
    assert _ids(_log(10).page(query)) == expected


def test_paging_skips_deleted_but_keeps_their_place() -> None:
    """Deleted objects are skipped; a deleted cursor still marks its position."""
    log = _log(6)
    for i in ("2", "3"):
        log.delete(i)
    assert _ids(log.page(ListQuery(limit=2, order="asc", after="1"))) == (["4", "5"], False)
    assert _ids(log.page(ListQuery(limit=2, order="asc", after="2"))) == (["4", "5"], False)
    assert _ids(log.page(ListQuery(limit=9, order="desc"))) == (["5", "4", "1", "0"], False)
    assert log.live_ids() == ["0", "1", "4", "5"]
    assert len(log) == 4
    assert log.knows("2")
    assert "2" not in log


def test_list_query_errors() -> None:
    """Bad ``limit``/``order`` answer OpenAI's errors."""
    b = backend()
    c = b.create_conversation({})
    for query, code in (
        ({"limit": "101"}, "integer_above_max_value"),
        ({"limit": "0"}, "integer_below_min_value"),
        ({"limit": "ten"}, "invalid_type"),
        ({"order": "sideways"}, "invalid_value"),
    ):
        assert raises(b.list_items, c["id"], query).code == code
    assert raises(b.list_items, c["id"], {"after": "msg_nope"}).status == 404


# --- persistence ---------------------------------------------------------------------------


def test_snapshot_restore_round_trip() -> None:
    """A snapshot restores threads, messages, conversations and retained items."""
    b = backend()
    t = b.create_thread({"messages": [{"role": "user", "content": "x"}]})
    c = b.create_conversation({"items": [{"role": "user", "content": "y"}]})
    gone = b.create_conversation({"items": [{"role": "user", "content": "z"}]})
    b.delete_conversation(gone["id"])
    other = backend()
    other.restore(b.snapshot())
    assert other.get_thread(t["id"]) == t
    assert other.list_messages(t["id"], {}) == b.list_messages(t["id"], {})
    assert other.list_items(c["id"], {}) == b.list_items(c["id"], {})
    assert other.retained_item_ids(gone["id"]) == b.retained_item_ids(gone["id"])
    assert other.live_ids("conversations") == {c["id"]}


# --- errors, faults, settings ----------------------------------------------------------------


def test_error_body_and_masking() -> None:
    """Error bodies have the four OpenAI fields; keys are masked, never echoed."""
    err = e.incorrect_api_key("sk-abcdefghijklmnopqrstuvwxyz")
    assert set(err.body()["error"]) == {"message", "type", "param", "code"}
    assert "abcdefghijklmnop" not in err.message
    assert e.mask_key("short") == "*****"
    assert e.invalid_value("order", "x", ("a", "b", "c")).message == (
        "Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'."
    )


def test_fault_draws() -> None:
    """Faults follow the weights; reads are never lost; the stream is seeded."""
    s = EmulatorSettings(fault_rate=1.0, fault_weights={"500": 1, "drop": 3}, lost_response_rate=1)
    inj = FaultInjector(1)
    kinds = [inj.decide(s, True).fault for _ in range(400)]
    assert set(kinds) == {"500", "drop"}
    assert 250 < kinds.count("drop") < 350
    lost = EmulatorSettings(lost_response_rate=1.0)
    assert not inj.decide(lost, False).lost_response
    assert inj.decide(lost, True).lost_response
    assert pick_kind(0.99, {"429": 1}.items()) == "429"


def test_rate_limiter_window() -> None:
    """A sliding window: the oldest hit leaving frees a slot; retry-after rounds up."""
    rl = RateLimiter()
    assert rl.check({"k": 1}, 10.0, ["k"], now=0.0) is None
    limited = rl.check({"k": 1}, 10.0, ["k"], now=2.5)
    assert limited is not None
    assert limited.retry_after_s == 8
    assert rl.check({"k": 1}, 10.0, ["k"], now=10.0) is None
    assert rl.check(None, 10.0, ["k"], now=10.0) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"fault_rate": 1.5},
        {"lost_response_rate": -0.1},
        {"fault_weights": {"404": 1}},
        {"thread_metadata_update": "patch"},
        {"item_delete_response": "gone"},
        {"metadata_length_unit": "bytes"},
        {"metadata_text": "ebcdic"},
        {"unknown_cursor": "ignore"},
        {"item_id_hex_lengths": ()},
        {"max_items_per_append": 0},
        {"latency_ms": -1},
        {"rate_limit_window_s": 0},
    ],
)
def test_settings_are_validated(bad: dict[str, Any]) -> None:
    """Impossible settings fail at construction."""
    with pytest.raises(ValueError, match=r"must|unknown|needs"):
        EmulatorSettings(**bad)


def test_settings_copy_their_dicts() -> None:
    """Settings are frozen: changing a dict passed in changes nothing."""
    weights = {"429": 1.0}
    s = EmulatorSettings(fault_weights=weights, item_id_hex_lengths=[48, 50])
    weights["500"] = 1.0
    assert s.fault_weights == {"429": 1.0}
    assert s.item_id_hex_lengths == (48, 50)
    assert s.replace(seed=3).seed == 3
