"""Figures in the docs, spliced between markers from a run's results (never copied by hand).

A block is ``<!-- NAME: written by python -m benchmarks -->`` ... ``<!-- /NAME -->`` in one
of the files of ``BLOCKS``: a table (the marker on its own line, the block's lines after it)
or a few words inside a sentence (inline). ``regenerate`` rewrites every block of every
file from a run's ``results.json``; ``python -m benchmarks`` (default output) and
``--report-only`` call it, and ``tests/test_benchmark_docs.py`` checks that the committed
docs are what the committed results give, so that a figure copied by hand fails CI.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from ._format import R, _n, fmt
from ._report import headline
from ._seconds_tables import readme_seconds

__all__ = ["BLOCKS", "begin", "end", "regenerate", "splice", "standalone", "write"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
MAIN = "python -m benchmarks"


def begin(name: str, by: str = MAIN) -> str:
    return f"<!-- {name}: written by {by} -->"


def end(name: str) -> str:
    return f"<!-- /{name} -->"


def splice(text: str, name: str, content: str, by: str = MAIN) -> str:
    """``text`` with block ``name`` (written by the command ``by``) replaced by
    ``content`` (a block ending in a newline starts on the line after its marker; one
    without stands inline)."""
    head, sep, rest = text.partition(begin(name, by))
    _, sep2, tail = rest.partition(end(name))
    if not sep or not sep2:
        raise ValueError(f"no {name!r} markers")
    gap = "\n" if content.endswith("\n") else ""
    return f"{head}{begin(name, by)}{gap}{content}{end(name)}{tail}"


def standalone(
    argv: list[str] | None,
    *,
    module: str,
    doc: str | None,
    add_options: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], R],
    markdown: Callable[[R], str],
) -> int:
    """``main`` of a benchmark run on its own (``python -m benchmarks.NAME``): its options,
    and ``--report-only``; it runs (``run``), keeps the results in ``results/NAME.json``
    and writes its block (``NAME``) of ``benchmarks/README.md`` with ``markdown``."""
    name = module.rpartition(".")[2]
    prog = f"python -m {module}"
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    add_options(parser)
    parser.add_argument(
        "--report-only", action="store_true", help=f"rewrite the README table from {name}.json"
    )
    args = parser.parse_args(argv)
    raw = RESULTS / f"{name}.json"
    if args.report_only:
        results = json.loads(raw.read_text())
    else:
        results = run(args)
        RESULTS.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(results, indent=1) + "\n")
    readme = ROOT / "benchmarks" / "README.md"
    readme.write_text(splice(readme.read_text(), name, markdown(results), by=prog))
    return 0


def _sizes(results: R, backend: str) -> list[str]:
    return list(results["backends"][backend]["sizes"])


def _settled(results: R, backend: str, name: str, plus: float = 0.0) -> list[str]:
    """The amortised requests of an operation over whole rebuild cycles, at every size."""
    sizes = results["backends"][backend]["sizes"]
    return [fmt(s["writes"][name]["per_op_settled"] + plus) for s in sizes.values()]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def page_ids(results: R) -> str:
    """d, the IDs a (dense) page holds: the README's API table."""
    b = results["backends"]
    return (
        f"{b['conversations']['page_capacity']} conversations, "
        f"{b['threads']['page_capacity']} threads"
    )


def density(results: R) -> str:
    """IDs a page packs in each alphabet: the README's guarantees."""
    lim = results["limits"]

    def ids(backend: str, codec: str) -> int:
        return int(lim[f"{backend}/{codec}"]["whole_ids_with_framing"])

    return (
        f"{ids('conversations', 'ascii')} conversation IDs ({ids('threads', 'ascii')} thread "
        f"IDs) into its 16 metadata slots in ASCII, and {ids('conversations', 'dense')} "
        f"({ids('threads', 'dense')})"
    )


def removal_costs(results: R) -> str:
    """Requests a removal of a random old child costs, amortised: design section 12."""
    b = results["backends"]
    conv, thr = b["conversations"], b["threads"]
    sizes = _and([_n(n)[4:] for n in _sizes(results, "conversations")])
    return (
        f"d = L = {conv['page_capacity']} conversation, {thr['page_capacity']} thread IDs), "
        f"in the writer: {_and(_settled(results, 'conversations', 'delete_random_old'))} at "
        f"N = {sizes} conversations, {_and(_settled(results, 'threads', 'delete_random_old'))}"
        " for threads; holding no page (a `remove`, plus the object's DELETE): "
        f"{_and(_settled(results, 'conversations', 'remove_random_old', 1.0))}, and "
        f"{_and(_settled(results, 'threads', 'remove_random_old', 1.0))}"
    )


def locator_bound(results: R) -> str:
    """2 + N/d² at the largest N, the best a format without a locator does: design 12."""
    out = []
    for backend in ("conversations", "threads"):
        d = results["backends"][backend]["page_capacity"]
        n = int(max(_sizes(results, backend), key=int))
        out.append(f"{2 + n / d**2:.2f} for {backend}")
    n = int(max(_sizes(results, "conversations"), key=int))
    return f"{out[0]} and {out[1]} at N = {n:,}"


def medium_bits(results: R) -> str:
    """The medium's bits an object, and the density limits: benchmarks/README.md."""
    lim = results["limits"]
    ascii_bits = lim["threads/ascii"]["bits_per_object"]
    dense_bits = lim["threads/dense"]["bits_per_object"]

    def limit(key: str) -> str:
        return f"{lim[key]['limit']:.2f}".rstrip("0").rstrip(".")

    return (
        f"{ascii_bits:,} bits in printable ASCII (floor(log2(94^c)) bits a field of c "
        f"characters) and {dense_bits:,} bits in the dense alphabet (15 bits a character), "
        f"over {lim['threads/ascii']['id_bits']} bits a thread ID (24 base-62 digits) and "
        f"{lim['conversations/ascii']['id_bits']} bits a conversation ID (48 hex digits): "
        f"{limit('threads/ascii')} / {limit('conversations/ascii')} in ASCII and "
        f"{limit('threads/dense')} / {limit('conversations/dense')} dense"
    )


BLOCKS: dict[str, list[tuple[str, Callable[[R], str]]]] = {
    "README.md": [
        ("page-ids", page_ids),
        ("density", density),
        ("seconds", readme_seconds),
    ],
    "benchmarks/README.md": [
        ("bits", medium_bits),
        ("results", headline),
    ],
    "docs/design.md": [
        ("removal-costs", removal_costs),
        ("locator-bound", locator_bound),
    ],
}
"""The generated blocks of each file (paths from the repository's root)."""


def regenerate(results: R, root: Path = ROOT) -> dict[Path, str]:
    """Every file of ``BLOCKS`` as it reads with its blocks written from ``results``."""
    out: dict[Path, str] = {}
    for rel, blocks in BLOCKS.items():
        path = root / rel
        text = path.read_text(encoding="utf-8")
        for name, make in blocks:
            text = splice(text, name, make(results))
        out[path] = text
    return out


def write(results: R, root: Path = ROOT) -> list[Path]:
    """Rewrite the files whose blocks changed; the paths rewritten."""
    changed = []
    for path, text in regenerate(results, root).items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
