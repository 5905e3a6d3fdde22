"""Officer pages: log-in (password, plus TOTP for reviewers and admins), the review queue,
the search by ID number, 办件编号, permit number or phone, an application with its findings, proofs and history, the decision, window intake, and
credential status changes. Business rules stay in the services; these views only translate
between forms and service calls."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for

from govcred.core import attachments, models
from govcred.core.accounts import signin
from govcred.core.accounts.factors import RECENT_FACTOR_REQUIRED
from govcred.core.exceptions import (
    AuthenticationRequired,
    Conflict,
    FieldError,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from govcred.core.orm import audit_log
from govcred.core.services import decisions, eligibility, lifecycle, officer_search, returns, review_queue
from govcred.core.services.credential_status import STATUS_ROLES, change_status

# imported by name: ``intake`` is this blueprint's window-intake view
from govcred.core.services.intake import INTAKE_ROLES, submit_application
from govcred.core.services.personal_data_reads import read_application, read_attachment, read_permit
from govcred.core.web.authn import current_principal, public
from govcred.core.web.context import runtime_of
from govcred.core.web.pages import guard, permitview
from govcred.core.web.pages.applyflow import DRAFT_KEYS, ApplyFlow, TypedForm, resubmit_from_form, schema_slug
from govcred.core.web.pages.deadlines import deadline_view
from govcred.core.web.pages.resident import CREDENTIAL_STATUS_ZH, STATE_ZH
from govcred.core.web.pages.views import FormErrors, install_error_pages, officer_required, safe_next, store_upload

bp = Blueprint("officer", __name__, url_prefix="/officer")
install_error_pages(bp, "officer.login")

ALL_ROLES = ("clerk", "reviewer", "admin")
REVIEW_ROLES = decisions.DECIDING_ROLES


def _home_for(role: str) -> str:
    return url_for("officer.intake") if role == "clerk" else url_for("officer.queue")


@bp.get("/login")
@public
def login():
    return render_template("officer/login.html", errors=FormErrors(), form={}, next=request.args.get("next", ""))


@bp.post("/login")
@public
def login_post():
    form = request.form
    errors = FormErrors()
    username, password, code = form.get("username", "").strip(), form.get("password", ""), form.get("totp", "")
    if not username:
        errors.add("username", "请输入用户名")
    if not password:
        errors.add("password", "请输入密码")
    next_url = form.get("next", "")
    if errors:
        return render_template("officer/login.html", errors=errors, form=form, next=next_url), 400
    try:
        done = signin.sign_in_officer_page(
            runtime_of().collaborators,
            username,
            password,
            code,
            ip=request.remote_addr or "-",
            request_id=_request_id(),
            replaces=request.cookies.get(guard.session_cookie_name()),
        )
    except RateLimited as exc:
        errors.add("username", exc.message, exc.code)
        return render_template("officer/login.html", errors=errors, form=form, next=next_url), 429
    except AuthenticationRequired as exc:
        errors.add(exc.details["step"], exc.message, exc.code)
        return render_template("officer/login.html", errors=errors, form={"username": username}, next=next_url), 401
    response = make_response(redirect(safe_next(next_url, _home_for(done.role))))
    guard.set_session_cookie(response, done.session.id)
    return response


@bp.post("/logout")
@public
def logout():
    return guard.log_out("officer.login")


def _request_id() -> str:
    from flask import g

    return g.get("request_id", "")


@bp.get("/")
@officer_required(*REVIEW_ROLES)
def queue():
    rt = runtime_of()
    now = rt.clock.now()
    show = request.args.get("show", "all")
    due = {"due_today": "today", "overdue": "overdue"}.get(show)
    if due is None:
        show = "all"
    after = request.args.get("after") or None
    try:
        page = review_queue.review_queue(
            rt.collaborators, current_principal(), states=(models.SUBMITTED, models.ACCEPTED), due=due, after=after
        )
    except ValidationError:  # a stale or edited page link: start again from the first page
        return redirect(url_for("officer.queue", show=show))
    rows = [
        (item, deadline_view(rt.calendar, item.application.deadline, now, item.application.deadline_provisional))
        for item in page.items
    ]
    return render_template(
        "officer/queue.html",
        rows=rows,
        show=show,
        next=page.next,
        counts=page.counts,
        first=not after,
        search_errors=FormErrors(),
    )


@bp.get("/search")
@officer_required(*officer_search.SEARCH_ROLES)
def search():
    """The bare search box (from the menu). A query in the address is not searched: searches are
    posted, so that an ID number or a phone never lands in a URL (history, proxy logs, Referer)."""
    return render_template("officer/search.html", q="", page=None, errors=FormErrors())


@bp.post("/search")
@officer_required(*officer_search.SEARCH_ROLES)
def search_post():
    """The search box's answer: what was searched for (in words) and one page of matches. The
    pager posts the query again with the keyset cursor in a hidden field (no script needed)."""
    rt = runtime_of()
    q = request.form.get("q", "")
    after = request.form.get("after") or None
    try:
        page = officer_search.search_applications(
            rt.collaborators, current_principal(), q, after=after, request_id=_request_id()
        )
    except ValidationError as exc:
        return render_template("officer/search.html", q=q, page=None, errors=FormErrors(exc.errors)), 422
    now = rt.clock.now()
    rows = [(app, deadline_view(rt.calendar, app.deadline, now, app.deadline_provisional)) for app in page.items]
    return render_template(
        "officer/search.html", q=q, page=page, rows=rows, first=not after, errors=FormErrors(), state_zh=STATE_ZH
    )


# ---- one application ------------------------------------------------------------------------

#: How the history reads to an officer (unknown actions show their code).
ACTION_ZH = {
    "application.submitted": "提交申请",
    "application.accepted": "受理",
    "application.viewed": "查阅申请",
    "application.approved": "批准",
    "application.rejected": "不予批准",
    "application.withdrawn": "撤回",
    "application.returned": "退回补正（一次性告知补正清单）",
    "application.resubmitted": "补正材料后重新提交",
    "application.decide": "审批未成功",
    "decision.officer_reason": "填写审核理由",
    "attachment.uploaded": "上传材料",
    "attachment.viewed": "查阅材料",
}
ROLE_ZH = {"resident": "申请人", "clerk": "窗口受理员", "reviewer": "审核员", "admin": "管理员"}


def _history(uow, app_id: str, attachment_ids: list[str]) -> list:
    ids = [app_id, *attachment_ids]
    return uow.session.execute(
        sa.select(
            audit_log.c.seq,
            audit_log.c.at,
            audit_log.c.actor,
            audit_log.c.role,
            audit_log.c.action,
            audit_log.c.outcome,
        )
        .where(audit_log.c.object_id.in_(ids))
        .order_by(audit_log.c.seq)
    ).all()


def _application_page(app_id: str, *, errors: FormErrors | None = None, status: int = 200, reasons_text: str = ""):
    rt = runtime_of()
    principal = current_principal()
    app, decision = read_application(rt.collaborators, app_id, principal, request_id=_request_id())  # audited
    if decision is None:
        findings = [f.as_dict() for f in eligibility.evaluate(rt.collaborators, app)]
    else:
        findings = decision.findings
    credential = None
    if decision is not None and decision.credential_id:
        with rt.uow(readonly=True) as uow:  # read-only: the page reads it after this unit of work
            credential = uow.credentials.get(decision.credential_id)
    with rt.uow(readonly=True) as uow:
        files = attachments.for_application(uow, app.id)
        history = _history(uow, app.id, [f.id for f in files])
    deadline = deadline_view(rt.calendar, app.deadline, rt.clock.now(), app.deadline_provisional)
    return render_template(
        "officer/application.html",
        app=app,
        decision=decision,
        findings=findings,
        files=files,
        file_names={f.id: f.original_name for f in files},
        history=history,
        deadline=deadline,
        credential=credential,
        slug=schema_slug(app.schema),
        errors=errors or FormErrors(),
        can_decide=principal.role in REVIEW_ROLES
        and app.state in (models.SUBMITTED, models.ACCEPTED)
        and app.created_by != principal.id,
        can_change_status=principal.role in STATUS_ROLES,
        reasons_text=reasons_text,
        rounds=returns.rounds_of(rt.collaborators, app.id),
        holders=returns.attachment_holders(app.document),
        can_bring_materials=principal.role in INTAKE_ROLES and app.state == models.RETURNED,
        state_zh=STATE_ZH,
        status_zh=CREDENTIAL_STATUS_ZH,
        action_zh=ACTION_ZH,
        role_zh=ROLE_ZH,
    ), status


@bp.get("/applications/<app_id>")
@officer_required(*ALL_ROLES)
def application(app_id: str):
    return _application_page(app_id)


def recent_login_required(view):
    """The use case refuses an officer whose log-in is older than ten minutes
    (``RECENT_FACTOR_REQUIRED``, :mod:`govcred.core.accounts.factors`); the page then asks
    for a new log-in that comes back here. The rule itself is the use case's."""

    @functools.wraps(view)
    def inner(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except AuthenticationRequired as exc:
            if exc.code != RECENT_FACTOR_REQUIRED:
                raise
            # (no Referer under our policy: the form says which page it came from)
            target = safe_next(request.form.get("back"), url_for("officer.queue"))
            return render_template("officer/reauth.html", next=target), 403

    inner.govcred_roles = getattr(view, "govcred_roles", None)
    return inner


@bp.post("/applications/<app_id>/decision")
@officer_required(*REVIEW_ROLES)
@recent_login_required
def decide(app_id: str):
    rt = runtime_of()
    form = request.form
    action = form.get("action")
    reasons_text = form.get("reasons", "")
    reasons = [line.strip() for line in reasons_text.splitlines() if line.strip()]
    errors = FormErrors()
    if action not in ("approve", "reject"):
        errors.add("action", "请选择批准或不予批准")
        return _application_page(app_id, errors=errors, status=400, reasons_text=reasons_text)
    try:
        version = int(form.get("version", ""))
    except ValueError:
        version = None
    try:
        decisions.decide(
            rt.collaborators,
            app_id,
            approve=action == "approve",
            principal=current_principal(),
            officer_reasons=reasons,
            expected_version=version,
        )
    except ValidationError as exc:
        return _application_page(app_id, errors=FormErrors.from_exception(exc), status=400, reasons_text=reasons_text)
    except (Conflict, PermissionDenied) as exc:
        errors.add("action", exc.message, exc.code)
        return _application_page(app_id, errors=errors, status=exc.http_status, reasons_text=reasons_text)
    return redirect(url_for("officer.application", app_id=app_id))


@bp.post("/applications/<app_id>/return")
@officer_required(*REVIEW_ROLES)
def return_for_materials(app_id: str):
    """退回补正: every item at once, the rule findings ticked and the reviewer's own lines."""
    form = request.form
    notes_text = form.get("items", "")
    try:
        version = int(form.get("version", ""))
    except ValueError:
        version = None
    try:
        returns.return_for_materials(
            runtime_of().collaborators,
            app_id,
            current_principal(),
            finding_codes=form.getlist("findings"),
            notes=[line.strip() for line in notes_text.splitlines() if line.strip()],
            expected_version=version,
        )
    except ValidationError as exc:
        errors = FormErrors([FieldError("items", e.code, e.message) for e in exc.errors])
        return _application_page(app_id, errors=errors, status=400)
    except (Conflict, PermissionDenied) as exc:
        errors = FormErrors()
        errors.add("items", exc.message, exc.code)
        return _application_page(app_id, errors=errors, status=exc.http_status)
    return redirect(url_for("officer.application", app_id=app_id))


@bp.get("/applications/<app_id>/receipt.pdf")
@officer_required(*ALL_ROLES)
def receipt(app_id: str):
    """受理回执 as an A4 PDF (to download, or to print at the window)."""
    from govcred.core.services.receipts import receipt_pdf

    data = receipt_pdf(runtime_of().collaborators, app_id, current_principal())
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="receipt-{app_id[:8]}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/applications/<app_id>/form.pdf")
@officer_required(*ALL_ROLES)
def paper_form(app_id: str):
    """The application form prefilled, for a window applicant to check and sign."""
    from govcred.core.services.paper_forms import form_pdf

    response = Response(form_pdf(runtime_of().collaborators, app_id, current_principal()), mimetype="application/pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/applications/<app_id>/materials")
