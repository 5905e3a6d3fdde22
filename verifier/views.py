"""HTTP API of the verifier service.

``POST /api/v1/verify`` (institutions, API key, rate-limited): the answer has exactly the keys
of :meth:`verifier.check.Answer.as_json` -- validity, reason codes, kind, masked holder,
county, the benefit asked about, the time. Every verification is logged without personal data.
``GET /api/v1/verifications`` (the holder, with a presentation of the credential made for
the log): which institutions verified it, and when.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, current_app, g, jsonify, request

from govcred.core.claims import CREDENTIAL_ID, LOG_AUDIENCE
from govcred.core.exceptions import AuthenticationRequired, ErrorList, GovcredError, VerificationError
from govcred.core.qr import decode_image
from govcred.core.readiness import readiness_answer
from govcred.core.tokens import PRESENTATION, peek_unverified_issuer, verify_token
from govcred.core.web import request_metrics
from govcred.core.web.errors import problem, register_error_handlers
from govcred.core.web.jsonbody import json_body
from govcred.core.web.security import SecurityHeaders
from govcred.verifier import metrics
from govcred.verifier.check import BENEFIT_CODE
from govcred.verifier.db import RequestRecorder, verifications_of
from govcred.verifier.gate import RETRY_AFTER_SECONDS, VERIFY, LimitReached, admitted_client, admitted_scraper
from govcred.verifier.health import readiness

log = logging.getLogger("govcred.verifier.http")

MAX_TEXT_CHARS = 10_000
_INPUTS = ("qr", "token")


def init_app(app: Flask) -> None:
    register_error_handlers(app)
    recorder = RequestRecorder(app.extensions["verifier"].engine)
    app.extensions["verifier_requests"] = recorder
    if app.extensions["verifier"].config.background_refresh:
        recorder.start()

    @app.errorhandler(LimitReached)
    def _limited(exc: LimitReached):
        response = problem(429, exc.code, exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.before_request
    def _request_id() -> None:
        g.request_id = secrets.token_hex(8)

    @app.after_request
    def _headers(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if response.status_code == 401:  # RFC 9110: a 401 says how to authenticate (API key, metrics token)
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="govcred-verifier"')
        return response

    app.wsgi_app = SecurityHeaders(app.wsgi_app)

    request_metrics.install(app)
    app.add_url_rule("/api/v1/verify", "verify", verify, methods=["POST"])
    app.add_url_rule("/api/v1/verifications", "verifications", verifications, methods=["GET"])
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])


def _state():
    return current_app.extensions["verifier"]


def _api_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.headers.get("X-Api-Key")


def _read_input() -> tuple[object, str | None]:
    """The thing to verify and the benefit asked about; every problem reported at once."""
    errors = ErrorList()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        benefit = request.form.get("benefit") or None
        data = upload.read() if upload is not None else None
        if not data:
            errors.add("image", "REQUIRED", "请上传二维码图片（字段 image）")
        extra = sorted((set(request.form) - {"benefit"}) | (set(request.files) - {"image"}))
    else:
        body = json_body()
        given = [k for k in _INPUTS if k in body]
        benefit = body.get("benefit")
        data = body.get(given[0]) if len(given) == 1 else None
        if not given:
            errors.add("qr", "REQUIRED", "请提供 qr（扫码所得文字）或 token 其中之一")
        elif len(given) != 1:
            errors.add("qr", "ONE_INPUT", "请只提供 qr 或 token 其中之一")
        elif not isinstance(data, str) or not data or len(data) > MAX_TEXT_CHARS:
            errors.add(given[0], "INVALID", f"{given[0]} 必须是非空字符串，最多 {MAX_TEXT_CHARS} 个字符")
        extra = sorted(set(body) - {"qr", "token", "benefit"})
    if extra:
        errors.add(extra[0], "UNKNOWN_FIELD", f"不支持的字段：{', '.join(extra)[:100]}")
    if benefit is not None and (not isinstance(benefit, str) or not BENEFIT_CODE.fullmatch(benefit)):
        errors.add("benefit", "INVALID", "benefit 必须是权益代码，例如 compulsory_education")
    elif benefit is not None and (why := _state().verifier.unknown_benefit(benefit)):
        errors.add("benefit", "UNKNOWN_BENEFIT", why)
    errors.raise_if_any()
    return data, benefit


class ImageWithoutQr(GovcredError):
    """The uploaded image holds no QR code (or is no image): the operator's to fix, not an answer."""

    code = "QR_NOT_FOUND"
    http_status = 422


