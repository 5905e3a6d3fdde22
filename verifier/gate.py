"""Who may call the verifier's institution endpoints, and how often: the API key, and the
shared limits (:mod:`govcred.verifier.ratelimits`) on it, on the calling address, and on failed
keys from that address. Views call :func:`admitted_client` first; nothing else decides."""

from __future__ import annotations

from flask import current_app, request

from govcred.core.exceptions import AuthenticationRequired, RateLimited
from govcred.verifier.db import Client


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
    retry = limits.exhausted("failed-key", address, policy.failed_keys_per_address, now)
    if retry is not None:
        raise LimitReached(retry, "该地址的接入密钥错误次数过多，请稍后再试")
    try:
        client = recorder.authenticate(api_key)
    except AuthenticationRequired:
        if api_key:  # a key that was tried and failed: what guessing looks like
            limits.hit("failed-key", address, policy.failed_keys_per_address, now)
        raise
    if endpoint == VERIFY:
        counted = (
            ("verify-key", client.id, client.rate_per_minute),
            ("verify-address", address, policy.verify_per_address),
        )
    else:
        counted = (
            ("decode-key", client.id, policy.decodes_per_key),
            ("decode-address", address, policy.decodes_per_address),
        )
    for name, who, per_minute in counted:
        retry = limits.hit(name, who, per_minute, now)
        if retry is not None:
            raise LimitReached(retry)
    return client
