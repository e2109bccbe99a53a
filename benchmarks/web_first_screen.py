"""``python -m benchmarks.web_first_screen [--n 100000]``: what the web page's first screen
costs on a large index (issue 20's target: at most 2 listing requests, plus one concurrent
round for the rows shown).

An index of N conversations is populated cheaply (raw HTTP creates, listed with
``add_many``, then compacted, then 3 more created through the library): with the default
codec (dense pages on the emulator) as given, then in the worst case (whole pages and 10
more, so the screen needs the last page), with the default codec and with ASCII pages
(more pages, so the page list goes into directories). A fresh
``ThreadIndex`` (a process that holds no page) serves the app; the emulator counts the
requests of ``GET /`` by route, and times it with 20 ms of latency a request (the rows'
requests overlap: one round). Writes ``benchmarks/results/web_first_screen.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from linkedthreads import ThreadIndex
from linkedthreads.emulator import Emulator
from linkedthreads.web import create_app

from ._populate import create_objects

OUT = Path(__file__).parent / "results" / "web_first_screen.json"
TOKEN = "benchmark"
LATENCY_MS = 20.0  # a request, on the emulator: the rows' requests overlap (one round)


def measure(n: int, codec: str, rows: int, worst: bool) -> dict[str, Any]:
    with Emulator() as emu:
        client = emu.client()
        writer = ThreadIndex.create(client, backend="conversations", codec=codec)  # type: ignore[arg-type]
        if worst:  # whole pages and 10 more: the tail holds fewer IDs than a screen
            n = n - n % writer.page_capacity + 10
        ids = create_objects(emu.base_url, "conversations", n)
        for start in range(0, n, 10_000):
            writer.add_many(ids[start : start + 10_000])
        writer.compact()
        # A few more in the journal's tail, as in real use. The screen comes from the IDs
        # the checkpoint and the tail hold after the pages, then from the last page(s).
        recent = writer.create_children(3)
        stats = writer.stats()
        reader = ThreadIndex.open(client, writer.root_id)
        app = create_app(reader, client, token=TOKEN, page_size=rows)
        with TestClient(app, base_url="http://127.0.0.1") as web:
            web.get(f"/?token={TOKEN}", follow_redirects=False)
            emu.update_settings(latency_ms=LATENCY_MS)
            emu.reset_stats()
            before = reader.requests
            started = time.perf_counter()
            page = web.get("/")
            cold = time.perf_counter() - started
            listing = reader.requests - before
            counted = emu.stats()["requests"]
        assert page.status_code == 200
        assert recent[-1].id in page.text
        reader.close()
        writer.close()
    by_route = dict(counted)
    total = sum(by_route.values())
    return {
        "n": n + len(recent),
        "newest_first_ids_before_the_pages": stats.unpaged,
        "codec": codec,
        "case": "worst: fewer IDs after the pages than a screen" if worst else "N as given",
        "pages": stats.pages,
        "directories": stats.directories,
        "rows": rows,
        "requests_by_route": by_route,
        "total_requests": total,
        "listing_requests": listing,
        "row_requests": total - listing,
        "latency_ms": LATENCY_MS,
        "first_screen_seconds": round(cold, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_first_screen")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args(argv)
    results = []
    for codec, worst in (("auto", False), ("auto", True), ("ascii", True)):
        print(f"N = {args.n:,}, codec {codec}, worst case {worst}…", file=sys.stderr)
        results.append(measure(args.n, codec, args.rows, worst))
        print(json.dumps(results[-1], indent=2), file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
