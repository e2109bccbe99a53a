"""``demo``: the first command a newcomer runs. It starts the emulator in this process,
creates an index and a few hundred children, lists, deletes, reopens from the root ID alone,
verifies, and prints what each step did and cost. No key, no network, a few seconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from linkedthreads._choices import BackendName

from ._app import PANEL_LOCAL, DebugOption, JsonOption, command
from ._errors import CLIError
from ._output import Timer, emit_json, kind, plural, progress, stdout_console

if TYPE_CHECKING:
    from linkedthreads import ThreadIndex
    from linkedthreads.testing import Emulator

T = TypeVar("T")
BATCH = 100


@dataclass
class Step:
    title: str
    result: str
    requests: int
    served: int
    seconds: float


class Recorder:
    """Runs the steps, measuring requests (sent by the library's index instances, and
    answered by the emulator) and time."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.indexes: list[ThreadIndex] = []
        self.steps: list[Step] = []

    def sent(self) -> int:
        return sum(i.requests for i in self.indexes)

    def served(self) -> int:
        return int(self.emu.stats()["total"])

    def run(self, title: str, action: Callable[[], T], describe: Callable[[T], str]) -> T:
        sent, served, timer = self.sent(), self.served(), Timer()
        result = action()
        self.steps.append(
            Step(title, describe(result), self.sent() - sent, self.served() - served, timer.elapsed)
        )
        return result


def _short(id_: str) -> str:
    return id_ if len(id_) <= 20 else f"{id_[:10]}…{id_[-6:]}"


def _table(rec: Recorder, total: float) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        show_footer=True,
        footer_style="bold",
        pad_edge=False,
    )
    table.add_column("", justify="right", style="dim", footer="")
    table.add_column("Step", footer="Total", no_wrap=True)
    table.add_column("Result", style="green", footer="")
    table.add_column(
        "Requests", justify="right", no_wrap=True, footer=f"{sum(s.requests for s in rec.steps):,}"
    )
    table.add_column("Time", justify="right", no_wrap=True, footer=f"{total:.1f} s")
    for n, step in enumerate(rec.steps, 1):
        table.add_row(
            str(n), step.title, step.result, f"{step.requests:,}", f"{step.seconds:.2f} s"
        )
    return table


def _bullets(lines: list[Text]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim")
    grid.add_column()
    for line in lines:
        grid.add_row("•", line)
    return grid


@command("demo", panel=PANEL_LOCAL)
def demo(
    backend: Annotated[
        BackendName,
        typer.Option(
            "--backend",
            "-b",
            help="What the index lists.",
        ),
    ] = "conversations",
    children: Annotated[
        int,
        typer.Option("--children", "-n", min=3, max=5000, help="How many children to create."),
    ] = 300,
    latency_ms: Annotated[
        float,
        typer.Option(
            "--latency-ms",
            min=0.0,
            max=10_000.0,
            help="Delay the emulator adds to each request.",
        ),
    ] = 0.0,
    json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show what linkedthreads does, on an emulator in this process: no key, no network.

    Creates an index and CHILDREN children, lists them, deletes a third, reopens the index
    from its root ID alone, verifies it, and prints each step's requests and time.
    """
    try:
        from linkedthreads.testing import Emulator
    except ImportError as exc:
        raise CLIError(
            f"demo needs the emulator: pip install 'linkedthreads[cli]' ({exc})"
        ) from None
    from linkedthreads import ThreadIndex

    be = backend
    word = kind(be, 2)
    timer = Timer()
    with Emulator(latency_ms=latency_ms) as emu:
        client = emu.client()
        rec = Recorder(emu)

        def make() -> ThreadIndex:
            index = ThreadIndex.create(client, backend=be)
            rec.indexes.append(index)
            return index

        index = rec.run("Create the index", make, lambda i: f"{_short(i.root_id)} ({i.codec})")

        def create_children() -> list[Any]:
            made: list[Any] = []
            with progress(f"Creating {word}", children) as advance:
                while len(made) < children:
                    batch = index.create_children(min(BATCH, children - len(made)))
                    made.extend(batch)
                    advance(len(batch))
            return made

        made = rec.run(
            f"Create {children:,} {word}",
            create_children,
            lambda m: f"{len(m):,} created and listed",
        )
        created = [c.id for c in made]
        ids = rec.run(
            "List them",
            lambda: list(index.all()),
            lambda got: (
                f"{len(got):,} IDs, in order"
                if got == created
                else f"{len(got):,} IDs, OUT OF ORDER"
            ),
        )
        doomed = ids[::3]
        rec.run(
            f"Delete a third ({len(doomed):,})",
            lambda: index.delete_many(doomed),
            lambda _: f"{len(doomed):,} deleted and unlisted",
        )
        rec.run("Count them", lambda: len(index), lambda n: f"len(index) = {n:,}")

        def reopen() -> list[str]:
            again = ThreadIndex.open(client, index.root_id)
            rec.indexes.append(again)
            return list(again.all())

        survivors = rec.run(
            "Reopen from the root ID", reopen, lambda got: f"{len(got):,} IDs recovered"
        )
        report = rec.run(
            "Verify",
            lambda: rec.indexes[-1].verify(),
            lambda r: f"ok: all {len(survivors):,} exist" if r.ok else f"PROBLEMS: {r}",
        )
        served_total = rec.served()
        for i in rec.indexes:
            i.close()
        client.close()
    total = timer.elapsed
    create_cost = rec.steps[1].requests / children
    ok = report.ok and len(survivors) == len(ids) - len(doomed) and ids == created
    if json:
        emit_json(
            {
                "backend": be,
                "children": children,
                "root_id": index.root_id,
                "ok": ok,
                "steps": [vars(s) | {"seconds": round(s.seconds, 3)} for s in rec.steps],
                "requests": rec.sent(),
                "served": served_total,
                "seconds": round(total, 3),
            }
        )
    else:
        console = stdout_console()
        console.print()
        console.print(
            Text.assemble(
                ("linkedthreads demo", "bold"),
                f": {word} on an in-process emulator, no key, no network",
            )
        )
        console.print(_table(rec, total))
        list_cost = rec.steps[2].requests
        console.print(
            _bullets(
                [
                    Text(
                        f"Listing {len(ids):,} {word} took {plural(list_cost, 'request')}: "
                        "the list lives in the API itself (OpenAI has no endpoint that lists "
                        "them)."
                    ),
                    Text(
                        f"Creating and listing a child cost {create_cost:.2f} requests: its "
                        "create, plus a share of one append per batch."
                    ),
                    Text.assemble(
                        "One ID, ",
                        (index.root_id, "cyan"),
                        ", recovers everything: no database, no local file.",
                    ),
                    Text(
                        f"The library sent {rec.sent():,} requests; the emulator served "
                        f"{served_total:,}."
                    ),
                ]
            )
        )
        console.print()
        console.print(
            Panel(
                Group(
                    Text("Try it yourself, still with no key:", style="bold"),
                    Text("  linkedthreads init --local          # prints a root ID to export"),
                    Text("  linkedthreads create --local -n 20"),
                    Text("  linkedthreads ls --local --long"),
                    Text("  linkedthreads purge --local --older-than 0s --dry-run"),
                    Text("With OPENAI_API_KEY set, drop --local.", style="dim"),
                ),
                expand=False,
                border_style="dim",
            )
        )
    if not ok:
        raise CLIError("the demo found a problem (see above): please report it")
