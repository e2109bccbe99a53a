"""The figures: requests and sequential round trips against N, log-log, for linkedthreads
and each alternative, both backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ._format import _get

__all__ = ["plot"]

R = dict[str, Any]
Getter = Callable[[R], Any]

STYLE = {"conversations": "-", "threads": "--"}
DESIGNS: list[tuple[str, str, str]] = [
    ("ours", "linkedthreads", "tab:blue"),
    ("naive", "(a) naive chain", "tab:red"),
    ("listing", "list endpoint", "tab:gray"),
]
ENDPOINT = {"threads": "(b) GET /v1/threads", "conversations": "(c) GET /v1/conversations"}


def _series(b: R, get: Getter) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for s in b["sizes"].values():
        y = get(s)
        if y is not None:
            xs.append(int(s["n"]))
            ys.append(float(y))
    return xs, ys


LIST_GETTERS: dict[str, dict[str, Getter]] = {
    "requests": {
        "ours": lambda s: _get(s, "reads", "all", "requests"),
        "naive": lambda s: _get(s, "naive", "all", "requests"),
        "listing": lambda s: _get(s, "listing", "all", "requests"),
    },
    "round_trips": {
        "ours": lambda s: _get(s, "round_trips", "all_c8", "round_trips"),
        "naive": lambda s: _get(s, "naive", "rt_all", "round_trips"),
        "listing": lambda s: _get(s, "listing", "rt_all", "round_trips"),
    },
}

WRITE_GETTERS: dict[str, dict[str, Getter]] = {
    "requests": {
        "ours": lambda s: _get(s, "writes", "delete_random_old", "per_op_settled"),
        "naive": lambda s: _get(s, "naive", "delete_random_old", "per_op"),
        "listing": lambda s: _get(s, "listing", "delete", "per_op"),
    },
    "round_trips": {
        "ours": lambda s: _get(s, "round_trips", "create_child", "round_trips"),
        "naive": lambda s: _get(s, "naive", "rt_create_child", "round_trips"),
        "listing": lambda s: _get(s, "listing", "rt_create_child", "round_trips"),
    },
}

WRITE_TITLES = {
    "requests": "a lone delete of a random old child\n(ours: with the rebuild it leaves due)",
    "round_trips": "a lone create_child",
}


def _panel(
    ax: Any, results: R, getters: dict[str, Getter], title: str, ylabel: str, log_y: bool
) -> None:
    for key, label, color in DESIGNS:
        for backend, b in results["backends"].items():
            xs, ys = _series(b, getters[key])
            name = ENDPOINT.get(backend, label) if key == "listing" else f"{label}, {backend}"
            if xs:
                ax.plot(xs, ys, STYLE.get(backend, "-"), color=color, marker="o", label=name)
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("N, children in the list")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


def plot(results: R, out: Path) -> list[Path]:
    """Write ``requests.png`` and ``round_trips.png``; their paths."""
    paths = []
    latency = results["config"]["latency_ms"]
    for measure, ylabel in (
        ("requests", "requests"),
        ("round_trips", f"sequential round trips ({latency:g} ms injected latency)"),
    ):
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
        _panel(left, results, LIST_GETTERS[measure], "list every ID", ylabel, True)
        _panel(
            right,
            results,
            WRITE_GETTERS[measure],
            WRITE_TITLES[measure],
            ylabel,
            measure == "requests",
        )
        handles, labels = left.get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
        fig.suptitle(f"linkedthreads vs the alternatives: {ylabel.split(' (')[0]}")
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        path = out / f"{measure}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
