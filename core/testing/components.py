"""Where the test kit finds Chromium and Redis; each missing one is skipped or failed
according to its ``require`` switch (:mod:`govcred.testing.switches`)."""

from __future__ import annotations

import os
from pathlib import Path

from govcred.testing.switches import BROWSER, REDIS, component_missing

#: Debian's Chromium; Playwright drives it and never downloads a browser of its own.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: A database number of its own: the fixture flushes it before and after every test.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def chromium_path() -> Path:
    return Path(os.environ.get("GOVCRED_TEST_CHROMIUM", DEFAULT_CHROMIUM))


def redis_url() -> str:
    return os.environ.get("GOVCRED_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def require_chromium(path: Path | None = None) -> Path:
    """Chromium's path (``GOVCRED_TEST_CHROMIUM``, else Debian's) when it is there and
    Playwright is installed; else skip (or fail)."""
    path = path or chromium_path()
    if not path.exists():
        component_missing(BROWSER, f"{path} is absent (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        component_missing(BROWSER, "Playwright is not installed (pip install -e '.[test]')")
    return path


def connect_redis(url: str | None = None):
    """A client of the Redis server at ``url`` (``GOVCRED_TEST_REDIS_URL``, else db 15 on
    127.0.0.1:6379) that answered a PING; else skip (or fail)."""
    url = url or redis_url()
    try:
        import redis
    except ImportError:
        component_missing(REDIS, "the redis package is not installed (pip install -e '.[test]')")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        component_missing(REDIS, f"no Redis server answers at {url} ({exc})")
    return client
