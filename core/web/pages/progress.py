"""办件进度查询, the public pages: the 办件编号, then the SMS code sent to the phone on file,
then the progress (read only) for :data:`govcred.core.services.progress.LOOKUP_LIFETIME`.

The rules (what is sent, limits, what is shown, the audit) are the service's
(:mod:`govcred.core.services.progress`); this module only turns forms into calls and
answers into pages. The opened look-up is kept in an HttpOnly cookie limited to ``/progress``.
"""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from govcred.core.exceptions import AuthenticationRequired, RateLimited, ValidationError
from govcred.core.services import progress
from govcred.core.web.authn import public
from govcred.core.web.context import runtime_of
from govcred.core.web.pages import guard
from govcred.core.web.pages.views import FormErrors, install_error_pages

bp = Blueprint("progress", __name__, url_prefix="/progress")
install_error_pages(bp, "progress.start")
COOKIE = "govcred_progress"


def _page(status: int = 200, *, errors: FormErrors | None = None, headers=None, **values):
    values.setdefault("reference", "")
    values.setdefault("sent", None)
    body = render_template("resident/progress_lookup.html", errors=errors or FormErrors(), **values)
    return body, status, headers or {}


@bp.get("")
@public
def start():
    """The reference form (``?ref=`` prefills it: the receipt's QR code)."""
    return _page(reference=request.args.get("ref", "")[:40], ended=request.args.get("ended") == "1")


@bp.post("/code")
@public
def send_code():
    reference = request.form.get("reference", "")[:40]
    try:
        sent = progress.send_progress_code(runtime_of().collaborators, reference, ip=request.remote_addr or "-")
    except ValidationError as exc:
        return _page(400, errors=FormErrors.from_exception(exc), reference=reference)
    except RateLimited as exc:
        errors = FormErrors()
        errors.add("reference", exc.message, exc.code)
        retry = {"Retry-After": str(exc.details.get("retry_after", 60))}
        return _page(429, errors=errors, reference=reference, headers=retry)
    return _page(reference=sent.reference, sent=sent)


@bp.post("/view")
@public
def open_view():
    rt = runtime_of()
    reference = request.form.get("reference", "")[:40]
    code_id = request.form.get("code_id", "")
    sent = progress.ProgressCodeSent(
        code_id, 0, reference, request.form.get("phone_masked", "")[:11], progress.SENT_MESSAGE
    )
    try:
        lookup = progress.open_progress(
            rt.collaborators, reference, request.form.get("code", "").strip(), code_id=code_id
        )
    except ValidationError as exc:
        return _page(400, errors=FormErrors.from_exception(exc), reference=reference, sent=sent)
    except AuthenticationRequired as exc:
        errors = FormErrors()
        errors.add("code", f"{exc.message}，请重新输入；多次输错或超过 5 分钟请重新获取验证码", exc.code)
        return _page(401, errors=errors, reference=reference, sent=sent)
    response = make_response(redirect(url_for("progress.view")))
    token = progress.lookup_token(rt.collaborators, lookup)
    guard.set_short_cookie(response, COOKIE, token, path="/progress", lifetime=progress.LOOKUP_LIFETIME)
    return response


@bp.get("/view")
@public
def view():
    rt = runtime_of()
    lookup = progress.lookup_of_token(rt.collaborators, request.cookies.get(COOKIE))
    if lookup is None:
        errors = FormErrors()
        errors.add(
            "reference", "查询已超时（每次验证后可查看 10 分钟），请重新输入办件编号并获取验证码", "LOOKUP_EXPIRED"
        )
        return _page(401, errors=errors)
    return render_template("resident/progress_view.html", p=progress.progress_of(rt.collaborators, lookup))


@bp.post("/end")
@public
def end():
    response = make_response(redirect(url_for("progress.start", ended=1)))
    response.delete_cookie(COOKIE, path="/progress", secure=guard.secure_cookies(), httponly=True, samesite="Lax")
    return response
