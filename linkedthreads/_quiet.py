"""The SDK's threads methods without the ``DeprecationWarning`` each call emits.

openai 3.x marks every ``client.beta.threads`` method with ``typing_extensions.deprecated``
(PEP 702): a wrapper that warns, then calls the method. The library calls those methods on
the user's behalf, dozens of times an operation, so it must not make a user who runs with
warnings as errors fail (the library says what matters in its own words:
``BackendUnavailableError`` names the 2026-08-26 sunset). ``warnings.catch_warnings`` would
do it by changing the process-wide filters, which is not thread-safe; instead the call goes
to the method the wrapper wraps (``functools.wraps`` keeps it in ``__wrapped__``), on the
same resource object, with the same arguments: the same SDK code sends the same request.
"""

from __future__ import annotations

import types
from typing import Any

__all__ = ["quiet"]


def quiet(method: Any) -> Any:
    """``method`` (a bound SDK method) without its deprecation wrapper, if it has one.

    Anything else (a method that is not marked deprecated, a test double, a future SDK that
    drops the mark) comes back unchanged.
    """
    func = getattr(method, "__func__", None)
    if func is None or getattr(func, "__deprecated__", None) is None:
        return method
    inner = getattr(func, "__wrapped__", None)
    if not callable(inner):
        return method
    return types.MethodType(inner, method.__self__)
