"""``index.track(client)`` over HTTP against the emulator, sync and async, both backends: every
object a tracked client creates is listed once, every one it deletes is forgotten, other
requests pass untouched, and no failure leaves an object unlisted without an error naming it
(but for the documented window of a create whose answer was lost)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest

from linkedthreads import (
    AsyncThreadIndex,
    IndexSettings,
    RetryPolicy,
    ThreadIndex,
    TrackingError,
)
from linkedthreads._tracking import Change, classify, created_id
from tests.sdk_warnings import OWN_THREADS_CALLS

from .front import Front, done

# The tests make the user's threads calls (through a tracked client) themselves.
pytestmark = OWN_THREADS_CALLS

APPEND = {
    "conversations": "POST /v1/conversations/{conversation_id}/items",
    "threads": "POST /v1/threads/{thread_id}/messages",
}
CREATE = {"conversations": "POST /v1/conversations", "threads": "POST /v1/threads"}


async def first_thread_of(stream: Any) -> str:
    """The thread an event stream of ``create_and_run(stream=True)`` names (read to its end)."""
    events = [e async for e in stream] if hasattr(stream, "__aiter__") else list(stream)
    assert [e.event for e in events][:2] == ["thread.created", "thread.run.created"]
    return str(events[0].data.id)


class TrackingFront(Front):
    """``Front``, and the creating calls of the user's (tracked) client."""

    async def create(self, **kwargs: Any) -> Any:
        settings = kwargs.pop("settings", None) or IndexSettings()
        # No upkeep read inside a counted test: the first compaction as late as it may be.
        late = dataclasses.replace(settings, first_compaction_after=settings.compact_every)
        return await super().create(settings=late, **kwargs)

    async def creates(self, tracked: Any, kind: str) -> list[str]:
        """Every kind of creating call once; the IDs made, in order."""
        if kind == "conversations":
            a = await done(tracked.conversations.create())
            b = await done(
                tracked.conversations.create(
                    metadata={"user": "42"},
                    items=[{"type": "message", "role": "user", "content": "hi"}],
                )
            )
            return [a.id, b.id]
        threads = tracked.beta.threads
        a = await done(threads.create(messages=[{"role": "user", "content": "hi"}]))
        run = await done(threads.create_and_run(assistant_id="asst_emulated"))
        stream = await done(threads.create_and_run(assistant_id="asst_emulated", stream=True))
        return [a.id, run.thread_id, await first_thread_of(stream)]

    async def create_one(self, tracked: Any, kind: str, **kwargs: Any) -> Any:
        if kind == "conversations":
            return await done(tracked.conversations.create(**kwargs))
        return await done(tracked.beta.threads.create(**kwargs))

    async def delete(self, tracked: Any, kind: str, object_id: str) -> Any:
        if kind == "conversations":
            return await done(tracked.conversations.delete(object_id))
        return await done(tracked.beta.threads.delete(object_id))


@pytest.fixture(params=["sync", "async"])
async def front(request: pytest.FixtureRequest, emulator: Any) -> AsyncIterator[TrackingFront]:
    """Overrides conftest's ``front``: with the tracked client's calls."""
    surface = TrackingFront(str(request.param), emulator)
    yield surface
    await surface.close()


@pytest.fixture(params=["conversations", "threads"])
def kind(request: pytest.FixtureRequest) -> str:
    """Overrides conftest's ``kind``: both backends in the fast loop too (tracking is per
    backend SDK surface)."""
    return str(request.param)


def routes(emulator: Any) -> dict[str, int]:
    return dict(emulator.stats()["requests"])


# -- the pure part --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "backend", "change"),
    [
        ("POST", "/v1/conversations", "conversations", Change("add")),
        ("POST", "/openai/v1/conversations/", "conversations", Change("add")),
        ("DELETE", "/v1/conversations/conv_12", "conversations", Change("rm", "conv_12")),
        ("POST", "/v1/conversations/conv_12", "conversations", None),
        ("POST", "/v1/conversations/conv_12/items", "conversations", None),
        ("DELETE", "/v1/conversations/conv_1/items/msg_2", "conversations", None),
        ("POST", "/v1/threads", "conversations", None),
        ("POST", "/v1/threads", "threads", Change("add")),
        ("POST", "/v1/threads/runs", "threads", Change("add")),
        ("POST", "/v1/threads/thread_1/runs", "threads", None),
        ("POST", "/v1/threads/thread_1/messages", "threads", None),
        ("DELETE", "/v1/threads/thread_1", "threads", Change("rm", "thread_1")),
        ("DELETE", "/v1/threads/thread_1/messages/msg_1", "threads", None),
        ("GET", "/v1/threads/thread_1", "threads", None),
        ("POST", "/v1/responses", "conversations", None),
    ],
)
def test_classify(method: str, path: str, backend: str, change: Change | None) -> None:
    """Creates and deletes of the index's kind are known by their path's last segments."""
    assert classify(method, path, backend) == change


