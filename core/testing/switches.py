"""Skip, or fail, when a component a test needs is missing: the ``require`` switches.

On a laptop a test that needs PostgreSQL, Chromium or Redis is skipped when that component
is absent. CI sets ``GOVCRED_TEST_POSTGRES=require``, ``GOVCRED_TEST_BROWSER=require`` and
``GOVCRED_TEST_REDIS=require``: there the absence is a test error, so a green run cannot
hide tests that never ran.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

POSTGRES = "GOVCRED_TEST_POSTGRES"
BROWSER = "GOVCRED_TEST_BROWSER"
REDIS = "GOVCRED_TEST_REDIS"
SWITCHES = (POSTGRES, BROWSER, REDIS)


def required(switch: str) -> bool:
    """Whether ``switch`` (one of :data:`SWITCHES`) is set to ``require``."""
    return os.environ.get(switch, "").strip().lower() == "require"


def component_missing(switch: str, reason: str) -> NoReturn:
    """Skip the current test because ``reason``; fail it instead when ``switch`` is ``require``.

    Called from a fixture, the failure is reported as an error in the test's setup.
    """
    if required(switch):
        pytest.fail(f"{switch}=require, but {reason}", pytrace=False)
    pytest.skip(reason)
