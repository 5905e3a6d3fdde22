"""``Idempotency-Key`` on our own POST endpoints (draft-ietf-httpapi-idempotency-key-header; R-05).

The key (a UUID, as an sf-string or bare) is scoped to ``(principal, route, key)``; the
request body's SHA-256 over canonical JSON is its fingerprint. First request: processed;
its change and its 2xx response commit together and the response is kept (sealed) for 24
hours. Same key, same body, after completion: the stored response is replayed
(``Idempotent-Replayed: true``). Same key, different body: 422. Same key while the first
request holds its lease (seconds): 409 with ``Retry-After``. No key: 400. A request that
fails, or dies, changes nothing and leaves the key free (at once, or when its lease runs
out), so the client can retry with it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid

from flask import current_app, jsonify, request

from govcred.core.exceptions import FieldError, GovcredError, ValidationError
from govcred.core.idempotency import (
    IdempotencyInFlight,
    IdempotencyLeaseLost,
    RequestAborted,
    Scope,
    StoredAnswer,
    bound,
)
from govcred.core.web.authn import current_principal
from govcred.core.web.context import runtime_of
from govcred.core.web.errors import problem

HEADER = "Idempotency-Key"

OPENAPI_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": True,
    "description": "A UUID per logical request (sf-string). Same key + same body within 24 h replays the "
    "stored response; a different body gives 422; a request still in flight gives 409 with Retry-After.",
    "schema": {"type": "string"},
}


class IdempotencyKeyMissing(GovcredError):
    """This endpoint needs an Idempotency-Key header."""

    code = "IDEMPOTENCY_KEY_REQUIRED"
    http_status = 400


def _key() -> str:
    raw = request.headers.get(HEADER, "").strip()
    if not raw:
        raise IdempotencyKeyMissing("请求头缺少 Idempotency-Key（UUID）")
    value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError([FieldError(HEADER, "IDEMPOTENCY_KEY_INVALID", "Idempotency-Key 必须是 UUID")]) from None


def _fingerprint() -> str:
    body = request.get_data()
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, RecursionError):
        # not JSON, or nested past what the parser recurses into: the bytes are the
        # fingerprint, and the view's own reading answers what is wrong with the body
        canonical = body
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + canonical).hexdigest()


def idempotent(view):
    """View decorator (inside the authentication decorator): R-05 semantics for one POST route.

    The lease, the view's change and the stored answer: ``govcred.core.idempotency``.
    """

    @functools.wraps(view)
    def inner(*args, **kwargs):
        rt = runtime_of()
        principal = current_principal()
        scope = Scope(
            principal=principal.audit_actor[:64] if principal else "anonymous",
            route=f"{request.method} {request.path}"[:128],
            key=_key(),
        )
        store = rt.idempotency
        try:
            outcome = store.claim(scope, _fingerprint())
        except IdempotencyInFlight as exc:
            return _in_flight(exc)
        if isinstance(outcome, StoredAnswer):
            return _replay(outcome)
        claim = outcome
        with bound(claim):
            try:
                response = view(*args, **kwargs)
            except IdempotencyLeaseLost as exc:
                store.release(claim)
                return _in_flight(IdempotencyInFlight(1), exc.message)
            except GovcredError as exc:
                if claim.session is None:
                    store.release(claim)
                    raise
                # a use case that commits and then refuses (a recorded refusal): the change
                # stays, and its refusal is the answer a retry gets
                response = current_app.make_response(current_app.handle_user_exception(exc))
            except BaseException:
                store.release(claim)
                raise
        if claim.poisoned:
            store.release(claim)
            raise RequestAborted("请求未能完成，未做任何更改，请使用同一 Idempotency-Key 重试")
        if claim.session is None and not 200 <= response.status_code < 300:
            store.release(claim)  # nothing changed: the client may retry with the same key
            return response
        headers = {"Location": response.headers["Location"]} if "Location" in response.headers else {}
        try:
            store.complete(claim, StoredAnswer(response.status_code, response.get_json(silent=True), headers))
        except BaseException:
            store.release(claim)
            raise
        return response

    return inner


def _replay(answer: StoredAnswer):
    response = jsonify(answer.body)
    response.status_code = answer.status_code
    response.headers.update(answer.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _in_flight(exc: IdempotencyInFlight, message: str | None = None):
    response = problem(409, exc.code, message or exc.message)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
