"""The security rules and error pages, without a browser (Starlette's TestClient)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from linkedthreads import ThreadIndex
from linkedthreads.web import create_app

from .conftest import HOSTILE, TOKEN, csrf_of, seed


@pytest.fixture
def web(app: Any) -> Any:
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def signed_in(web: Any) -> str:
    """Sign in with the token; the CSRF token of the page."""
    answer = web.get(f"/?token={TOKEN}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"  # the token leaves the address bar
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert TOKEN not in cookie
    return csrf_of(web.get("/").text)


def test_without_the_token_nothing_is_served(web: Any) -> None:
    for path in ("/", "/api/rows", "/api/stats", "/export.csv", "/child/conv_x"):
        answer = web.get(path)
        assert answer.status_code == 403, path
        assert "Not signed in" in answer.text
    assert web.get("/?token=wrong").status_code == 403
    assert web.get("/static/app.js").status_code == 200  # no secret in the assets


def test_a_foreign_host_is_refused_even_with_the_token(web: Any) -> None:
    signed_in(web)
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example"):
        answer = web.get("/", headers={"host": host})
        assert answer.status_code == 421, host
        assert "wrong Host header" in answer.text
    assert web.get("/", headers={"host": "localhost:8000"}).status_code == 200


def test_posts_need_the_csrf_token_and_a_same_origin(web: Any, index: ThreadIndex) -> None:
    ids = seed(index, 3)
    csrf = signed_in(web)
    web.get("/")  # lists them: the page deletes only what it showed
    for headers in ({}, {"x-csrf-token": "wrong"}):
        answer = web.post("/api/delete", json={"ids": [ids[0]]}, headers=headers)
        assert answer.status_code == 403
    cross = web.post(
        "/api/delete",
        json={"ids": [ids[0]]},
        headers={"x-csrf-token": csrf, "origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    form = web.post("/api/delete", data={"ids": ids[0]})  # a cross-site form's shape
    assert form.status_code == 403
    assert web.put("/api/delete", headers={"x-csrf-token": csrf}).status_code == 405
    assert list(index.all()) == ids  # nothing was deleted
    ok = web.post("/api/delete", json={"ids": [ids[0]]}, headers={"x-csrf-token": csrf})
    assert ok.status_code == 200
    assert list(index.all()) == ids[1:]


def test_every_answer_forbids_inline_script_and_framing(web: Any) -> None:
    signed_in(web)
    for path in ("/", "/static/app.css", "/nope"):
        headers = web.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in web.get("/").text.replace("<script src=", "")


def test_text_from_the_api_is_escaped(web: Any, index: ThreadIndex) -> None:
    ids = seed(index, 2)
    signed_in(web)
    for html in (web.get("/").text, web.get(f"/child/{ids[-1]}").text):
        assert HOSTILE not in html
        assert "&lt;script&gt;window.__pwned" in html


def test_only_children_the_page_listed_are_deleted(web: Any, index: ThreadIndex) -> None:
    ids = seed(index, 12)
    csrf = signed_in(web)  # shows the newest 10
    answer = web.post("/api/delete", json={"ids": [ids[0]]}, headers={"x-csrf-token": csrf})
    assert answer.status_code == 400
    assert "not listed by this page" in answer.json()["error"]
    assert (
        web.post("/api/delete", json={"ids": index.root_id}, headers={"x-csrf-token": csrf})
        .json()["error"]
        .startswith("give the IDs")
    )


def test_a_missing_root_is_a_message_not_a_trace(emulator: Any) -> None:
    client = emulator.client()
    app = create_app(lambda: ThreadIndex.open(client, "conv_" + "0" * 48), client, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as web:
        web.get(f"/?token={TOKEN}")
        page = web.get("/")
        assert page.status_code == 200
        assert "Cannot show the index" in page.text
        assert "no index root" in page.text
        assert "Traceback" not in page.text
        assert web.get("/api/stats").json()["error"].startswith("no index root")


def test_a_refused_key_and_rate_limits_are_messages(emulator_factory: Any) -> None:
    emu = emulator_factory(api_key="right-key")
    good = emu.client(api_key="right-key")
    index = ThreadIndex.create(good, backend="conversations")
    bad = emu.client(api_key="sk-wrong-key-123456")
    app = create_app(lambda: ThreadIndex.open(bad, index.root_id), bad, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as web:
        web.get(f"/?token={TOKEN}")
        page = web.get("/")
        assert "refused the credentials" in page.text
        assert "sk-wrong" not in page.text
    index.close()


def test_bad_filter_input_says_what_was_wrong(web: Any) -> None:
    signed_in(web)
    assert "older than: expected an age like 30d" in web.get("/?older=soon").text
    answer = web.get("/api/rows?metadata=novalue")
    assert answer.status_code == 400
    assert "expected key=value" in answer.json()["error"]


def test_mounted_under_a_prefix(index: ThreadIndex, emulator: Any) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    seed(index, 2)
    outer = Starlette(routes=[Mount("/threads", create_app(index, emulator.client(), token=TOKEN))])
    with TestClient(outer, base_url="http://127.0.0.1") as web:
        answer = web.get(f"/threads/?token={TOKEN}", follow_redirects=False)
        assert answer.headers["location"] == "/threads/"
        page = web.get("/threads/")
        assert page.status_code == 200
        assert 'href="/threads/static/app.css"' in page.text
        assert web.get("/threads/static/app.js").status_code == 200


def test_an_index_of_threads_reads_messages(emulator: Any) -> None:
    client = emulator.client()
    index = ThreadIndex.create(client, backend="threads")
    thread = index.create_child(messages=[{"role": "user", "content": "Hello <b>threads</b>"}])
    app = create_app(index, client, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as web:
        web.get(f"/?token={TOKEN}")
        page = web.get("/").text
        assert "Hello &lt;b&gt;threads&lt;/b&gt;" in page
        chat = web.get(f"/child/{thread.id}?partial=1").text
        assert 'class="message role-user"' in chat
        assert "Hello &lt;b&gt;threads&lt;/b&gt;" in chat
        assert web.get("/child/thread_nope").status_code == 404
    index.close()


def test_the_key_never_reaches_the_browser(emulator_factory: Any) -> None:
    key = "sk-test-secret-key-0123456789"
    emu = emulator_factory(api_key=key)
    client = emu.client(api_key=key)
    index = ThreadIndex.create(client, backend="conversations")
    ids = seed(index, 2)
    app = create_app(index, client, token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as web:
        web.get(f"/?token={TOKEN}")
        csrf = csrf_of(web.get("/").text)
        answers = [
            web.get("/"),
            web.get("/api/rows"),
            web.get("/api/stats"),
            web.get(f"/child/{ids[0]}"),
            web.get("/export.json"),
            web.get("/export.csv"),
            web.post("/api/verify", json={}, headers={"x-csrf-token": csrf}),
        ]
        for answer in answers:
            assert answer.status_code == 200
            assert key not in answer.text
            assert key not in str(answer.headers)
    index.close()
