"""``Idempotency-Key`` on our own POST endpoints (draft-ietf-httpapi-idempotency-key-header; R-05).

The key (a UUID, as an sf-string or bare) is scoped to ``(principal, route, key)``; the
request body's SHA-256 over canonical JSON is its fingerprint. First request: processed,
and a 2xx response is stored for 24 hours. Same key, same body, after completion: the stored
response is replayed (``Idempotent-Replayed: true``). Same key, different body: 422. Same
key while the first request is still being processed: 409. No key: 400. A request that
fails releases its key, so the client can retry with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid

import sqlalchemy as sa
from flask import jsonify, request
from sqlalchemy.exc import IntegrityError

from govcred.core.exceptions import Conflict, FieldError, GovcredError, ValidationError
from govcred.core.orm import idempotency_keys
from govcred.core.web.authn import current_principal
from govcred.core.web.context import runtime_of

TTL = dt.timedelta(hours=24)
HEADER = "Idempotency-Key"
IN_FLIGHT, DONE = "in_flight", "done"

OPENAPI_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": True,
    "description": "A UUID per logical request (sf-string). Same key + same body within 24 h replays the "
    "stored response; a different body gives 422; a request still in flight gives 409.",
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
    except ValueError:
        canonical = body
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + canonical).hexdigest()


def _claim(rt, scope: dict, fingerprint: str):
    """Insert the in-flight row; or return the existing, unexpired one."""
    where = sa.and_(*(getattr(idempotency_keys.c, k) == v for k, v in scope.items()))
    for _attempt in range(2):
        now = rt.clock.now()
        with rt.uow() as uow:
            row = uow.session.execute(sa.select(idempotency_keys).where(where)).mappings().first()
            if row is not None and row["expires_at"] <= now:
                uow.session.execute(sa.delete(idempotency_keys).where(where))
                row = None
            if row is not None:
                return row
            try:
                uow.session.execute(
                    sa.insert(idempotency_keys).values(
                        **scope, fingerprint=fingerprint, state=IN_FLIGHT, created_at=now, expires_at=now + TTL
                    )
                )
                uow.commit()
                return None
            except IntegrityError:  # another request with the same key got there first
                uow.rollback()
    raise Conflict("相同的 Idempotency-Key 请求正在处理中", code="IDEMPOTENCY_IN_FLIGHT")


def idempotent(view):
    """View decorator (inside the authentication decorator): R-05 semantics for one POST route."""

    @functools.wraps(view)
    def inner(*args, **kwargs):
        rt = runtime_of()
        principal = current_principal()
        scope = {
            "principal": principal.audit_actor[:64] if principal else "anonymous",
            "route": f"{request.method} {request.path}"[:128],
            "key": _key(),
        }
        fingerprint = _fingerprint()
        where = sa.and_(*(getattr(idempotency_keys.c, k) == v for k, v in scope.items()))
        existing = _claim(rt, scope, fingerprint)
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise ValidationError(
                    [FieldError(HEADER, "IDEMPOTENCY_KEY_REUSED", "该 Idempotency-Key 已用于另一个请求内容")]
                )
            if existing["state"] != DONE:
                raise Conflict("相同的 Idempotency-Key 请求正在处理中", code="IDEMPOTENCY_IN_FLIGHT")
            response = jsonify(existing["response"])
            response.status_code = existing["status_code"]
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = view(*args, **kwargs)
        except BaseException:
            with rt.uow() as uow:
                uow.session.execute(sa.delete(idempotency_keys).where(where))
                uow.commit()
            raise
        with rt.uow() as uow:
            if 200 <= response.status_code < 300 and response.is_json:
                uow.session.execute(
                    sa.update(idempotency_keys)
                    .where(where)
                    .values(state=DONE, status_code=response.status_code, response=response.get_json())
                )
            else:
                uow.session.execute(sa.delete(idempotency_keys).where(where))
            uow.commit()
        return response

    return inner
