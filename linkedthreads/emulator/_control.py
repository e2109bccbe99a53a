"""Who may call the control plane (``/_emulator/*``), and a client that may.

The control routes read every ID the emulator holds and wipe its state (and with it the
state file), so no web page the user happens to visit may reach them. A browser can send a
cross-origin form or ``fetch(..., {mode: "no-cors"})`` POST to ``127.0.0.1`` without asking,
but only with a ``Content-Type`` of a form or ``text/plain``, and it marks the request with
``Origin`` (and ``Sec-Fetch-Site``); anything else needs a CORS preflight, which the
emulator never grants. A page that rebinds its own host name to ``127.0.0.1`` sends its name
in ``Host``. So a control request is refused:

1. 403 if it carries an ``Origin`` that is not the emulator's own (``http://`` + ``Host``),
   or ``Sec-Fetch-Site`` saying it comes from another site;
2. without a control key, 403 if its ``Host`` is neither ``localhost`` (or a name under
   ``.localhost``) nor an IP address;
3. with a control key (setting ``control_key``, else ``api_key``), 401 unless it carries
   ``Authorization: Bearer <key>``;
4. for a POST, 415 unless its ``Content-Type`` is ``application/json``, and 400 unless its
   body is empty or a JSON object.

:func:`control_request` sends what these rules want, from any process.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from . import _errors as e
from ._settings import EmulatorSettings

__all__ = ["CONTROL_ACTIONS", "control_refusal", "control_request", "is_loopback"]

CONTROL_ACTIONS = {"stats": "GET", "objects": "GET", "reset_stats": "POST", "reset": "POST"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is reachable
    only from this machine: ``localhost``, a name under ``.localhost``, ``127.0.0.0/8``,
    ``::1``.

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "::")]
    [True, True, True, True, False, False]
    >>> is_loopback("192.168.1.5"), is_loopback("example.com")
    (False, False)
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The name or address of a ``Host`` header, without its port."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_address_or_localhost(host_header: str) -> bool:
    name = _host_name(host_header).rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _forbidden(message: str) -> e.APIError:
    return e.APIError(403, message, code="control_forbidden")


def control_refusal(
    method: str, headers: Headers, body: bytes, settings: EmulatorSettings
) -> e.APIError | None:
    """Why this control request is refused (an error answer), or ``None`` to serve it."""
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None and origin.strip().lower() != f"http://{host.strip().lower()}":
        return _forbidden(
            "The emulator's control routes refuse requests from web pages (Origin "
            f"{origin!r}); call them from a program, with Content-Type: application/json."
        )
    if headers.get("sec-fetch-site", "none").strip().lower() not in ("none", "same-origin"):
        return _forbidden("The emulator's control routes refuse requests from other sites.")
    key = settings.control_key if settings.control_key is not None else settings.api_key
    if key is None:
        if not _is_address_or_localhost(host):
            return _forbidden(
                f"The emulator's control routes answer only at localhost or an IP address, not "
                f"at {_host_name(host)!r}, unless a control key is set (control_key)."
            )
    else:
        scheme, _, given = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or given.strip() != key:
            return e.APIError(
                401,
                "The emulator's control routes need Authorization: Bearer <control key> "
                "(the control_key setting, else api_key).",
                type="invalid_request_error",
                code="invalid_api_key",
            )
    if method == "POST":
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            return e.APIError(
                415,
                "The emulator's control routes take Content-Type: application/json, not "
                f"{content_type or 'none'!r}.",
                code="unsupported_media_type",
            )
        if body.strip():
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                parsed = None
            if not isinstance(parsed, dict):
                return e.APIError(
                    400, "The body of a control request is empty or a JSON object.", param="body"
                )
    return None


def control_request(
    base_url: str, action: str, *, key: str | None = None, timeout: float = 30.0
) -> Any:
    """Call the control route ``action`` (``stats``, ``objects``, ``reset_stats``,
    ``reset``) of the emulator at ``base_url`` (``http://HOST:PORT/v1`` or without ``/v1``)
    and return its JSON answer; ``key``: the emulator's control key (or API key) if it has
    one. A refusal raises ``RuntimeError`` with the emulator's message."""
    if action not in CONTROL_ACTIONS:
        raise ValueError(f"unknown control action {action!r}; use one of {list(CONTROL_ACTIONS)}")
    root = base_url.rstrip("/").removesuffix("/v1")
    if urlsplit(root).scheme not in ("http", "https"):
        raise ValueError(f"expected an http:// URL, got {base_url!r}")
    method = CONTROL_ACTIONS[action]
    headers = {"Accept": "application/json"}
    data = None
    if method == "POST":
        headers["Content-Type"] = "application/json"
        data = b"{}"
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        f"{root}/_emulator/{action}", data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as err:
        try:
            message = json.load(err)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = err.reason
        raise RuntimeError(f"emulator control {action}: HTTP {err.code}: {message}") from None