def _token_in_image(data: bytes) -> str | bytes:
    """The QR text of an uploaded photo. A photo without a readable QR is a mistake at the
    counter (a blurred shot, the wrong picture): 422 saying so, never a red "无效" answer."""
    try:
        return decode_image(data)
    except VerificationError as exc:
        if exc.detail in ("QR_NOT_FOUND", "IMAGE_INVALID", "IMAGE_TOO_LARGE"):
            raise ImageWithoutQr(NO_QR_MESSAGES[exc.detail], code=exc.detail) from None
        return data  # a QR that is there but is not ours: the verifier answers why


NO_QR_MESSAGES = {
    "QR_NOT_FOUND": "图片中没有找到二维码：请重新拍摄，让二维码完整、清晰地出现在画面中。",
    "IMAGE_INVALID": "无法读取该文件：请上传 PNG 或 JPEG 格式的照片或截图。",
    "IMAGE_TOO_LARGE": "图片尺寸过大：请裁剪到二维码附近后重新上传。",
}


def _recorder() -> RequestRecorder:
    return current_app.extensions["verifier_requests"]


def verify():
    state, recorder = _state(), _recorder()
    now = state.cache.now()
    client = admitted_client(_api_key(), endpoint=VERIFY)
    data, benefit = _read_input()
    if isinstance(data, bytes):
        data = _token_in_image(data)
    answer = state.verifier.verify_text(data, benefit=benefit)
    metrics.count(answer)
    recorder.record(
        client_id=client.id,
        at=_aware(now),
        credential_id=answer.credential_id,
        kind=answer.kind,
        valid=answer.valid,
        reasons=answer.reasons,
    )
    log.info(
        "verification client=%s valid=%s reasons=%s detail=%s",
        client.id,
        answer.valid,
        ",".join(answer.reasons),
        answer.detail,
    )
    response = jsonify(answer.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response


def verifications():
    state = _state()
    header = request.headers.get("Authorization", "")
    if not header.startswith("Presentation "):
        raise AuthenticationRequired("需要持证人出示凭证", code="PRESENTATION_REQUIRED")
    token = header[len("Presentation ") :].strip()
    try:
        keys = state.cache.keyset(peek_unverified_issuer(token))
        claims = verify_token(
            token,
            PRESENTATION,
            keys,
            issuers=state.cache.issuers,
            clock=state.cache.clock,
            leeway=state.config.leeway,
            audience=LOG_AUDIENCE,
        ).claims
    except VerificationError as exc:
        log.info("verification-log request refused: %s %s", exc.reason, exc.detail)
        raise AuthenticationRequired("出示凭证无效或已过期", code="PRESENTATION_INVALID") from None
    credential_id = claims.get(CREDENTIAL_ID)
    if not isinstance(credential_id, str) or not credential_id:
        raise AuthenticationRequired("出示凭证无效或已过期", code="PRESENTATION_INVALID")
    _recorder().flush()  # this process's latest rows too
    response = jsonify({"verifications": verifications_of(state.engine, credential_id)})
    response.headers["Cache-Control"] = "no-store"
    return response


def healthz():
    """503 until the start-up refresh holds every trusted issuer's keys and lists, so that a
    load balancer sends nothing that would be answered STATUS_UNAVAILABLE only for that."""
    cache = _state().cache
    body = {"ready": cache.ready, "issuers": len(cache.issuers), "refresh_problems": len(cache.last_problems)}
    response = jsonify(body)
    response.status_code = 200 if cache.ready else 503
    return response


def readyz():
    """Ready to be sent requests: the database with its tables, the shared store and the
    start-up refresh (verifier/health.py); 503 with Retry-After otherwise, naming what failed."""
    body, status, headers = readiness_answer(readiness(_state()), RETRY_AFTER_SECONDS)
    return jsonify(body), status, headers


def metrics_view():
    """Prometheus text for the operator's scraper (``Authorization: Bearer`` the metrics token;
    verifier/gate.py decides); 404 while no token is configured."""
    header = request.headers.get("Authorization", "")
    admitted_scraper(header[7:].strip() if header.startswith("Bearer ") else None)
    return metrics.exposition(_state().cache)


def _aware(ts: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC)