@officer_required(*INTAKE_ROLES)
def officer_materials(app_id: str):
    """A clerk brings the 补正 materials for the applicant (scans uploaded at the window)."""
    errors, status = resubmit_from_form(current_principal(), app_id)
    if errors is not None:
        return _application_page(app_id, errors=errors, status=status)
    return redirect(url_for("officer.application", app_id=app_id))


@bp.get("/attachments/<attachment_id>")
@officer_required(*ALL_ROLES)
def attachment(attachment_id: str):
    """A proof, inline: images sandboxed, PDFs framed by the application page only."""
    rt = runtime_of()
    principal = current_principal()
    info, data = read_attachment(rt.collaborators, attachment_id, principal, request_id=_request_id())  # audited
    response = Response(data, mimetype=info.content_type)
    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(info.content_type, "bin")
    response.headers["Content-Disposition"] = f'inline; filename="proof-{info.id[:8]}.{ext}"'
    response.headers["Cache-Control"] = "no-store"
    if info.content_type == "application/pdf":
        # Chromium's PDF viewer does not run in a sandboxed document; the file was parsed and
        # normalised at upload (no JavaScript, no embedded files) and may only be framed by us.
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; frame-ancestors 'self'"
    return response


# ---- credential status ----------------------------------------------------------------------


