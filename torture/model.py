"""Model-based testing: a hypothesis state machine drives one index against a plain list
(run by ``tests/reliability/test_list_model.py`` and by ``python -m torture --only model``).

The emulator injects faults all along (10% of requests fail: 429, 500, 503, cut
connections; 10% of writes lose their answer after being applied), the index retries
instantly, compacts every 4 appends, rebuilds pages once 6 IDs wait, and writes pages of
8 IDs, so short runs go through every layout: pages, hidden and conditional IDs, rebuilds,
collection, repeated appends. The model is the semantics of docs/design.md 6.2: an ID is
listed iff the last operation naming it was an add; it keeps the place of the add that
listed it; adding a listed ID or removing an unlisted one changes nothing.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from linkedthreads import ThreadIndex

from .emulator import raw_client
from .objects import fake_ids
from .settings import SCALE, torture_settings

PAGE_IDS = 8
SETTINGS = torture_settings(
    compact_every=4, max_overlay=6, bulk_batch=3, gc_grace_seconds=0.5, page_ids=PAGE_IDS
)
FAULTS = {"fault_rate": 0.1, "lost_response_rate": 0.1, "retry_after_s": 0}


class IndexMachine(RuleBasedStateMachine):
    """One index, one instance at a time (``reopen`` swaps it), against ``self.model``."""

    emu: ClassVar[Any] = None
    backend: ClassVar[str] = "conversations"

    def __init__(self) -> None:
        super().__init__()
        self.client = raw_client(self.emu.base_url, max_retries=0)
        self.model: list[str] = []
        self.known: list[str] = []  # every ID ever used, for remove/delete/add choices
        self.index: ThreadIndex | None = None
        self.steps = 0

    @initialize(codec=st.sampled_from(["ascii", "auto"]), seed=st.integers(0, 2**16))
    def create(self, codec: str, seed: int) -> None:
        self.index = ThreadIndex.create(
            self.client,
            backend=self.backend,  # type: ignore[arg-type]
            codec=codec,  # type: ignore[arg-type]
            settings=SETTINGS,
        )
        self.pool = fake_ids(self.backend, 40, random.Random(seed))
        self.known = list(self.pool)

    @property
    def ix(self) -> ThreadIndex:
        assert self.index is not None
        return self.index

    def _listed(self, id_: str) -> None:
        if id_ not in self.model:
            self.model.append(id_)

    def _unlisted(self, id_: str) -> None:
        if id_ in self.model:
            self.model.remove(id_)

    # -- rules ------------------------------------------------------------------------------

    @rule(with_item=st.booleans())
    def create_child(self, with_item: bool) -> None:
        kwargs: dict[str, Any] = {}
        if with_item and self.backend == "conversations":
            kwargs["items"] = [{"type": "message", "role": "user", "content": "hello"}]
        elif with_item:
            kwargs["messages"] = [{"role": "user", "content": "hello"}]
        id_ = self.ix.create_child(metadata={"step": str(self.steps)}, **kwargs).id
        self.known.append(id_)
        self._listed(id_)

    @rule(n=st.integers(1, 7))
    def create_children(self, n: int) -> None:
        ids = [c.id for c in self.ix.create_children(n)]
        assert len(ids) == n
        self.known.extend(ids)
        for id_ in ids:
            self._listed(id_)

    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        id_ = data.draw(st.sampled_from(self.known))
        self.ix.add(id_)
        self._listed(id_)

    @rule(data=st.data())
    def add_many(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.known), min_size=1, max_size=12))
        self.ix.add_many(ids)
        for id_ in ids:
            self._listed(id_)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        id_ = data.draw(st.sampled_from(self.model))
        self.ix.remove(id_)
        self._unlisted(id_)

    @rule(data=st.data())
    def remove_any(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.known), min_size=1, max_size=8))
        self.ix.remove_many(ids)
        for id_ in ids:
            self._unlisted(id_)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), erase=st.booleans())
    def delete(self, data: st.DataObject, erase: bool) -> None:
        id_ = data.draw(st.sampled_from(self.model))
        self.ix.delete(id_, erase_items=erase)
        self._unlisted(id_)
        if erase and self.backend == "conversations" and id_ not in self.pool:
            # deleting a conversation keeps its items (FACTS): erase_items must delete them
            assert self.emu.retained_item_ids(id_) == [], id_

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete_many(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.model), min_size=1, max_size=5, unique=True))
        self.ix.delete_many(ids)
        for id_ in ids:
            self._unlisted(id_)

    @rule()
    def compact(self) -> None:
        self.ix.compact()

    @rule()
    def compact_full(self) -> None:
        self.ix.compact(full=True)

    @rule()
    def reopen(self) -> None:
        self.ix.close()
        self.index = ThreadIndex.open(self.client, self.ix.root_id, settings=SETTINGS)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def lists_the_model(self) -> None:
        if self.index is None:
            return
        self.steps += 1
        assert list(self.ix.all()) == self.model
        assert len(self.ix) == len(self.model)
        rng = random.Random(self.steps)
        for id_ in rng.sample(self.known, min(2, len(self.known))):
            assert (id_ in self.ix) == (id_ in self.model), id_

    def teardown(self) -> None:
        if self.index is not None:
            self.index.close()
        self.client.close()


def model_settings() -> settings:
    """Hypothesis settings of a model run: 8 examples of 25 steps, times the scale."""
    return settings(
        max_examples=examples(),
        stateful_step_count=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def examples() -> int:
    """How many examples (random operation sequences) a model run tries."""
    return max(8, round(8 * SCALE))


def machine_for(emu: Any, backend: str) -> type[IndexMachine]:
    """The state machine bound to a running emulator (started with ``FAULTS``)."""
    return type(f"IndexMachine_{backend}", (IndexMachine,), {"emu": emu, "backend": backend})


def run_model(emu: Any, backend: str) -> None:
    """Run the state machine; raises ``AssertionError`` where the index and the model part."""
    run_state_machine_as_test(machine_for(emu, backend), settings=model_settings())
