"""The page end to end in a real browser: Playwright for Python driving the system Chromium
(Debian's ``chromium`` package) headless, against the app served over HTTP on the emulator.

No browser is downloaded: Playwright is pointed at /usr/bin/chromium, and these tests skip
(saying how to get it) where it is missing. With LINKEDTHREADS_SCREENSHOTS=1 they also write
the README's screenshots to docs/images/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linkedthreads import ThreadIndex
from linkedthreads.web import create_app

from .conftest import TOKEN, Served, seed

CHROMIUM = os.environ.get("LINKEDTHREADS_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
REBIND_HOST = "rebind.test"  # resolved to 127.0.0.1 by the browser: a DNS-rebinding page

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
expect = sync_api.expect

if not shutil.which(CHROMIUM):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: apt-get install chromium (Debian's package; the browser "
        "tests never download one)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # One browser for the module, not the session: Playwright's sync API keeps an event loop
    # running while it lives, which later asyncio tests must not find.
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def served(index: ThreadIndex, emulator: Any) -> Iterator[Served]:
    app = create_app(index, emulator.client(), token=TOKEN, page_size=10, where="the emulator")
    with Served(app) as s:
        yield s


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(10_000)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert not errors, errors


def sign_in(page: Any, served: Served) -> None:
    page.goto(f"{served.url}?token={TOKEN}")
    expect(page.locator("#rows li.row").first).to_be_visible()


def shot(page: Any, name: str) -> None:
    if os.environ.get("LINKEDTHREADS_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_list_newest_first_and_more_on_scroll(
    page: Any, served: Served, index: ThreadIndex
) -> None:
    ids = seed(index, 24)
    page.set_viewport_size({"width": 1280, "height": 400})  # the 10 rows fill more than this
    sign_in(page, served)
    rows = page.locator("#rows li.row")
    expect(page.locator("#stats")).to_contain_text("24")
    expect(rows).to_have_count(10)  # one screen, not the whole list
    assert page.url == served.url  # the token left the address bar
    assert rows.first.get_attribute("data-id") == ids[-1]
    page.locator("#sentinel").scroll_into_view_if_needed()
    expect(rows).to_have_count(20)
    page.locator("#sentinel").scroll_into_view_if_needed()
    expect(rows).to_have_count(24)
    expect(page.locator("#sentinel")).to_have_text("That is all.")
    assert [rows.nth(i).get_attribute("data-id") for i in range(24)] == ids[::-1]
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "list")


@pytest.mark.slow
def test_open_one_as_a_chat_and_a_script_stays_text(
    page: Any, served: Served, index: ThreadIndex
) -> None:
    ids = seed(index, 3)
    sign_in(page, served)
    hostile = page.locator(f'#rows li[data-id="{ids[-1]}"]')
    expect(hostile).to_contain_text("<script>window.__pwned = 1</script>")
    page.locator(f'#rows li[data-id="{ids[0]}"] a.open').click()
    chat = page.locator("#drawer .chat")
    expect(chat.locator(".message")).to_have_count(2)
    expect(chat.locator(".message.role-user")).to_contain_text("#0 How do I reset my password?")
    expect(chat.locator(".message.role-assistant")).to_contain_text("Use the link")
    shot(page, "chat")
    hostile.locator("a.open").click()
    expect(chat.locator(".message.role-user .text")).to_have_text(
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    )
    assert page.evaluate("window.__pwned") is None  # shown, never run
    assert chat.locator("script, img").count() == 0


def test_filter_by_metadata_and_age(page: Any, served: Served, index: ThreadIndex) -> None:
    seed(index, 9)
    sign_in(page, served)
    page.fill('#filters input[name="metadata"]', "user=1")
    page.click('#filters button[type="submit"]')
    rows = page.locator("#rows li.row")
    expect(rows).to_have_count(3)
    for i in range(3):
        expect(rows.nth(i).locator(".tag").first).to_have_text("user=1")
    page.fill('#filters input[name="older"]', "1d")
    page.click('#filters button[type="submit"]')
    expect(page.locator("#empty")).to_have_text("No child matches.")


def test_delete_one_after_confirming(page: Any, served: Served, index: ThreadIndex) -> None:
    ids = seed(index, 3)
    sign_in(page, served)
    row = page.locator(f'#rows li[data-id="{ids[1]}"]')
    row.hover()
    row.locator("button.delete-one").click()
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_be_visible()
    dialog.locator('button[value="cancel"]').click()
    expect(row).to_be_visible()  # cancelled: still there
    row.hover()
    row.locator("button.delete-one").click()
    dialog.locator("#confirm-delete-button").click()
    expect(row).to_have_count(0)
    assert list(index.all()) == [ids[0], ids[2]]


@pytest.mark.slow
def test_delete_several(page: Any, served: Served, index: ThreadIndex) -> None:
    ids = seed(index, 5)
    sign_in(page, served)
    for child_id in ids[1:4]:
        page.check(f'#rows li[data-id="{child_id}"] input.select')
    expect(page.locator("#selection-count")).to_have_text("3 selected")
    page.click("#delete-selected")
    expect(page.locator("#confirm-title")).to_have_text("Delete 3 children?")
    page.click("#confirm-delete-button")
    expect(page.locator("#rows li.row")).to_have_count(2)
    assert list(index.all()) == [ids[0], ids[4]]


@pytest.mark.slow
def test_purge_previews_then_deletes_with_progress(
    page: Any, served: Served, index: ThreadIndex
) -> None:
    ids = seed(index, 12)
    sign_in(page, served)
    page.click("#open-purge")
    purge = page.locator("#purge")
    purge.locator('input[name="metadata"]').fill("user=2")
    purge.locator("#purge-preview-button").click()
    expect(purge.locator("#purge-preview")).to_contain_text("4 of 12 children match")
    expect(purge.locator("#purge-run")).to_have_text("Delete 4")
    assert list(index.all()) == ids  # a preview deletes nothing
    shot(page, "purge")
    purge.locator("#purge-run").click()
    expect(purge.locator("#purge-preview")).to_contain_text("Deleted 4 children")
    assert list(index.all()) == [i for n, i in enumerate(ids) if n % 3 != 2]


@pytest.mark.slow
def test_verify_and_repair(page: Any, served: Served, index: ThreadIndex, emulator: Any) -> None:
    ids = seed(index, 4)
    sign_in(page, served)
    page.click("#verify")
    expect(page.locator("#verify-result")).to_contain_text("Healthy.")
    emulator.client().conversations.delete(ids[0])  # behind the index's back
    page.click("#verify")
    expect(page.locator("#verify-result")).to_contain_text("1 listed but deleted elsewhere")
    shot(page, "health")
    page.click("#repair")
    expect(page.locator("#verify-result")).to_contain_text("Repaired.")
    assert list(index.all()) == ids[1:]


@pytest.mark.slow
def test_export_csv_and_json(page: Any, served: Served, index: ThreadIndex) -> None:
    ids = seed(index, 4)
    sign_in(page, served)
    with page.expect_download() as download:
        page.click("#export-csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "id,exists,created_at,metadata"
    assert [line.split(",")[0] for line in lines[1:]] == ids
    page.fill('#filters input[name="metadata"]', "plan=pro")
    with page.expect_download() as download:
        page.click("#export-json")
    import json

    data = json.loads(Path(download.value.path()).read_text())
    assert [c["id"] for c in data["children"]] == [ids[1], ids[3]]


def test_a_cross_site_post_without_the_csrf_token_is_refused(
    page: Any, served: Served, index: ThreadIndex
) -> None:
    """Another site on this machine (same site for cookies: only the port differs) posts
    a form to the delete endpoint with the victim's cookie: refused, nothing deleted."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    ids = seed(index, 2)
    sign_in(page, served)
    attack = (
        f'<form id=f method=post action="{served.url}api/delete" enctype="text/plain">'
        f'<input name=\'{{"ids": ["{ids[0]}"], "x": "\' value=\'"}}\'></form>'
        "<script>document.getElementById('f').submit()</script>"
    )

    async def evil(request: Any) -> HTMLResponse:
        return HTMLResponse(attack)

    with Served(Starlette(routes=[Route("/", evil)])) as attacker:
        page.goto(attacker.url)
        page.wait_for_url(f"{served.url}api/delete")
        assert "CSRF" in page.content() or "Cross-site" in page.content()
    assert list(index.all()) == ids


def test_no_token_and_a_foreign_host_are_refused(
    browser: Any, served: Served, index: ThreadIndex
) -> None:
    seed(index, 1)
    context = browser.new_context()
    p = context.new_page()
    answer = p.goto(served.url)
    assert answer.status == 403
    expect(p.locator("main")).to_contain_text("Not signed in")
    answer = p.goto(f"http://{REBIND_HOST}:{served.port}/?token={TOKEN}")
    assert answer.status == 421  # a DNS-rebinding page never gets an answer
    expect(p.locator("main")).to_contain_text("wrong Host header")
    context.close()