def _change_status_from_form(credential_id: str) -> tuple[FormErrors | None, int]:
    """The status form's change (revoke, suspend, reinstate with a reason); its errors, if any."""
    new_status = {"revoke": models.REVOKED, "suspend": models.SUSPENDED, "reinstate": models.VALID}.get(
        request.form.get("action", ""), ""
    )
    try:
        change_status(
            runtime_of().collaborators,
            credential_id,
            new_status,
            reason=request.form.get("reason", ""),
            principal=current_principal(),
        )
    except ValidationError as exc:
        return FormErrors.from_exception(exc), 400
    except Conflict as exc:
        errors = FormErrors()
        errors.add("action", exc.message, exc.code)
        return errors, 409
    return None, 302


@bp.post("/credentials/<credential_id>/status")
@officer_required(*STATUS_ROLES)
@recent_login_required
def credential_status(credential_id: str):
    rt = runtime_of()
    with rt.uow(readonly=True) as uow:
        app_id = uow.credentials.get(credential_id).application_id
    errors, status = _change_status_from_form(credential_id)
    if errors:
        return _application_page(app_id, errors=errors, status=status)
    return redirect(url_for("officer.application", app_id=app_id))


# ---- permits after issue: queue, status, endorsement window and history -----------------------

PERMIT_ROLES = lifecycle.OFFICER_VIEW_ROLES
QUEUE_ZH = {"window_open": "签注办理期内", "suspended": "未按期签注已中止"}
DONE_ZH = {"endorsed": "已办理签注，新版本证件已签发。", "status": "证件状态已变更。"}


