"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``code``; no tracebacks."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from govcred.core.exceptions import (
    GovcredError,
    ServiceUnavailable,
    StorageFull,
    ValidationError,
    VerificationError,
)
from govcred.core.outages import RETRY_AFTER_SECONDS, database_unavailable, storage_full

log = logging.getLogger("govcred.web")

PROBLEM = "application/problem+json"


#: what the caller reads for an HTTP error raised without a message of govcred's own (an unknown
#: address, a wrong method, a body over the size limit): werkzeug's own texts are English
HTTP_TITLES = {
    400: "请求无效，请检查后重试",
    401: "请先登录",
    403: "没有权限进行此操作",
    404: "找不到该网址，请检查输入是否正确",
    405: "该网址不支持此请求方法",
    409: "请求与当前状态冲突，请刷新后重试",
    415: "不支持的请求内容类型",
    429: "请求过于频繁，请稍后再试",
}


def http_title(exc: HTTPException) -> str:
    """The Chinese title of an HTTP error: the description govcred gave it (``abort(403,
    description=...)``), else one naming what is wrong instead of werkzeug's English text."""
    if exc.description and exc.description != type(exc).description:
        return exc.description
    status = exc.code or 500
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            return f"提交的内容过大：一次最多 {limit / (1024 * 1024):g} MB，请压缩或裁剪后重试"
        return "提交的内容过大，请压缩或裁剪后重试"
    if status in HTTP_TITLES:
        return HTTP_TITLES[status]
    return f"请求未能处理（HTTP {status}）" if status < 500 else "服务器内部错误，请稍后再试"


def problem(status: int, code: str, title: str, **extra):
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "code": code,
        "request_id": g.get("request_id", ""),
    }
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


def with_retry_after(response, exc: GovcredError):
    """A refusal that says when to come back (a rate limit) carries ``Retry-After`` in seconds."""
    retry_after = exc.details.get("retry_after")
    if isinstance(retry_after, int) and retry_after >= 0:
        response.headers["Retry-After"] = str(max(1, retry_after))
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        return problem(exc.http_status, exc.code, exc.message, errors=[e.as_dict() for e in exc.errors])

    @app.errorhandler(VerificationError)
    def _verification(exc: VerificationError):
        return problem(exc.http_status, exc.code, exc.message, reason=exc.reason)

    @app.errorhandler(GovcredError)
    def _govcred(exc: GovcredError):
        if isinstance(exc, ServiceUnavailable | StorageFull):
            return outage_problem(exc)
        if exc.http_status >= 500:
            log.error("request %s failed: %s", g.get("request_id", ""), exc.code)
        return with_retry_after(problem(exc.http_status, exc.code, exc.message), exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        codes = {
            400: "BAD_REQUEST",
            401: "AUTHENTICATION_REQUIRED",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            409: "CONFLICT",
            413: "PAYLOAD_TOO_LARGE",
            415: "UNSUPPORTED_MEDIA_TYPE",
            429: "RATE_LIMITED",
        }
        if _wants_a_page():  # the page blueprints' own error page
            return render_error(exc.code or 500, http_title(exc))
        return problem(exc.code or 500, codes.get(exc.code or 500, "HTTP_ERROR"), http_title(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        outage = outage_of(exc)
        if outage is not None:
            return outage_problem(outage)
        log.exception("unhandled error in request %s", g.get("request_id", ""))
        return problem(500, "INTERNAL_ERROR", "服务器内部错误，请稍后再试")


def render_error(status: int, message: str):
    """The error page (``error.html``, with 返回首页 and the request id) for ``status``."""
    return render_template("error.html", status=status, message=message, request_id=g.get("request_id", "")), status


def _wants_a_page() -> bool:
    """A browser asking the issuer for a page that is not there (a mistyped or stale address,
    a wrong method): it gets the error page with 返回首页, not a JSON document. The API, and
    apps without the issuer's pages (the verifier), answer problem+json."""
    return (
        "home" in current_app.blueprints
        and not request.path.startswith("/api/")
        and any(value == "text/html" for value, _quality in request.accept_mimetypes)  # a browser names it
    )


def outage_of(exc: BaseException) -> GovcredError | None:
    """The outage ``exc`` stands for (database unreachable: 503; disk full: 507), logged once
    without a traceback, or None when it is a bug. The transaction was rolled back: nothing
    of the request was kept, so the client may simply retry."""
    if isinstance(exc, ServiceUnavailable | StorageFull):
        return exc
    if storage_full(exc):
        log.error("request %s: storage full (%s)", g.get("request_id", ""), type(exc).__name__)
        return StorageFull("存储空间已满，本次提交未保存，请联系管理员后再试")
    if database_unavailable(exc):
        log.warning("request %s: database unavailable (%s)", g.get("request_id", ""), type(exc).__name__)
        return ServiceUnavailable("系统繁忙，请稍后再试")
    return None


def outage_problem(outage: GovcredError):
    response = problem(outage.http_status, outage.code, outage.message)
    if outage.http_status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