def test_created_id_reads_only_what_the_answer_says() -> None:
    """An error answer, another object or a body that is not JSON names nothing."""
    add, rm = Change("add"), Change("rm", "conv_1")
    assert created_id(add, 200, b'{"id":"conv_1","object":"conversation"}', "conversations")
    assert created_id(add, 400, b'{"id":"conv_1","object":"conversation"}', "conversations") is None
    assert created_id(add, 200, b'{"id":"conv_1","object":"list"}', "conversations") is None
    assert created_id(add, 200, b"<html>", "conversations") is None
    assert created_id(add, 200, b'{"object":"thread.run","thread_id":"thread_9"}', "threads") == (
        "thread_9"
    )
    assert created_id(rm, 200, b'{"id":"conv_1","deleted":true}', "conversations") == "conv_1"
    assert created_id(rm, 200, b'{"id":"conv_1","deleted":false}', "conversations") is None


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_the_thread_of_an_event_stream_is_found_across_chunks(newline: bytes) -> None:
    """The first event naming a thread is found however the stream is cut into chunks."""
    from linkedthreads._tracking import _EventScan

    body = newline.join(
        [
            b"event: thread.created",
            b'data: {"id":"thread_A","object":"thread"}',
            b"",
            b"event: thread.run.created",
            b'data: {"id":"run_1","object":"thread.run","thread_id":"thread_A"}',
            b"",
            b"",
        ]
    )
    for cut in range(len(body) + 1):
        scan = _EventScan("threads")
        found = scan.feed(body[:cut]) or scan.feed(body[cut:])
        assert found == "thread_A", cut
    assert _EventScan("conversations").feed(body) is None


# -- over HTTP -------------------------------------------------------------------------------


async def test_each_creating_call_is_listed_once(front: TrackingFront, kind: str) -> None:
    """conversations.create, threads.create, create_and_run (plain and streamed): each listed
    once, for one append each when called one at a time."""
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    front.emulator.reset_stats()
    made = await front.creates(tracked, kind)
    stats = front.emulator.stats()
    assert stats["requests"][APPEND[kind]] == len(made)
    assert stats["total"] == 2 * len(made)
    assert await front.listed(index) == made


async def test_deletes_are_forgotten(front: TrackingFront, kind: str) -> None:
    """A tracked delete forgets the ID (one append), whoever created the object; a delete that
    fails forgets nothing and adds no request."""
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    made = await front.creates(tracked, kind)
    other = await done(index.create_child())
    await front.delete(tracked, kind, made[0])
    await front.delete(tracked, kind, other.id)
    assert await front.listed(index) == made[1:]
    front.emulator.reset_stats()
    with pytest.raises(openai.NotFoundError):
        await front.delete(tracked, kind, made[0])
    assert front.emulator.stats()["total"] == 1


async def test_other_calls_pass_untouched(front: TrackingFront, kind: str) -> None:
    """Reads, updates and appends through a tracked client cost exactly their own request."""
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    (first, *_) = await front.creates(tracked, kind)
    front.emulator.reset_stats()
    before = index.requests
    if kind == "conversations":
        await done(tracked.conversations.retrieve(first))
        await done(tracked.conversations.update(first, metadata={"k": "v"}))
        await done(
            tracked.conversations.items.create(
                first, items=[{"type": "message", "role": "user", "content": "x"}]
            )
        )
        await done(tracked.conversations.items.list(first, order="asc"))
    else:
        await done(tracked.beta.threads.retrieve(first))
        await done(tracked.beta.threads.update(first, metadata={"k": "v"}))
        await done(tracked.beta.threads.messages.create(first, role="user", content="x"))
        await done(tracked.beta.threads.messages.list(first, order="asc"))
    assert front.emulator.stats()["total"] == 4
    assert index.requests == before


async def test_the_other_backend_is_not_tracked(front: TrackingFront, kind: str) -> None:
    """A conversations index does not list threads, nor a threads index conversations."""
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    front.emulator.reset_stats()
    if kind == "conversations":
        await done(tracked.beta.threads.create())
    else:
        await done(tracked.conversations.create())
    assert front.emulator.stats()["total"] == 1
    assert await front.listed(index) == []