@bp.get("/permits")
@officer_required(*PERMIT_ROLES)
def permits():
    queue = request.args.get("queue", "window_open")
    if queue not in lifecycle.QUEUES:
        queue = "window_open"
    rows = lifecycle.permit_queue(runtime_of().collaborators, current_principal(), queue=queue)
    return render_template(
        "officer/permits.html", rows=permitview.queue_rows(rows, queue), queue=queue, queue_zh=QUEUE_ZH
    )


def _permit_page(permit_no: str, *, errors: FormErrors | None = None, findings: list | None = None, status: int = 200):
    rt = runtime_of()
    principal = current_principal()
    view = read_permit(rt.collaborators, permit_no, principal, request_id=_request_id())  # audited
    permit = permitview.permit_page(view)
    with rt.uow(readonly=True) as uow:  # read-only: the page reads it after this unit of work
        credential = uow.credentials.get(permit.current_id)
    return render_template(
        "officer/permit.html",
        permit=permit,
        credential=credential,
        errors=errors or FormErrors(),
        findings=findings or [],
        done=DONE_ZH.get(request.args.get("done", "")),
        can_change_status=principal.role in STATUS_ROLES,
        can_endorse=principal.role in INTAKE_ROLES,
    ), status


@bp.get("/permits/<permit_no>")
@officer_required(*PERMIT_ROLES)
def permit(permit_no: str):
    return _permit_page(permit_no)


@bp.post("/permits/<permit_no>/status")
@officer_required(*STATUS_ROLES)
@recent_login_required
def permit_status(permit_no: str):
    current = lifecycle.permit_view(runtime_of().collaborators, permit_no, current_principal())["history"][0]["id"]
    errors, status = _change_status_from_form(current)
    if errors:
        return _permit_page(permit_no, errors=errors, status=status)
    return redirect(url_for("officer.permit", permit_no=permit_no, done="status"))


