"""Every figure of the docs comes from the committed ``benchmarks/results/results.json``:
regenerating the report and the docs' blocks from it changes no byte (no benchmark runs)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from benchmarks import _docs, _report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


@pytest.fixture(scope="module")
def committed_results() -> dict[str, object]:
    return dict(json.loads((RESULTS / "results.json").read_text(encoding="utf-8")))


def test_results_md_is_the_report_of_results_json(committed_results: dict[str, object]) -> None:
    """``results.md`` is ``_report.markdown`` of ``results.json``, to the byte."""
    assert (RESULTS / "results.md").read_text(encoding="utf-8") == _report.markdown(
        committed_results
    )


@pytest.mark.parametrize("doc", sorted(_docs.BLOCKS))
def test_doc_figures_are_generated_from_results_json(
    committed_results: dict[str, object], doc: str
) -> None:
    """Each doc with generated blocks reads as regenerating them leaves it: a figure edited
    by hand, or results.json changed without ``python -m benchmarks --report-only``, fails
    here."""
    path = ROOT / doc
    regenerated = _docs.regenerate(committed_results)[path]
    assert path.read_text(encoding="utf-8") == regenerated, (
        f"{doc}: run `python -m benchmarks --report-only` to write its figures from "
        "benchmarks/results/results.json"
    )


def test_every_block_has_its_markers() -> None:
    """Each block named in ``_docs.BLOCKS`` stands once in its file (begin and end)."""
    for doc, blocks in _docs.BLOCKS.items():
        text = (ROOT / doc).read_text(encoding="utf-8")
        for name, _ in blocks:
            assert text.count(_docs.begin(name)) == 1, (doc, name)
            assert text.count(_docs.end(name)) == 1, (doc, name)


def test_a_figure_copied_by_hand_is_caught(committed_results: dict[str, object]) -> None:
    """The check bites: a block edited by hand differs from what the results give."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    edited = _docs.splice(text, "locator-bound", "2.00 for conversations")
    assert edited != text
    assert _docs.splice(edited, "locator-bound", _docs.locator_bound(committed_results)) == text


@pytest.mark.parametrize("module", ["benchmarks.scale", "benchmarks.startup"])
def test_standalone_blocks_are_generated_from_their_json(module: str) -> None:
    """The blocks ``python -m benchmarks.scale`` and ``.startup`` write in
    benchmarks/README.md are their report of ``results/scale.json``, ``startup.json``."""
    report = importlib.import_module(module)
    name = module.rpartition(".")[2]
    results = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    text = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    spliced = _docs.splice(text, name, report.markdown(results), by=f"python -m {module}")
    assert spliced == text, f"run `python -m {module} --report-only`"
