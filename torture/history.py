"""Reading the workers' logs into operations, and the per-ID history that judges every
observation (a per-ID linearizability check: docs/design.md 6.2)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings import INF, INFLIGHT_SLACK_S

WRITE_KINDS = frozenset(
    {
        "create_child",
        "create_children",
        "add",
        "add_many",
        "remove",
        "remove_many",
        "delete",
        "delete_many",
    }
)
ADD_KINDS = frozenset({"create_child", "create_children", "add", "add_many", "seed"})


@dataclass
class Op:
    """One logged operation. ``status``: ok, failed, or inflight (its process was killed)."""

    worker: str
    seq: int
    kind: str
    ids: list[str]
    tag: str
    t0: float
    t1: float = INF
    status: str = "inflight"
    err: str | None = None
    result: Any = None
    n: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def is_write(self) -> bool:
        return self.kind in WRITE_KINDS


def read_logs(log_dir: str, deaths: dict[str, float] | None = None) -> list[Op]:
    """Every operation in ``log_dir``. An operation without an ``end`` line is in flight:
    its process died (at ``deaths[process]``), so it may have taken effect until shortly
    after (a request already sent can still be applied)."""
    deaths = deaths or {}
    ops: list[Op] = []
    for path in sorted(Path(log_dir).glob("*.jsonl")):
        worker = path.stem
        by_seq: dict[int, Op] = {}
        for line in path.read_text().splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by SIGKILL
            if ev["ev"] == "begin":
                by_seq[ev["seq"]] = Op(
                    worker, ev["seq"], ev["op"], ev["ids"], ev["tag"], ev["t0"], n=ev.get("n", 0)
                )
            elif ev["ev"] == "end" and ev["seq"] in by_seq:
                op = by_seq[ev["seq"]]
                op.t1 = ev["t1"]
                op.status = "ok" if ev["ok"] else "failed"
                op.err = ev.get("err")
                op.result = ev.get("result")
        process = worker.split(".")[0]
        for op in by_seq.values():
            if op.status == "inflight":
                died = deaths.get(process)
                op.t1 = died + INFLIGHT_SLACK_S if died is not None else INF
        ops.extend(by_seq.values())
    return ops


# -- the checker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """An operation's possible effect on one ID: ``add`` True lists it, False unlists it."""

    add: bool
    t0: float
    t1: float
    ok: bool
    op: str


class History:
    """Per-ID effects, and the judgement of observations against them.

    An observation made during [s, e] sees the state at some instant p in [s, e]. The state
    at p is the effect of the last operation that took effect before p (unlisted if none).
    Operation O can be that last one iff O started before e and no acknowledged operation B
    must fall between O and p: B.t0 > O.t1 (B after O) and B.t1 < s (B before p). The
    initial state is possible iff no acknowledged operation ended before s. For the final
    state, s = e = infinity. This is exact for independent registers with blind writes.
    """

    def __init__(self, ops: Sequence[Op], seeded: Sequence[str] = ()) -> None:
        self.effects: dict[str, list[Effect]] = {}
        self.ops = list(ops)
        self.by_tag = {op.tag: op for op in ops if op.tag}
        for i, id_ in enumerate(seeded):  # listed in this order before anything else ran
            t = -1.0 + i * 1e-7
            self._effect(id_, Effect(True, t, t, True, "seed"))
        for op in ops:
            if op.kind in ("create_child", "create_children"):
                if op.ok:
                    for id_ in op.result:
                        self._effect(id_, Effect(True, op.t0, op.t1, True, op.tag))
            elif op.kind in ("add", "add_many"):
                for id_ in op.ids:
                    self._effect(id_, Effect(True, op.t0, op.t1, op.ok, op.tag))
            elif op.kind in ("remove", "remove_many", "delete", "delete_many"):
                for id_ in op.ids:
                    self._effect(id_, Effect(False, op.t0, op.t1, op.ok, op.tag))

    def _effect(self, id_: str, effect: Effect) -> None:
        self.effects.setdefault(id_, []).append(effect)

    def known(self, id_: str) -> bool:
        return id_ in self.effects

    def adopt_unknown(self, id_: str, tag: str | None) -> str | None:
        """An ID listed somewhere that no log names: only a create call that failed or was
        interrupted (so never returned it) may have listed it. Returns a problem or None."""
        op = self.by_tag.get(tag or "")
        if op is None or op.kind not in ("create_child", "create_children"):
            return f"{id_} is listed but no operation added it (tag {tag!r})"
        if op.ok:
            return (
                f"{id_} is listed but its create call {tag} returned other IDs "
                f"{op.result} (a retried create listed twice?)"
            )
        self._effect(id_, Effect(True, op.t0, op.t1, False, op.tag))
        return None

    def possible(self, id_: str, s: float, e: float) -> set[bool]:
        effects = self.effects.get(id_, [])
        acked = [f for f in effects if f.ok]
        states: set[bool] = set()
        if not any(b.t1 < s for b in acked):
            states.add(False)
        for o in effects:
            if o.add in states or o.t0 >= e:
                continue
            if not any(b.t0 > o.t1 and b.t1 < s for b in acked):
                states.add(o.add)
        return states

    def listing_window(self, id_: str, s: float, e: float) -> tuple[float, float] | None:
        """When the add that made ``id_`` listed (its position) was appended, as seen at
        some instant in [s, e]: the union of the intervals of every add that may be it."""
        effects = self.effects.get(id_, [])
        removes = [f for f in effects if not f.add]
        adds = [f for f in effects if f.add]
        lo, hi = INF, -INF
        for o in adds:
            if o.t0 >= e:
                continue
            if any(r.ok and r.t0 > o.t1 and r.t1 < s for r in removes):
                continue  # a remove surely came after it: a later add made it listed
            if any(
                a.ok and a.t1 < o.t0 and not any(r.t1 > a.t0 and r.t0 < o.t1 for r in removes)
                for a in adds
            ):
                continue  # surely listed already when it landed: a no-op
            lo, hi = min(lo, o.t0), max(hi, o.t1)
        return None if lo == INF else (lo, hi)

    def judge_list(
        self, listed: Sequence[str], s: float, e: float, what: str
    ) -> dict[str, list[str]]:
        """Problems of one observed list: duplicates, ghosts (listed, impossible), lost
        (missing, must be listed), and order inversions."""
        out: dict[str, list[str]] = {"duplicates": [], "ghosts": [], "lost": [], "order": []}
        counts = Counter(listed)
        out["duplicates"] = [f"{what}: {i} listed {c} times" for i, c in counts.items() if c > 1]
        present = set(listed)
        for id_ in present:
            if True not in self.possible(id_, s, e):
                out["ghosts"].append(f"{what}: {id_} listed; history {self.describe(id_)}")
        for id_ in self.effects:
            if id_ not in present and False not in self.possible(id_, s, e):
                out["lost"].append(f"{what}: {id_} missing; history {self.describe(id_)}")
        best_lo, best_id = -INF, ""
        for id_ in listed:
            window = self.listing_window(id_, s, e)
            if window is None:
                continue
            lo, hi = window
            if hi < best_lo:
                out["order"].append(
                    f"{what}: {id_} (added by {hi:.3f}) listed after {best_id} "
                    f"(added from {best_lo:.3f})"
                )
            if lo > best_lo:
                best_lo, best_id = lo, id_
        return out

    def describe(self, id_: str) -> str:
        return ", ".join(
            f"{'add' if f.add else 'rm'}[{f.op} {f.t0:.3f}-{f.t1:.3f} {'ok' if f.ok else '?'}]"
            for f in sorted(self.effects.get(id_, []), key=lambda f: f.t0)
        )