@bp.post("/permits/<permit_no>/endorsement")
@officer_required(*INTAKE_ROLES)
@recent_login_required
def permit_endorsement(permit_no: str):
    """签注 at the window (the holder is present); a refusal shows every reason, or the window."""
    try:
        lifecycle.request_endorsement(runtime_of().collaborators, permit_no, current_principal(), "window")
    except (Conflict, ValidationError) as exc:
        errors, findings, status = permitview.endorsement_refusal(exc)
        return _permit_page(permit_no, errors=errors, findings=findings, status=status)
    return redirect(url_for("officer.permit", permit_no=permit_no, done="endorsed"))


# ---- window intake --------------------------------------------------------------------------

INTAKE = ApplyFlow(
    channel="window",
    layout="officer/base.html",
    form_post="officer.intake_post",
    upload="officer.upload",
    form="officer.intake",
    confirm_post="officer.intake_submit",
)


def _intake_schema(session) -> str:
    types = runtime_of().credential_types
    return session.data.get("schema") or next(iter(types))


@bp.get("/intake")
@officer_required(*INTAKE_ROLES, page_session=True)
def intake():
    session = guard.page_session()
    schema = _intake_schema(session)
    return INTAKE.render_form(session.data.get("values", {}), session.data.get("uploads", {}), schema)


@bp.post("/intake")
@officer_required(*INTAKE_ROLES, page_session=True)
def intake_post():
    rt = runtime_of()
    session = guard.page_session()
    schema = _intake_schema(session)
    signed = request.form.get("commitment_signed") == "yes"
    typed = TypedForm.from_request(
        request.form,
        schema=schema,
        channel="window",
        commitment={"accepted": signed, "at": rt.clock.now().isoformat(timespec="seconds") if signed else None},
        skip=("commitment_signed",),
    )
    session.data["values"] = dict(typed.values, commitment_signed=signed)
    session.data["moves"] = typed.moves
    errors = typed.errors(rt.credential_types, rt.clock.today_beijing())
    if not signed:
        errors.add("commitment_signed", "请确认申请人已在纸质告知承诺书上签字")
    # Only a form without errors becomes the draft the confirmation page shows and submits.
    if errors:
        session.data.pop("draft", None)
    else:
        session.data["draft"] = {k: v for k, v in typed.document.items() if k not in ("schema", "channel")}
    guard.save_session_data(session)
    if errors:
        return INTAKE.render_form(
            session.data["values"], session.data.get("uploads", {}), schema, errors=errors, status=400
        )
    return redirect(url_for("officer.intake_confirm"))


@bp.post("/uploads")
@officer_required(*INTAKE_ROLES)
def upload():
    """A scanned paper proof (the intake form's script sends it with progress)."""
    return store_upload()


@bp.get("/intake/confirm")
@officer_required(*INTAKE_ROLES, page_session=True)
def intake_confirm():
    session = guard.page_session()
    if not session.data.get("draft"):
        return redirect(url_for("officer.intake"))
    schema = _intake_schema(session)
    doc = dict(session.data["draft"], schema=schema, channel="window")
    return INTAKE.render_confirm(session.data.get("uploads", {}), schema, doc)


@bp.post("/intake/confirm")
@officer_required(*INTAKE_ROLES, page_session=True)
def intake_submit():
    rt = runtime_of()
    session = guard.page_session()
    if not session.data.get("draft"):
        return redirect(url_for("officer.intake"))
    schema = _intake_schema(session)
    doc = dict(session.data["draft"], schema=schema, channel="window")
    try:
        app = submit_application(rt.collaborators, doc, principal=current_principal(), channel="window", typed=True)
    except ValidationError as exc:
        errors = FormErrors.from_exception(exc).moved(session.data.get("moves", {}))
        values = session.data.get("values", {})
        return INTAKE.render_form(values, session.data.get("uploads", {}), schema, errors=errors, status=400)
    for key in DRAFT_KEYS:
        session.data.pop(key, None)
    guard.save_session_data(session)
    return redirect(url_for("officer.application", app_id=app.id))