async def test_the_callers_client_is_unchanged(front: TrackingFront, kind: str) -> None:
    """track returns a copy on the caller's HTTP client; the caller's client keeps its own
    HTTP client, and what it creates is not listed."""
    http_before = front.client._client
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    assert front.client._client is http_before
    assert tracked._client is not http_before
    assert tracked._client.inner is http_before  # the caller's connections, hooks, transport
    assert tracked.base_url == front.client.base_url
    if kind == "conversations":
        await done(front.client.conversations.create())
    else:
        await done(front.client.beta.threads.create())
    assert await front.listed(index) == []


async def test_an_index_never_tracks_itself(front: TrackingFront, kind: str) -> None:
    """An index opened or created on a tracked client sends its own requests untracked: its
    root and pages are never listed, in its own index or in the one tracking."""
    first = await front.create(backend=kind)
    tracked = first.track(front.client)
    second = await done(front.index_class.create(tracked, backend=kind))
    same = await done(front.index_class.open(tracked, first.root_id))
    await done(same.create_children(3))
    await done(second.create_child())
    assert len(await front.listed(first)) == 3
    assert len(await front.listed(second)) == 1


async def test_a_failed_append_raises_naming_the_created_object(
    front: TrackingFront, kind: str
) -> None:
    """When the record cannot be appended, the create raises TrackingError with the ID; the
    SDK does not retry the create; ``index.add`` then lists it."""
    settings = IndexSettings(retry=RetryPolicy.instant(3))
    index = await front.create(backend=kind, settings=settings)
    tracked = index.track(front.client)
    front.emulator.update_settings(rate_limits={APPEND[kind]: 0})
    front.emulator.reset_stats()
    with pytest.raises(TrackingError) as caught:
        await front.create_one(tracked, kind)
    error = caught.value
    assert error.created
    assert error.object_id in str(error)
    assert error.object_id in front.emulator.live_ids(kind)
    assert routes(front.emulator)[CREATE[kind]] == 1
    front.emulator.update_settings(rate_limits=None)
    assert await front.listed(index) == []
    await done(index.add(error.object_id))
    assert await front.listed(index) == [error.object_id]


async def test_a_failed_append_after_a_delete_names_it(front: TrackingFront, kind: str) -> None:
    """A delete whose rm cannot be appended raises TrackingError (created False) naming it."""
    index = await front.create(backend=kind, settings=IndexSettings(retry=RetryPolicy.instant(2)))
    tracked = index.track(front.client)
    (made, *_) = await front.creates(tracked, kind)
    front.emulator.update_settings(rate_limits={APPEND[kind]: 0})
    with pytest.raises(TrackingError) as caught:
        await front.delete(tracked, kind, made)
    assert (caught.value.object_id, caught.value.created) == (made, False)
    front.emulator.update_settings(rate_limits=None)
    assert made in await front.listed(index)


async def test_a_refused_create_records_nothing(front: TrackingFront, kind: str) -> None:
    """A create the server refuses (400) adds no request and leaves the group commit clean."""
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    front.emulator.reset_stats()
    with pytest.raises(openai.BadRequestError):
        await front.create_one(tracked, kind, metadata={"k": "v" * 600})
    assert front.emulator.stats()["total"] == 1
    assert index.writes_in_progress == 0
    (made, *_) = await front.creates(tracked, kind)
    assert made in await front.listed(index)


