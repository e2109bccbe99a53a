"""Serving the app with uvicorn: the socket is bound first (port 0 picks a free one), so the
URL is known, and printed, before the first request. Access logs are off: a sign-in URL
holds the token."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The page's URL (without the token): the loopback name as given, else the address."""
    port = sock.getsockname()[1]
    shown = host.strip("[]")
    if shown in ("0.0.0.0", "::"):
        shown = socket.gethostname()
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def run(app: ASGIApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` in the foreground until Ctrl-C."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_url: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` (from ``create_app``) on ``host:port`` in the foreground until Ctrl-C.

    The socket is bound first, then ``on_url`` gets the page's URL (without the token), then
    requests are served. Raises ``OSError`` if the address cannot be bound.
    """
    sock = bind(host, port)
    try:
        if on_url is not None:
            on_url(url_of(sock, host))
        run(app, sock)
    finally:
        sock.close()
