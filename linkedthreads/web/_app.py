"""The Starlette application: pages rendered on the server (Jinja2, autoescaped), a small
JSON API the page's own script calls, and the static files shipped in the package.

Every call to the index or the SDK is synchronous and runs on Starlette's thread pool; the
index instance is shared by those threads (``ThreadIndex`` is thread-safe).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jinja2
import openai
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from linkedthreads import ThreadIndex
from linkedthreads._objects import ChildDetails, iso_time

from ._children import Filter, Reader, parse_age, parse_metadata
from ._errors import PageError, describe
from ._jobs import Job, Jobs
from ._security import LOOPBACK_HOSTS, Guard, derive

HERE = Path(__file__).parent
PAGE_SIZE = 25  # rows a screen: 50 concurrent requests for their details
SCAN_LIMIT = 200  # children a filtered listing reads before it answers (and the page asks on)
SEEK_SLACK = 1000  # how far past its old position a cursor's last ID is looked for
DELETE_BATCH = 100
IndexSource = ThreadIndex | Callable[[], ThreadIndex]


class Site:
    """What the routes share: the index (opened on first use), the SDK client, the jobs."""

    def __init__(
        self,
        index: IndexSource,
        client: openai.OpenAI,
        *,
        title: str,
        where: str,
        scopes: Sequence[str] | None,
        page_size: int,
    ) -> None:
        self._source = index
        self._index = index if isinstance(index, ThreadIndex) else None
        self._lock = threading.Lock()
        self._reader: Reader | None = None
        self.client = client
        self.title = title
        self.where = where
        self.scopes = list(scopes or [])
        self.page_size = page_size
        self.jobs = Jobs()
        self.shown: set[str] = set()  # IDs this page listed: the only ones it deletes

    @property
    def index(self) -> ThreadIndex:
        """The index; opening it (1 request) on first use, again after a failure."""
        with self._lock:
            if self._index is None:
                assert callable(self._source)
                self._index = self._source()
            return self._index

    @property
    def reader(self) -> Reader:
        index = self.index
        with self._lock:
            if self._reader is None:
                self._reader = Reader(self.client, index.backend)
            return self._reader

    def close(self) -> None:
        """Stop the reader's threads, and close the index if this app opened it."""
        if self._reader is not None:
            self._reader.close()
        if self._index is not None and self._index is not self._source:
            self._index.close()

    def remember(self, ids: Sequence[str]) -> None:
        with self._lock:
            self.shown.update(ids)

    def check_shown(self, ids: Sequence[str]) -> None:
        with self._lock:
            unknown = [i for i in ids if i not in self.shown]
        if unknown:
            raise PageError(f"{unknown[0]!r} was not listed by this page: nothing was deleted")


# -- listing -----------------------------------------------------------------------------------


def seek(site: Site, after: str, position: int) -> tuple[Iterator[str], int]:
    """The newest-first stream, past the ID ``after`` (last seen around ``position``); if
    it is no longer listed, past ``position`` IDs. Pages read once come from the index's
    cache, so going on costs 1 request (the journal)."""
    stream = site.index.all(newest_first=True)
    if not after:
        return stream, 0
    for n, child_id in enumerate(itertools.islice(stream, position + SEEK_SLACK), 1):
        if child_id == after:
            return stream, n
    stream = site.index.all(newest_first=True)
    return itertools.islice(stream, position, None), position


