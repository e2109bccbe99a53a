"""Drive a protocol flow step by step, as h11's tests drive its state machine: no HTTP, no
fake SDK. Each step the flow yields is checked against what the test expects, and the test
feeds back the outcomes it scripts (an answer, a 404, a lost connection).

    run = Scripted(flows.open_root(backend, "conv_1"))
    run.expect("read conversation conv_1")
    run.answer(container("conv_1", {...}))
    assert run.result() == {...}
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from linkedthreads._backends import Container, EntryText, Request
from linkedthreads._errors import APIRequestError
from linkedthreads._protocol import Batch, Emit, Flow, Pause, Step
from linkedthreads._transport import NotFound, Outcome

T = TypeVar("T")


class SdkCall:
    """What a request would call on an SDK client: its dotted path and its arguments.

    A request's ``send`` is run on this stand-in, which records the call instead of making
    it (``client.conversations.items.create(conv_1, items=[...])`` -> path
    ``conversations.items.create``)."""

    def __init__(self, path: str = "") -> None:
        self.path = path
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}

    def __getattr__(self, name: str) -> SdkCall:
        if name.startswith("__"):
            raise AttributeError(name)
        return SdkCall(f"{self.path}.{name}" if self.path else name)

    def __call__(self, *args: Any, **kwargs: Any) -> SdkCall:
        self.args, self.kwargs = args, kwargs
        return self


def sdk_call(request: Request[Any]) -> SdkCall:
    """The SDK call ``request`` makes (without making it)."""
    call = request.send(SdkCall())
    assert isinstance(call, SdkCall), call
    return call


def container(id_: str, metadata: Mapping[str, str] | None = None) -> Outcome:
    """A successful create or read: the object ``id_`` with ``metadata``."""
    return Outcome(Container(id_, dict(metadata or {}), None))


def entries(*texts: tuple[str, str], more: bool = False) -> Outcome:
    """A list of journal entries: ``(entry ID, text)`` pairs, and whether more follow."""
    return Outcome(([EntryText(i, t) for i, t in texts], more))


def appended(*entry_ids: str) -> Outcome:
    """An append that landed: the IDs of the entries it made."""
    return Outcome(list(entry_ids))


def done() -> Outcome:
    """A delete that succeeded."""
    return Outcome(None)


def not_found(what: str = "object") -> Outcome:
    """A 404."""
    return Outcome(error=NotFound(f"{what} not found", status_code=404))


def refused(status_code: int, message: str = "refused", code: str | None = None) -> Outcome:
    """An error answer, as the executor hands it to a flow (a library error, never the
    SDK's)."""
    return Outcome(error=APIRequestError(message, status_code=status_code, code=code))


class Scripted(Generic[T]):
    """A flow being stepped by a test."""

    def __init__(self, flow: Flow[T]) -> None:
        self._flow = flow
        self._reply: Any = None
        self._started = False
        self.steps: list[Step] = []

    def _next(self) -> Step:
        try:
            step = self._flow.send(self._reply) if self._started else next(self._flow)
        except StopIteration as stop:
            message = f"the flow returned {stop.value!r} where a step was expected"
            raise AssertionError(message) from None
        self._started = True
        self._reply = None
        self.steps.append(step)
        return step

    def expect(self, *whats: str) -> list[Request[Any]]:
        """The next step sends requests described as ``whats`` (``Request.what``, with ``*``
        wildcards), concurrently; they are returned for the test to look at."""
        step = self._next()
        assert isinstance(step, Batch), f"expected requests {whats}, got {step!r}"
        got = [r.what for r in step.requests]
        matches = len(got) == len(whats) and all(
            fnmatch.fnmatchcase(g, w) for g, w in zip(got, whats, strict=True)
        )
        assert matches, f"expected requests {list(whats)}, got {got}"
        return list(step.requests)

    def answer(self, *outcomes: Outcome) -> None:
        """Feed the outcomes of the requests just expected, in order."""
        self._reply = list(outcomes)

    def exchange(self, what: str, outcome: Outcome) -> Request[Any]:
        """One request expected and answered."""
        (request,) = self.expect(what)
        self.answer(outcome)
        return request

    def expect_pause(self) -> float:
        step = self._next()
        assert isinstance(step, Pause), f"expected a pause, got {step!r}"
        return step.seconds

    def expect_emit(self) -> Sequence[Any]:
        step = self._next()
        assert isinstance(step, Emit), f"expected items for the caller, got {step!r}"
        return step.items

    def result(self) -> T:
        """The flow returns now (with the outcomes last fed); its value."""
        try:
            step = self._flow.send(self._reply) if self._started else next(self._flow)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        raise AssertionError(f"the flow went on with {step!r} where it should have returned")

    def raises(self, kind: type[BaseException]) -> BaseException:
        """The flow fails now (with the outcomes last fed) with an error of ``kind``."""
        try:
            step = self._flow.send(self._reply) if self._started else next(self._flow)
        except kind as exc:
            return exc
        raise AssertionError(f"the flow went on with {step!r} where it should have failed")
