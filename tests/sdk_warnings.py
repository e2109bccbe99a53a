"""The one warning a test may let through: the SDK's own ``DeprecationWarning`` on
``client.beta.threads``, for tests that call those methods themselves (to build a fixture,
or to check the emulator). The library's calls never emit it (``test_deprecation.py``), so
no test ignores it globally (``filterwarnings = error`` in ``pyproject.toml``)."""

from __future__ import annotations

import pytest

__all__ = ["OWN_THREADS_CALLS"]

OWN_THREADS_CALLS = pytest.mark.filterwarnings(
    "ignore:The Assistants API is deprecated:DeprecationWarning"
)
"""Mark a test (or a module, ``pytestmark = OWN_THREADS_CALLS``) that calls
``client.beta.threads`` itself."""
