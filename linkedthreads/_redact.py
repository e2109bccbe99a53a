"""Masking credentials in text a server sent (or anything else that reaches a message).

A server may echo what it was sent: the API key, the ``Authorization`` header, the
organisation and project IDs. :func:`redact` removes the values the caller configured and
anything shaped like one of them (``sk-...``, ``sess-...``, ``Bearer ...``, ``Basic ...``,
``org-...``, ``proj_...``), and :func:`clip` bounds a server's text to one short line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "clip", "redact", "secrets_of"]

MASK = "[redacted]"

# Not preceded by a letter or digit, so "task-..." or "cyborg-..." are left alone.
_SHAPED = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-[A-Za-z0-9_\-*]{6,}"
    r"|sess-[A-Za-z0-9_\-]{6,}"
    r"|org-[A-Za-z0-9_\-]{6,}"
    r"|proj_[A-Za-z0-9_\-]{4,}"
    r"|(?:Bearer|Basic)\s+\S+"
    r")",
    re.IGNORECASE,
)
_MIN_SECRET = 6  # shorter configured values ("k", "test") would mask ordinary words


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every value of ``secrets`` and every key-, organisation- or
    project-shaped string replaced by ``[redacted]``."""
    for value in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len)[::-1]:
        text = text.replace(value, MASK)
    return _SHAPED.sub(MASK, text)


def clip(text: str, limit: int = 500) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "api-key",
        "x-api-key",
        "openai-organization",
        "openai-project",
    }
)


def secrets_of(client: object) -> tuple[str, ...]:
    """The credentials an ``openai`` client was configured with: key, organisation, project,
    and the values of credential headers among its default headers (a cookie, say)."""
    names = ("api_key", "organization", "project", "webhook_secret", "_azure_ad_token")
    values = [getattr(client, name, None) for name in names]
    headers = getattr(client, "default_headers", None)
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() in _SECRET_HEADERS:
                values.append(value)
                if isinstance(value, str):
                    values.append(value.partition(" ")[2])  # the token after "Bearer"
    return tuple(v for v in values if isinstance(v, str) and v)