def list_rows(site: Site, flt: Filter, after: str, position: int) -> dict[str, Any]:
    """The next screen of rows newest first, their details read in one concurrent round
    (filtered: children read ``page_size`` at a time until a screen matches or
    ``SCAN_LIMIT`` were read)."""
    stream, position = seek(site, after, position)
    size = site.page_size
    rows: list[ChildDetails] = []
    scanned = 0
    last = after
    done = False
    while len(rows) < size and scanned < (SCAN_LIMIT if flt.active else size):
        ids = list(itertools.islice(stream, size - len(rows) if not flt.active else size))
        if not ids:
            done = True
            break
        scanned += len(ids)
        last = ids[-1]
        if not flt.active:
            rows.extend(site.reader.many(ids))
            continue
        now = time.time()
        matched = [c for c in site.reader.many(ids, first=False) if flt.matches(c, now)]
        if matched:
            firsts = {c.id: c for c in site.reader.many([c.id for c in matched])}
            rows.extend(firsts[c.id] for c in matched)
    site.remember([r.id for r in rows])
    if not done:  # say whether anything is left without consuming it
        done = next(stream, None) is None
    return {
        "rows": rows,
        "after": last,
        "position": position + scanned,
        "done": done,
        "scanned": scanned,
    }


def filter_of(params: Any) -> Filter:
    return Filter(
        metadata=parse_metadata(str(params.get("metadata", ""))),
        older_than=parse_age(str(params.get("older", "")), "older than"),
        newer_than=parse_age(str(params.get("newer", "")), "newer than"),
    )


# -- jobs --------------------------------------------------------------------------------------


def purge_preview(site: Site, flt: Filter) -> Callable[[Job], dict[str, Any]]:
    def work(job: Job) -> dict[str, Any]:
        job.progress("Reading the index")
        ids = list(site.index.all(newest_first=True))
        matched: list[ChildDetails] = []
        gone: list[str] = []
        if not flt.active:
            matched = [ChildDetails(i) for i in ids]
        else:
            now = time.time()
            job.progress("Reading the children", 0, len(ids))
            for n, child in enumerate(site.reader.stream(ids), 1):
                if not child.exists:
                    gone.append(child.id)
                elif flt.matches(child, now):
                    matched.append(child)
                job.done = n
        site.remember([c.id for c in matched] + gone)
        return {
            "listed": len(ids),
            "matched": [c.id for c in matched],
            "gone": gone,
            "sample": matched[:50],
            "criteria": flt.describe(),
        }

    return work


def purge_run(site: Site, ids: list[str], erase_items: bool) -> Callable[[Job], dict[str, Any]]:
    def work(job: Job) -> dict[str, Any]:
        job.progress("Deleting", 0, len(ids))
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            site.index.delete_many(batch, erase_items=erase_items)
            job.done = start + len(batch)
        return {"deleted": len(ids)}

    return work


def verify_job(site: Site, repair: bool) -> Callable[[Job], dict[str, Any]]:
    def work(job: Job) -> dict[str, Any]:
        job.progress("Repairing" if repair else "Verifying every page and every child")
        report = site.index.verify(repair=repair)
        return {
            "ok": report.ok,
            "children": report.children,
            "pages": report.pages,
            "tail_entries": report.tail_entries,
            "dangling": report.dangling[:50],
            "dangling_count": len(report.dangling),
            "duplicates": report.duplicates[:50],
            "duplicate_count": len(report.duplicates),
            "problems": report.problems,
            "repaired": report.repaired,
        }

    return work


# -- the application ---------------------------------------------------------------------------


