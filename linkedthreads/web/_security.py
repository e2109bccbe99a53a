"""The rules every request passes before a route sees it (a page that deletes conversations
is a target):

- the Host header must name this server (``allowed_hosts``): a DNS-rebinding page, whose
  requests carry its own host name, is refused;
- a random token, given once in the printed URL, becomes an HttpOnly, SameSite=Strict cookie
  (as Jupyter does); a request without it is refused;
- every state-changing request is a POST that carries the CSRF token in a header
  (``X-CSRF-Token``) and, if the browser sends one, an Origin of this server: a cross-site
  form cannot set the header, a cross-site script cannot read the token;
- every answer forbids inline script and framing (Content-Security-Policy), sniffing and
  referrers (the URL holds the token), and caching.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from collections.abc import Iterable
from urllib.parse import urlencode

from starlette.datastructures import URL, Headers, QueryParams
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
CSRF_HEADER = "x-csrf-token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
SAFE_METHODS = ("GET", "HEAD")


def derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def host_name(host_header: str) -> str:
    """The host of a Host header, without its port (``[::1]:80`` -> ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _refusal(message: str, status: int = 403, root: str = "") -> Response:
    """A short page saying why (``message`` is ours, never the request's)."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>linkedthreads: refused</title>"
        f'<link rel=stylesheet href="{html.escape(root)}/static/app.css">'
        f'<main class="refused"><h1>Refused</h1><p>{message}</p></main></html>'
    )
    return HTMLResponse(body, status_code=status)


class Guard:
    """ASGI middleware applying the rules above to everything under it."""

    def __init__(
        self, app: ASGIApp, *, token: str, allowed_hosts: Iterable[str] = LOOPBACK_HOSTS
    ) -> None:
        self.app = app
        self.token = token
        self.allowed = {h.lower().strip("[]") for h in allowed_hosts}
        self.session = derive(token, "session")
        self.csrf = derive(token, "csrf")
        self.cookie = "linkedthreads_" + derive(token, "cookie-name")[:10]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        response = self.check(scope)
        if response is not None:
            await response(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)

    def check(self, scope: Scope) -> Response | None:
        """None if the request may go on, else the answer that refuses it."""
        headers = Headers(scope=scope)
        root = str(scope.get("root_path", "")).rstrip("/")
        host = headers.get("host", "")
        if not host or host_name(host) not in self.allowed:
            return _refusal(
                "This server only answers requests addressed to it (wrong Host header).",
                421,
                root=root,
            )
        path = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
        method = scope["method"]
        if path.startswith("/static/") and method in SAFE_METHODS:
            return None
        url = URL(scope=scope)
        query = QueryParams(scope.get("query_string", b""))
        given = query.get("token")
        if given is not None and method in SAFE_METHODS:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _refusal(
                    "Wrong token: open the URL printed by 'linkedthreads serve'.", root=root
                )
            rest = [(k, v) for k, v in query.multi_items() if k != "token"]
            target = url.path + (f"?{urlencode(rest)}" if rest else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(
                self.cookie,
                self.session,
                httponly=True,
                samesite="strict",
                path=(root or "") + "/",
            )
            return redirect
        cookie = _cookie(headers, self.cookie)
        if cookie is None or not hmac.compare_digest(cookie.encode(), self.session.encode()):
            return _refusal(
                "Not signed in: open the URL (with its token) that 'linkedthreads serve' "
                "printed in its terminal.",
                root=root,
            )
        if method not in SAFE_METHODS:
            if method != "POST":
                return _refusal("Only GET and POST requests are served.", 405, root=root)
            origin = headers.get("origin")
            if origin is not None and URL(origin).netloc.lower() != host.lower():
                return _refusal(
                    "Cross-site request refused (its Origin is another site).", root=root
                )
            csrf = headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
                return _refusal(
                    "Missing or wrong CSRF token: reload the page and try again.", root=root
                )
        return None


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None
