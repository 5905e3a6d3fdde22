"""One outbound HTTP request of a delivery channel, with the error mapping every gateway shares.

Channel handlers (SMS gateways, the provincial platform) call :func:`send` and get either
the 2xx response or one of the two delivery errors the worker understands: a retry may
help (408/425/429/5xx, timeouts, refused or reset connections) or it will not (any other
4xx). Timeouts are always set, so a hanging gateway costs at most connect + read seconds.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping

import requests

from govcred.core.exceptions import PermanentDeliveryError, RetryableDeliveryError

#: (connect, read) seconds.
DEFAULT_TIMEOUT = (3.0, 10.0)
RETRYABLE_STATUS = frozenset({408, 425, 429})
_LONG_DIGITS = re.compile(r"\d{7,}")


def send(
    method: str,
    url: str,
    *,
    data: bytes | Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
) -> requests.Response:
    """Send one request; return the 2xx response or raise a delivery error naming the cause."""
    http = session or requests
    try:
        response = http.request(
            method, url, data=data, headers=dict(headers or {}), timeout=timeout, allow_redirects=False
        )
    except requests.Timeout as exc:
        raise RetryableDeliveryError(f"{url}: timed out ({type(exc).__name__})") from exc
    except requests.ConnectionError as exc:
        raise RetryableDeliveryError(f"{url}: connection failed ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        # an invalid URL or a malformed response: the configuration, not the network
        raise PermanentDeliveryError(f"{url}: request failed ({type(exc).__name__}: {exc})") from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = f"{url}: HTTP {status} {safe_excerpt(response.text)!r}"
    if status in RETRYABLE_STATUS or status >= 500:
        raise RetryableDeliveryError(
            detail, retry_after=retry_after_seconds(response.headers.get("Retry-After")), status=status
        )
    raise PermanentDeliveryError(detail, status=status)


def safe_excerpt(text: str, limit: int = 200) -> str:
    """The start of a gateway's answer for an error message, long digit runs (a phone or ID
    number the gateway echoed back) masked: error texts end up in logs and the outbox table."""
    return _LONG_DIGITS.sub("***", text[:limit])


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())
