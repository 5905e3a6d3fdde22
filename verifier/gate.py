"""Who may call the verifier's institution endpoints, and how often: the API key, and the
shared limits (:mod:`govcred.verifier.ratelimits`) on it, on the calling address, and on failed
keys from that address. Views call :func:`admitted_client` first; nothing else decides."""

from __future__ import annotations

import hmac
import logging

from flask import current_app, request

from govcred.core.exceptions import AuthenticationRequired, GovcredError, NotFound, RateLimited, StorageFull
from govcred.core.outages import outage_kind
from govcred.verifier.db import Client

log = logging.getLogger("govcred.verifier.gate")


class LimitsUnavailable(GovcredError):
    """The shared limit counters (Redis, or the verifier database) cannot be reached."""

    code = "LIMITS_UNAVAILABLE"
    http_status = 503


#: what a client is told to wait on a 503 (the shared counters unreachable, a process not ready),
#: as the issuer's outages say it
RETRY_AFTER_SECONDS = 5


class LimitReached(RateLimited):
    """Too many requests in this window; ``retry_after`` seconds until the next one."""

    def __init__(self, retry_after: int, message: str = "请求过于频繁，请稍后再试"):
        super().__init__(message)
        self.retry_after = retry_after


#: The limits an endpoint counts besides the failed keys: (name, whose, per-minute figure).
VERIFY, DECODE = "verify", "decode"


def admitted_client(api_key: str | None, *, endpoint: str) -> Client:
    """The institution calling, once every limit admitted it; LimitReached or
    AuthenticationRequired otherwise."""
    state = current_app.extensions["verifier"]
    limits, policy = state.limits, state.limits.policy
    recorder = current_app.extensions["verifier_requests"]
    address, now = request.remote_addr or "-", state.cache.now()
    guard = _failed_key_guard(limits, address)
    try:
        client = recorder.authenticate(api_key)  # from memory: no round trip
    except AuthenticationRequired:
        refuse_while_guessing()
        if api_key:
            count_failed_guess()
        raise
    if endpoint == VERIFY:
        counted = [
            ("verify-key", client.id, client.rate_per_minute),
            ("verify-address", address, policy.verify_per_address),
        ]
    else:
        counted = [
            ("decode-key", client.id, policy.decodes_per_key),
            ("decode-address", address, policy.decodes_per_address),
        ]
    if recorder.backlogged():  # the verification log cannot be written: nothing answered unlogged
        raise StorageFull(STORAGE_FULL_MESSAGE)
    try:
        retry = limits.admit(guard, counted, now)  # also refused while the address is guessing keys
    except Exception as exc:  # without the shared counters nothing is admitted unlimited
        kind = outage_kind(exc)
        if kind is None:
            log.exception("shared limits unavailable")
        else:  # expected, and passes: one line, no traceback
            log.warning("shared limits unavailable: %s (%s)", kind, type(exc).__name__)
        if kind == "disk full":  # nothing a retry in 5 s mends: the operator must free space
            raise StorageFull(STORAGE_FULL_MESSAGE) from None
        raise LimitsUnavailable("核验服务暂时不可用，请稍后再试", retry_after=RETRY_AFTER_SECONDS) from None
    if retry is not None:
        if limits.exhausted(*guard, now) is not None:
            raise LimitReached(retry, FAILED_KEYS_MESSAGE)
        raise LimitReached(retry)
    return client


def admitted_scraper(token: str | None) -> None:
    """The operator's metrics scraper, by the bearer token the configuration names: NotFound
    while none is configured (the endpoint is off), AuthenticationRequired for another one
    (counted as a failed key of the address), LimitReached while the address is guessing."""
    wanted = current_app.extensions["verifier"].config.metrics_token
    if not wanted:
        raise NotFound("未启用指标接口：请设置 GOVCRED_VERIFIER_METRICS_TOKEN", code="METRICS_DISABLED")
    refuse_while_guessing()
    if not (token and hmac.compare_digest(token.encode(), wanted.encode())):
        if token:
            count_failed_guess()
        raise AuthenticationRequired(
            "需要有效的指标令牌", code="METRICS_TOKEN_INVALID" if token else "METRICS_TOKEN_REQUIRED"
        )


def refuse_while_guessing() -> None:
    """LimitReached while this address has used up its failed keys (API keys, the metrics
    token): it is then not even told whether the secret it sends is right."""
    state = current_app.extensions["verifier"]
    now = state.cache.now()
    retry = state.limits.exhausted(*_failed_key_guard(state.limits, request.remote_addr or "-"), now)
    if retry is not None:
        raise LimitReached(retry, FAILED_KEYS_MESSAGE) from None


def count_failed_guess() -> None:
    """A secret that was tried and failed: what guessing looks like."""
    state = current_app.extensions["verifier"]
    state.limits.hit(*_failed_key_guard(state.limits, request.remote_addr or "-"), state.cache.now())


def _failed_key_guard(limits, address: str) -> tuple[str, str, int]:
    return ("failed-key", address, limits.policy.failed_keys_per_address)


FAILED_KEYS_MESSAGE = "该地址的接入密钥错误次数过多，请稍后再试"
STORAGE_FULL_MESSAGE = "核验服务的存储空间已满，本次未核验：请稍后再试，并告知核验服务管理员"
