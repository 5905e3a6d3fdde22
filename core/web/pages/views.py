"""What every page blueprint shares: access decorators that send people to the right log-in
page, HTML error pages, the error summary, and the template filters."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from govcred.core.clock import BEIJING
from govcred.core.exceptions import (
    AuthenticationRequired,
    FieldError,
    GovcredError,
    MalformedInput,
    ServiceUnavailable,
    StorageFull,
    ValidationError,
)
from govcred.core.outages import RETRY_AFTER_SECONDS
from govcred.core.reference import reference_of
from govcred.core.web.authn import current_principal, public
from govcred.core.web.context import runtime_of
from govcred.core.web.errors import http_title, outage_of, render_error
from govcred.core.web.pages.formdoc import form_path

log = logging.getLogger("govcred.web.pages")

home_bp = Blueprint("home", __name__)


@home_bp.get("/")
@public
def index():
    # the first verifier service the deployment names: its page is where a school scans
    verifiers = runtime_of().settings.verifier_urls
    return render_template("home.html", verifier_page=verifiers[0].rstrip("/") + "/" if verifiers else None)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after log-in (no open redirect)."""
    if not target:
        return default
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # CR/LF would split the Location header
        raise MalformedInput([FieldError("next", "NEXT_INVALID", "跳转地址含有控制字符")])
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _login_redirect(login_endpoint: str):
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for(login_endpoint, next=target))


def resident_required(view):
    """Only a logged-in resident; anyone else is sent to the resident log-in page."""

    @functools.wraps(view)
    def inner(*args, **kwargs):
        principal = current_principal()
        if principal is None or principal.kind != "resident":
            return _login_redirect("resident.login")
        return view(*args, **kwargs)

    inner.govcred_roles = ("resident",)
    return inner


def officer_required(*roles: str, page_session: bool = False):
    """Only officers with one of ``roles`` (deny by default); others go to the officer log-in.
    ``page_session``: the view keeps its state (a form's draft) in the browser's session, so an
    officer calling with an API token and no session is sent to log in as well."""
    if not roles:
        raise ValueError("officer_required needs at least one role")

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            from govcred.core.web.pages import guard

            principal = current_principal()
            if principal is None or principal.kind != "officer":
                return _login_redirect("officer.login")
            if page_session and guard.page_session() is None:
                return _login_redirect("officer.login")
            if principal.role not in roles:
                return render_error(403, "当前角色无权访问此页面")
            return view(*args, **kwargs)

        inner.govcred_roles = roles
        return inner

    return wrap


def render_outage(outage: GovcredError):
    """The page for an outage: 503 "系统繁忙，请稍后再试" with Retry-After, or 507 disk full."""
    body, status = render_error(outage.http_status, outage.message)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    return body, status, headers


def install_error_pages(bp: Blueprint, login_endpoint: str) -> None:
    """Errors inside a page blueprint become HTML pages (the API keeps problem+json)."""

    @bp.errorhandler(AuthenticationRequired)
    def _auth(exc):
        return _login_redirect(login_endpoint)

    @bp.errorhandler(GovcredError)
    def _govcred(exc: GovcredError):
        if isinstance(exc, ServiceUnavailable | StorageFull):
            return render_outage(exc)
        if exc.http_status >= 500:
            log.error("page request %s failed: %s", g.get("request_id", ""), exc.code)
            return render_error(500, "服务器内部错误，请稍后再试")
        return render_error(exc.http_status, exc.message)

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return render_error(exc.code or 500, http_title(exc))

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception):
        outage = outage_of(exc)
        if outage is not None:
            return render_outage(outage)
        # the page shows no traceback or message text (it may hold personal data); the log has it
        log.exception("page request %s failed", g.get("request_id", ""))
        return render_error(500, "服务器内部错误，请稍后再试")


class FormErrors:
    """Every problem of one form submission, for the error summary and the fields."""

    def __init__(self, errors: list[FieldError] | None = None):
        self.errors = list(errors or [])
        self.labels: dict[str, str] = {}

    def label(self, field: str, label: str) -> str:
        """Remember a field's label (called by the field macros; renders as nothing), so the
        summary can say which field each problem is about."""
        self.labels[field] = label
        return ""

    def summary(self) -> list[tuple[str, str]]:
        """``(field, text)`` for every problem in the order of the fields on the page (the
        fields are rendered before the summary), each led by its field's label when known."""
        order = {field: i for i, field in enumerate(self.labels)}
        ranked = sorted(self.errors, key=lambda e: order.get(e.field, len(order)))
        return [
            (e.field, f"{self.labels[e.field]}：{e.message}" if e.field in self.labels else e.message) for e in ranked
        ]

    def moved(self, moves: dict[str, str]) -> FormErrors:
        """The same errors with document paths turned into the form's field names."""
        return FormErrors([FieldError(form_path(e.field, moves), e.code, e.message) for e in self.errors])

    @classmethod
    def from_exception(cls, exc: ValidationError) -> FormErrors:
        return cls(exc.errors)

    def add(self, field: str, message: str, code: str = "INVALID") -> None:
        self.errors.append(FieldError(field, code, message))

    def for_field(self, field: str) -> list[str]:
        return [e.message for e in self.errors if e.field == field]

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __iter__(self):
        return iter(self.errors)


def beijing_time(value, fmt: str | None = None) -> str:
    """A moment as residents and officers read it: Beijing time, in the one date style of
    every page (``2026年12月2日 09:30``); ``fmt`` only where a table needs a compact form."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # an ISO time kept in a document (the commitment's)
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    local = value.astimezone(BEIJING)
    if fmt is not None:
        return local.strftime(fmt)
    return f"{date_zh(local.date())} {local:%H:%M}"


def date_zh(value) -> str:
    """A date (or the Beijing date of a moment) as ``2026年12月2日``; ISO text is accepted."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.astimezone(BEIJING).date() if value.tzinfo else value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def field_id(name: str) -> str:
    """An HTML id for a field name such as ``applicant.name`` (used by the error summary links)."""
    return "f-" + "".join(c if c.isalnum() else "-" for c in name)


def install_filters(app: Flask) -> None:
    app.jinja_env.filters["beijing"] = beijing_time
    app.jinja_env.filters["date_zh"] = date_zh
    app.jinja_env.filters["reference"] = reference_of
    app.jinja_env.filters["field_id"] = field_id


def store_upload(remember=None):
    """One proof from the form's script (multipart field ``file``): stored through
    :func:`govcred.core.attachments.store`, then ``remember(id, name)`` keeps its name for the
    confirmation page (by default in the page session)."""
    from flask import jsonify

    from govcred.core import attachments
    from govcred.core.web.context import runtime_of
    from govcred.core.web.pages import guard

    file = request.files.get("file")
    if file is None or not file.filename:
        return jsonify({"errors": [{"field": "file", "code": "REQUIRED", "message": "请选择要上传的文件"}]}), 400
    try:
        info = attachments.store(runtime_of().collaborators, file.read(), file.filename, principal=current_principal())
    except ValidationError as exc:
        return jsonify({"errors": [e.as_dict() for e in exc.errors]}), 422
    if remember is None:
        session = guard.page_session()
        session.data.setdefault("uploads", {})[info.id] = info.original_name
        guard.save_session_data(session)
    else:
        remember(info.id, info.original_name)
    return jsonify({"id": info.id, "name": info.original_name, "size": info.size})
