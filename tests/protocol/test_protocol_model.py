"""The whole protocol against a plain list, on the in-memory client (no HTTP, many examples).

Pages are shrunk to a few IDs so that page writes, rebuilds, directories and collection all
happen in short runs, and appends are made to land twice at random.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from linkedthreads import IndexSettings, RetryPolicy, ThreadIndex
from tests.conftest import examples, memory_index
from tests.memory_client import MemoryClient


class IndexMachine(RuleBasedStateMachine):
    """Random operations on one index; after each, the index lists exactly the model."""

    def __init__(self) -> None:
        super().__init__()
        self.model: list[str] = []
        self.pool: list[str] = []

    @initialize(
        kind=st.sampled_from(["conversations", "threads"]),
        compact_every=st.integers(1, 8),
        max_overlay=st.integers(1, 6),
        page_ids=st.integers(1, 5),
        codec=st.sampled_from(["ascii", "dense"]),
    )
    def setup(
        self, kind: str, compact_every: int, max_overlay: int, page_ids: int, codec: str
    ) -> None:
        self.client = MemoryClient(kind)
        self.settings = IndexSettings(
            compact_every=compact_every,
            max_overlay=max_overlay,
            gc_grace_seconds=0,
            bulk_batch=3,
            retry=RetryPolicy.none(),
            max_record_chars=4000,
        )
        self.page_ids = page_ids
        self.codec = codec
        self.index = memory_index(
            self.client, settings=self.settings, page_ids=page_ids, codec=codec
        )
        # A second writer on the same index: it holds only the pages it read, so the page
        # lists its removals state facts about (design 4.2) often differ from the base's.
        self.second = self._reopen()

    def _reopen(self) -> ThreadIndex:
        return memory_index(
            self.client,
            self.index.root_id,
            settings=self.settings,
            page_ids=self.page_ids,
            codec=self.codec,
        )

    def _new_object(self) -> str:
        obj = self.client.store.create({})
        self.pool.append(obj.id)
        return str(obj.id)

    @rule()
    def create_child(self) -> None:
        child = self.index.create_child(metadata={"k": "v"})
        self.model.append(child.id)
        self.pool.append(child.id)

    @rule(n=st.integers(0, 7))
    def create_children(self, n: int) -> None:
        made = [c.id for c in self.index.create_children(n)]
        self.model.extend(made)
        self.pool.extend(made)

    @rule(fresh=st.booleans(), data=st.data())
    def add(self, fresh: bool, data: st.DataObject) -> None:
        id_ = (
            self._new_object() if fresh or not self.pool else data.draw(st.sampled_from(self.pool))
        )
        self.index.add(id_)
        if id_ not in self.model:
            self.model.append(id_)

    @precondition(lambda self: bool(self.pool))
    @rule(data=st.data(), k=st.integers(1, 4))
    def remove_many(self, data: st.DataObject, k: int) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.pool), min_size=1, max_size=k, unique=True))
        self.index.remove_many(ids)
        self.model = [i for i in self.model if i not in ids]

    @precondition(lambda self: bool(self.pool))
    @rule(data=st.data(), k=st.integers(1, 3))
    def remove_through_the_second(self, data: st.DataObject, k: int) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.pool), min_size=1, max_size=k, unique=True))
        self.second.remove_many(ids)
        self.model = [i for i in self.model if i not in ids]

    @rule()
    def count_through_the_second(self) -> None:
        """The second writer reads (and holds) the pages of the base it meets."""
        assert len(self.second) == len(self.model)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        id_ = data.draw(st.sampled_from(self.model))
        self.index.delete(id_)
        self.model.remove(id_)

    @rule(full=st.booleans())
    def compact(self, full: bool) -> None:
        self.index.compact(full=full)

    @rule(times=st.integers(1, 3))
    def duplicate_appends(self, times: int) -> None:
        """The next appends land twice, as a retried POST whose answer was lost does."""
        self.client.store.duplicate_next_appends += times

    @rule()
    def late_duplicate(self) -> None:
        """The next append lands again later, after the append that follows it."""
        self.client.store.delay_next_duplicate = True

    @rule()
    def reopen(self) -> None:
        self.index = self._reopen()

    @invariant()
    def lists_the_model(self) -> None:
        if not hasattr(self, "index"):
            return
        assert list(self.index.all()) == self.model
        assert len(self.index) == len(self.model)

    @invariant()
    def another_instance_agrees(self) -> None:
        if not hasattr(self, "index"):
            return
        other = self._reopen()
        assert len(other) == len(self.model)  # before all(): from the journal or the pages
        assert list(other.all()) == self.model
        for id_ in self.pool[-3:]:
            assert (id_ in other) == (id_ in self.model)


TestIndexMachine = IndexMachine.TestCase
TestIndexMachine.settings = settings(
    max_examples=examples(150),  # 30 in the fast loop
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_checkpoints_stay_within_the_record_budget() -> None:
    """A worst-case checkpoint (a dense page of unpaged IDs, a full overlay) fits a record."""
    from tests.conftest import memory_index as make

    for kind in ("threads", "conversations"):
        client = MemoryClient(kind)
        settings = IndexSettings(compact_every=99, gc_grace_seconds=0, retry=RetryPolicy.none())
        index = make(client, settings=settings, codec="dense")
        ids = [c.id for c in index.create_children(3000)]
        index.compact()
        index.remove_many(ids[: settings.max_overlay])
        index.create_children(index.page_capacity - 3000 % index.page_capacity - 1)
        index.compact()
        root = client.store.objects[index.root_id]
        assert max(len(text) for _, text in root.entries) <= settings.max_record_chars
        assert list(index.all()) == list(make(client, index.root_id, codec="dense").all())