async def test_concurrent_tracked_creates_share_appends(front: TrackingFront, kind: str) -> None:
    """16 creates at once on one tracked client: all listed, in few appends (group commit)."""
    index = await front.create(backend=kind)
    tracked = index.track(front.client)
    front.emulator.reset_stats()

    def create() -> Any:
        if kind == "conversations":
            return tracked.conversations.create()
        return tracked.beta.threads.create()

    if front.mode == "async":
        made = [c.id for c in await asyncio.gather(*(create() for _ in range(16)))]
    else:
        barrier = threading.Barrier(16)
        made = []
        lock = threading.Lock()

        def caller() -> None:
            barrier.wait()
            child = create()
            with lock:
                made.append(child.id)

        workers = [threading.Thread(target=caller) for _ in range(16)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert sorted(await front.listed(index)) == sorted(made)
    assert len(made) == 16
    assert 1 <= routes(front.emulator)[APPEND[kind]] <= 3


@pytest.mark.slow
async def test_faults_leave_no_unlisted_object_without_an_error(
    front: TrackingFront, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Injected faults and lost answers, the SDK's own retries on: every object the tracked
    client made is listed or named by a TrackingError, but for at most one per create whose
    answer was lost (logged; docs/design.md 8.2)."""
    caplog.set_level(logging.WARNING, logger="linkedthreads.tracking")
    index = await front.create(backend=kind, settings=IndexSettings(retry=RetryPolicy.instant(8)))
    tracked = index.track(front.client.with_options(max_retries=4))
    front.emulator.update_settings(
        fault_rate=0.15, lost_response_rate=0.15, retry_after_s=0, seed=7
    )
    named: set[str] = set()
    for i in range(16):
        try:
            await front.create_one(tracked, kind, metadata={"t": str(i)})
        except TrackingError as exc:
            named.add(exc.object_id)
        except openai.APIError:
            pass  # the SDK gave up: nothing it learned of was created
    front.emulator.update_settings(fault_rate=0.0, lost_response_rate=0.0)
    listed = set(await front.listed(index))
    retrieve: Callable[[str], Any] = (
        front.client.conversations.retrieve
        if kind == "conversations"
        else front.client.beta.threads.retrieve
    )
    ours = set()
    for object_id in front.emulator.live_ids(kind):
        obj = await done(retrieve(object_id))
        if "t" in (obj.metadata or {}):
            ours.add(object_id)
    assert listed <= ours
    unlisted = ours - listed - named
    lost_creates = sum("a create got no answer" in r.getMessage() for r in caplog.records)
    assert len(unlisted) <= lost_creates
    assert front.emulator.stats()["faults"]["lost_response"] > 0


async def test_track_refuses_the_wrong_client(emulator: Any) -> None:
    """ThreadIndex tracks an OpenAI, AsyncThreadIndex an AsyncOpenAI: TypeError otherwise."""
    sync_client, async_client = emulator.client(), emulator.async_client()
    index = ThreadIndex.create(sync_client, backend="conversations")
    aindex = await AsyncThreadIndex.create(async_client, backend="conversations")
    with pytest.raises(TypeError, match="AsyncThreadIndex"):
        index.track(async_client)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ThreadIndex"):
        aindex.track(sync_client)  # type: ignore[arg-type]
    await async_client.close()


async def test_copies_of_a_tracked_client_stay_tracked(front: TrackingFront, kind: str) -> None:
    """``tracked.with_options(...)`` (as the Agents SDK does for multi-request writes) keeps
    tracking: the copy shares the tracked HTTP client."""
    index = await front.create(backend=kind)
    copy = index.track(front.client).with_options(max_retries=0, timeout=30)
    made = await front.create_one(copy, kind)
    assert await front.listed(index) == [made.id]


async def test_a_lost_create_answer_is_the_documented_window(
    front: TrackingFront, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A create applied whose answer is cut (SDK retries off): the call fails, the object
    exists unlisted and unnamed (design 8.2), and the tracked client logs it; nothing is
    appended and the group commit expects no one."""
    caplog.set_level(logging.WARNING, logger="linkedthreads.tracking")
    index = await front.create(backend=kind)
    tracked = index.track(front.client.with_options(max_retries=0))
    front.emulator.update_settings(lost_response_rate=1.0)
    front.emulator.reset_stats()
    with pytest.raises(openai.APIConnectionError):
        await front.create_one(tracked, kind)
    front.emulator.update_settings(lost_response_rate=0.0)
    assert front.emulator.stats()["total"] == 1
    assert len(front.emulator.live_ids(kind) - {index.root_id}) == 1
    assert [r.getMessage()[:22] for r in caplog.records] == ["a create got no answer"]
    assert index.writes_in_progress == 0
    assert await front.listed(index) == []


async def test_a_streamed_create_whose_append_fails_names_the_thread(front: TrackingFront) -> None:
    """create_and_run(stream=True): the thread is read from the first event before the call
    returns; if its record cannot be appended, the call raises TrackingError naming it."""
    settings = IndexSettings(retry=RetryPolicy.instant(2))
    index = await front.create(backend="threads", settings=settings)
    tracked = index.track(front.client)
    front.emulator.update_settings(rate_limits={APPEND["threads"]: 0})
    with pytest.raises(TrackingError) as caught:
        await done(tracked.beta.threads.create_and_run(assistant_id="asst_x", stream=True))
    assert caught.value.object_id in front.emulator.live_ids("threads")
    front.emulator.update_settings(rate_limits=None)
    assert await front.listed(index) == []