def create_app(
    index: IndexSource,
    client: openai.OpenAI,
    *,
    token: str | None = None,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    title: str = "linkedthreads",
    where: str = "",
    scopes: Sequence[str] | None = None,
    page_size: int = PAGE_SIZE,
) -> Starlette:
    """The web page over ``index`` as an ASGI app (mount it, or serve it with uvicorn).

    ``index`` is an open ``ThreadIndex``, or a function that opens one (called on first use,
    and again after it failed, so that a missing root or a refused key shows on the page).
    ``client`` is the ``openai.OpenAI`` the page reads children's details with (the key stays
    in this process). ``token``: the secret of the sign-in URL (``app.state.token``; random
    if not given): open ``/?token=...`` once, a cookie does the rest. ``allowed_hosts``: the
    Host header names the app answers (DNS rebinding); add yours when it is served on
    another name. ``scopes``: reserved for a scope switcher (hidden while empty).

    Cost of the first screen: 2 listing requests (``latest``) + one concurrent round of 2
    requests a row.
    """
    token = token or secrets.token_urlsafe(32)
    site = Site(index, client, title=title, where=where, scopes=scopes, page_size=max(1, page_size))
    # Autoescaping on for every template, whatever its name: conversation text is
    # attacker-controlled.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True
    )
    templates = Jinja2Templates(env=env)
    templates.env.globals["iso_time"] = iso_time
    csrf = derive(token, "csrf")

    def base_of(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/") + "/"

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("site", site)
        context.setdefault("csrf", csrf)
        context.setdefault("base", base_of(request))
        context.setdefault("info", {})
        return templates.TemplateResponse(request, name, context, status_code=status)

    def fragment(request: Request, name: str, **context: Any) -> str:
        return templates.get_template(name).render(
            site=site, csrf=csrf, base=base_of(request), **context
        )

    def failure(request: Request, exc: BaseException, *, page: bool) -> Response:
        status, message = describe(exc)
        if page:
            return render(request, "error.html", status, message=message)
        return JSONResponse({"error": message}, status_code=status)

    async def home(request: Request) -> Response:
        error: str | None = None
        try:
            flt = filter_of(request.query_params)
        except Exception as exc:
            flt, error = Filter(), describe(exc)[1]
        listing: dict[str, Any] | None = None
        index_info: dict[str, Any] = {}
        if error is None:
            try:
                listing = await run_in_threadpool(list_rows, site, flt, "", 0)
                idx = site.index
                index_info = {"root_id": idx.root_id, "backend": idx.backend}
            except Exception as exc:
                error = describe(exc)[1]
        return render(
            request,
            "index.html",
            listing=listing,
            error=error,
            flt=flt,
            params=request.query_params,
            info=index_info,
        )

    async def rows(request: Request) -> Response:
        try:
            flt = filter_of(request.query_params)
            after = request.query_params.get("after", "")
            position = int(request.query_params.get("position", "0") or 0)
            listing = await run_in_threadpool(list_rows, site, flt, after, max(0, position))
        except Exception as exc:
            return failure(request, exc, page=False)
        html = fragment(request, "_rows.html", rows=listing.pop("rows"))
        return JSONResponse({"html": html, **listing})

    async def child(request: Request) -> Response:
        child_id = request.path_params["child_id"]
        partial = request.query_params.get("partial") == "1"
        try:
            found, entries, more = await run_in_threadpool(site.reader.one, child_id)
        except Exception as exc:
            return failure(request, exc, page=not partial)
        context = {"child_id": child_id, "child": found, "entries": entries, "more": more}
        if partial:
            return HTMLResponse(fragment(request, "_child.html", **context))
        return render(request, "child.html", 200 if found else 404, **context)

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise PageError("the request body must be JSON") from None
        if not isinstance(data, dict):
            raise PageError("the request body must be a JSON object")
        return data

    async def delete(request: Request) -> Response:
        try:
            data = await body_of(request)
            ids = data.get("ids")
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
                raise PageError("give the IDs to delete as a non-empty list")
            site.check_shown(ids)
            erase = bool(data.get("erase_items"))
            await run_in_threadpool(purge_run(site, list(dict.fromkeys(ids)), erase), Job("delete"))
        except Exception as exc:
            return failure(request, exc, page=False)
        return JSONResponse({"deleted": len(set(ids))})

    async def stats(request: Request) -> Response:
        try:
            s = await run_in_threadpool(site.index.stats)
        except Exception as exc:
            return failure(request, exc, page=False)
        return JSONResponse({"html": fragment(request, "_stats.html", stats=s, index=site.index)})

    def start(kind: str, work: Callable[[Job], Any]) -> Response:
        running = site.jobs.busy(("purge", "repair"))
        if running is not None and kind in ("purge", "repair"):
            raise PageError(f"a {running.kind} is already running: wait for it to finish", 409)
        job = site.jobs.start(kind, work)
        return JSONResponse({"job": job.id})

    async def verify(request: Request) -> Response:
        try:
            repair = bool((await body_of(request)).get("repair"))
            return start("repair" if repair else "verify", verify_job(site, repair))
        except Exception as exc:
            return failure(request, exc, page=False)

    async def preview(request: Request) -> Response:
        try:
            flt = filter_of(await body_of(request))
            return start("preview", purge_preview(site, flt))
        except Exception as exc:
            return failure(request, exc, page=False)

    async def purge(request: Request) -> Response:
        try:
            data = await body_of(request)
            seen = site.jobs.get(str(data.get("preview", "")))
            if seen is None or seen.kind != "preview" or seen.state != "done":
                raise PageError("preview the purge first (that preview is unknown or unfinished)")
            ids = seen.result["matched"] + seen.result["gone"]
            if not ids:
                raise PageError("nothing to delete: no child matches")
            return start("purge", purge_run(site, ids, bool(data.get("erase_items"))))
        except Exception as exc:
            return failure(request, exc, page=False)

    async def job_status(request: Request) -> Response:
        job = site.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such job (the server restarted?)"}, status_code=404)
        out: dict[str, Any] = {
            "state": job.state,
            "kind": job.kind,
            "phase": job.phase,
            "done": job.done,
            "total": job.total,
            "error": job.error,
        }
        if job.state == "done":
            out["html"] = fragment(request, f"_job_{job.kind}.html", result=job.result, job=job)
            if job.kind == "preview":
                out["count"] = len(job.result["matched"]) + len(job.result["gone"])
        return JSONResponse(out)

    async def export(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in ("csv", "json"):
            return await not_found(request, PageError("no such export"))
        try:
            flt = filter_of(request.query_params)
            idx = await run_in_threadpool(lambda: site.index)
        except Exception as exc:
            return failure(request, exc, page=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        headers = {"content-disposition": f'attachment; filename="linkedthreads-{stamp}.{fmt}"'}
        return StreamingResponse(
            export_lines(site, idx, flt, fmt),
            media_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json",
            headers=headers,
        )

    routes = [
        Route("/", home),
        Route("/api/rows", rows),
        Route("/child/{child_id}", child),
        Route("/api/delete", delete, methods=["POST"]),
        Route("/api/stats", stats),
        Route("/api/verify", verify, methods=["POST"]),
        Route("/api/purge/preview", preview, methods=["POST"]),
        Route("/api/purge/run", purge, methods=["POST"]),
        Route("/api/jobs/{job_id}", job_status),
        Route("/export.{fmt:str}", export),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        site.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", 404, message="There is no such page here.")

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found},
        lifespan=lifespan,
    )
    app.state.token = token
    app.state.site = site
    app.add_middleware(Guard, token=token, allowed_hosts=allowed_hosts)
    return app


def export_lines(site: Site, index: ThreadIndex, flt: Filter, fmt: str) -> Iterator[str]:
    """Every child (filtered) with its creation time and metadata, as CSV rows or one JSON
    document, written as it is read. Cost: a read of the index + 1 request a child."""
    children = (c for c in site.reader.stream(index.all()) if not flt.active or flt.matches(c))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "exists", "created_at", "metadata"])
        for c in children:
            meta = json.dumps(c.user_metadata, ensure_ascii=False) if c.user_metadata else ""
            writer.writerow([c.id, str(c.exists).lower(), iso_time(c.created_at) or "", meta])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        return
    head = {
        "root_id": index.root_id,
        "backend": index.backend,
        "exported_at": iso_time(time.time()),
        "filter": flt.describe(),
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "children": ['
    for n, c in enumerate(children):
        yield ("," if n else "") + "\n  " + json.dumps(c.to_json(), ensure_ascii=False)
    yield "\n]}\n"
