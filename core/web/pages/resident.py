"""Resident pages: log-in by phone and SMS code, the notice & commitment, the application
form with proof uploads, the confirmation, the status with every reason, and the e-permit.

The form belongs to the schema: its template comes from the plugin that owns the schema
(``govcred/<schema slug>/form.html`` under the plugin's ``templates`` folder); fields are
named by document path, so the schema's validator's errors land next to their fields.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from govcred.core import models
from govcred.core.accounts import signin
from govcred.core.accounts.login_codes import send_login_code
from govcred.core.exceptions import AuthenticationRequired, Conflict, RateLimited, ValidationError
from govcred.core.qr import render_png
from govcred.core.services import drafts, identity_binding, intake, lifecycle, returns
from govcred.core.web.authn import current_principal, public
from govcred.core.web.context import runtime_of
from govcred.core.web.flowchart import flowchart_svg, flowchart_text
from govcred.core.web.pages import formdoc, guard, permitview
from govcred.core.web.pages.applyflow import ApplyFlow, TypedForm, resubmit_from_form, schema_slug
from govcred.core.web.pages.deadlines import deadline_view
from govcred.core.web.pages.views import FormErrors, install_error_pages, resident_required, safe_next, store_upload

bp = Blueprint("resident", __name__, url_prefix="/resident")
FLOW = ApplyFlow(
    channel="online",
    layout="resident/base.html",
    form_post="resident.form_post",
    upload="resident.upload",
    form="resident.form",
    confirm_post="resident.confirm_post",
)
install_error_pages(bp, "resident.login")

STATE_ZH = models.APPLICATION_STATE_ZH
CREDENTIAL_STATUS_ZH = permitview.STATUS_ZH


def _schema() -> str:
    """The application schema residents apply with (the first registered credential type)."""
    types = runtime_of().credential_types
    wanted = request.values.get("schema")
    if wanted in types:
        return wanted
    return next(iter(types))


# ---- log-in ---------------------------------------------------------------------------------


@bp.get("/")
@public
def start():
    principal = current_principal()
    if principal is None or principal.kind != "resident":
        return redirect(url_for("resident.login"))
    return redirect(url_for("resident.home"))


@bp.get("/login")
@public
def login():
    return render_template(
        "resident/login.html",
        errors=FormErrors(),
        phone="",
        code_sent=False,
        next=request.args.get("next", ""),
        expired=request.args.get("expired") == "1",
    )


@bp.post("/login/code")
@public
def send_code():
    phone = request.form.get("phone", "").strip()
    next_url = request.form.get("next", "")
    try:
        sent = send_login_code(runtime_of().collaborators, phone, ip=request.remote_addr or "-")
    except ValidationError as exc:
        return render_template(
            "resident/login.html", errors=FormErrors.from_exception(exc), phone=phone, code_sent=False, next=next_url
        ), 400
    except RateLimited as exc:
        errors = FormErrors()
        errors.add("phone", exc.message, exc.code)
        page = render_template("resident/login.html", errors=errors, phone=phone, code_sent=False, next=next_url)
        return page, 429, {"Retry-After": str(exc.details.get("retry_after", 60))}
    return render_template(
        "resident/login.html", errors=FormErrors(), phone=phone, code_sent=True, next=next_url, code_id=sent.code_id
    )


@bp.post("/login")
@public
def login_post():
    phone, code = request.form.get("phone", "").strip(), request.form.get("code", "").strip()
    next_url, code_id = request.form.get("next", ""), request.form.get("code_id", "")

    def refused(errors: FormErrors, status: int):
        page = render_template(
            "resident/login.html", errors=errors, phone=phone, code_sent=True, next=next_url, code_id=code_id
        )
        return page, status

    try:
        session = signin.sign_in_resident_page(
            runtime_of().collaborators,
            phone,
            code,
            code_id=code_id,
            replaces=request.cookies.get(guard.session_cookie_name()),
        )
    except ValidationError as exc:
        return refused(FormErrors.from_exception(exc), 400)
    except AuthenticationRequired as exc:
        errors = FormErrors()
        errors.add("code", exc.message, exc.code)
        return refused(errors, 401 if exc.code == "LOGIN_FAILED" else 400)
    response = make_response(redirect(safe_next(next_url, url_for("resident.home"))))
    guard.set_session_cookie(response, session.id)
    return response


@bp.post("/logout")
@public
def logout():
    return guard.log_out("resident.login")


# ---- home -----------------------------------------------------------------------------------


@bp.get("/home")
@resident_required
def home():
    rt = runtime_of()
    principal = current_principal()
    with rt.uow(readonly=True) as uow:
        apps = uow.applications.list_for_owner(principal.id)
        creds = uow.credentials.for_owner(principal.id)
    return render_template(
        "resident/home.html", apps=apps, creds=creds, state_zh=STATE_ZH, status_zh=CREDENTIAL_STATUS_ZH
    )


# ---- notice & commitment, form, uploads, confirmation ------------------------------------------
# The application in preparation is a server-side draft (govcred.core.services.drafts): each
# step saves it, so an expired session or a closed browser loses nothing.


def _draft(schema: str) -> drafts.Draft:
    return drafts.load_draft(runtime_of().collaborators, current_principal(), schema)


def _save(schema: str, draft: drafts.Draft, principal=None) -> None:
    drafts.save_draft(runtime_of().collaborators, principal or current_principal(), schema, draft)


def keeps_draft_when_lapsed(view):
    """A form sent after the resident's session lapsed: keep what was typed in their draft
    and ask them to sign in again, coming back to the same step (nothing is lost)."""

    @functools.wraps(view)
    def inner(*args, **kwargs):
        principal = current_principal()
        if principal is None or principal.kind != "resident":
            lapsed = guard.lapsed_resident()
            if lapsed is not None:
                back = url_for("resident.form")
                if request.endpoint == "resident.form_post":
                    schema = _schema()
                    draft = drafts.load_draft(runtime_of().collaborators, lapsed, schema)
                    draft.state["values"] = formdoc.form_values(request.form.items(multi=True))
                    draft.step = "form"
                    _save(schema, draft, lapsed)
                elif request.endpoint == "resident.confirm_post":
                    back = url_for("resident.confirm")
                return redirect(url_for("resident.login", next=back, expired="1"))
        return view(*args, **kwargs)

    return inner


@bp.get("/flowchart.svg")
@public
def flowchart():
    """The process flowchart the notice page shows (public: it holds no personal data)."""
    response = Response(flowchart_svg(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/apply")
@resident_required
def notice():
    schema = _schema()
    draft = _draft(schema)
    resume = url_for(f"resident.{draft.step}") if draft.step in ("form", "confirm") else None
    return render_template(
        "resident/notice.html",
        errors=FormErrors(),
        schema=schema,
        slug=schema_slug(schema),
        resume=resume,
        reapplying=bool(draft.state.get("reapplying")),
        flow=flowchart_text(),
    )


@bp.post("/apply")
@resident_required
def notice_post():
    schema = _schema()
    if request.form.get("accept") != "yes":
        errors = FormErrors()
        errors.add("accept", "请阅读告知承诺书，勾选“我已阅读并承诺”后继续")
        return render_template(
            "resident/notice.html",
            errors=errors,
            schema=schema,
            slug=schema_slug(schema),
            resume=None,
            flow=flowchart_text(),
        ), 400
    draft = _draft(schema)
    draft.state["commitment_at"] = runtime_of().clock.now().isoformat(timespec="seconds")
    draft.step = "form"
    _save(schema, draft)
    return redirect(url_for("resident.form"))


def _identity(schema: str, draft: drafts.Draft):
    """The real-name identity's part of the form (None for an SMS-code account); whether the
    resident applies in person or as an agent is kept in the draft."""
    mode = draft.state.get("acting_as", identity_binding.APPLICANT)
    return identity_binding.resident_form_binding(runtime_of().collaborators, current_principal(), schema, mode)


@bp.get("/apply/form")
@resident_required
def form():
    schema = _schema()
    draft = _draft(schema)
    if not draft.state.get("commitment_at"):
        return redirect(url_for("resident.notice"))
    return FLOW.render_form(
        draft.state.get("values", {}), draft.state.get("uploads", {}), schema, identity=_identity(schema, draft)
    )


def _switch_acting_as(schema: str, draft: drafts.Draft, binding, to: str):
    """The form's 本人申请 / 代他人申请 button: keep what was typed (without the identity's
    values, which move to the other role's fields) and show the form again."""
    values = formdoc.form_values(request.form.items(multi=True))
    for path in binding.locked if binding is not None else ():
        values.pop(path, None)
    draft.state["values"] = values
    draft.state["acting_as"] = to
    draft.step = "form"
    _save(schema, draft)
    return redirect(url_for("resident.form"))


@bp.post("/apply/form")
@keeps_draft_when_lapsed
@resident_required
def form_post():
    rt = runtime_of()
    schema = _schema()
    draft = _draft(schema)
    if not draft.state.get("commitment_at"):
        return redirect(url_for("resident.notice"))
    binding = _identity(schema, draft)
    switch = request.form.get("switch_to")
    if switch in (identity_binding.APPLICANT, identity_binding.AGENT):
        return _switch_acting_as(schema, draft, binding, switch)
    # the identity's fields hold the identity's values, whatever the form sent
    sent = MultiDict(identity_binding.bind_form_pairs(list(request.form.items(multi=True)), binding))
    typed = TypedForm.from_request(
        sent,
        schema=schema,
        channel="online",
        commitment={"accepted": True, "at": draft.state["commitment_at"]},
        skip=("switch_to",),
    )
    errors = typed.errors(rt.credential_types, rt.clock.today_beijing())
    draft.state["values"] = typed.values
    draft.state["moves"] = typed.moves
    draft.state["document"] = {k: v for k, v in typed.document.items() if k not in ("schema", "channel", "commitment")}
    draft.step = "form" if errors else "confirm"
    _save(schema, draft)
    if errors:
        return FLOW.render_form(
            typed.values, draft.state.get("uploads", {}), schema, errors=errors, status=400, identity=binding
        )
    return redirect(url_for("resident.confirm"))


@bp.post("/uploads")
@resident_required
def upload():
    """One proof, sent by the form's script (XHR with progress); remembered in the draft."""
    schema = _schema()

    def remember(attachment_id: str, name: str) -> None:
        draft = _draft(schema)
        draft.state.setdefault("uploads", {})[attachment_id] = name
        _save(schema, draft)

    return store_upload(remember)


def _pending(schema: str):
    """``(None, draft, document)`` of the application being prepared, or ``(redirect, None,
    None)`` to the step the resident has not done yet."""
    draft = _draft(schema)
    if not draft.state.get("commitment_at"):
        return redirect(url_for("resident.notice")), None, None
    if draft.step != "confirm" or not draft.state.get("document"):
        return redirect(url_for("resident.form")), None, None
    doc = dict(draft.state["document"])
    doc.update(schema=schema, channel="online", commitment={"accepted": True, "at": draft.state["commitment_at"]})
    return None, draft, doc


@bp.get("/apply/confirm")
@resident_required
def confirm():
    schema = _schema()
    step, draft, doc = _pending(schema)
    return step or FLOW.render_confirm(draft.state.get("uploads", {}), schema, doc)


@bp.post("/apply/confirm")
@keeps_draft_when_lapsed
@resident_required
def confirm_post():
    rt = runtime_of()
    schema = _schema()
    step, draft, doc = _pending(schema)
    if step:
        return step
    try:
        app = intake.submit_application(
            rt.collaborators, doc, principal=current_principal(), channel="online", typed=True
        )
    except ValidationError as exc:
        errors = FormErrors.from_exception(exc).moved(draft.state.get("moves", {}))
        draft.step = "form"
        _save(schema, draft)
        return FLOW.render_form(
            draft.state.get("values", {}),
            draft.state.get("uploads", {}),
            schema,
            errors=errors,
            status=400,
            identity=_identity(schema, draft),
        )
    drafts.discard_draft(rt.collaborators, current_principal(), schema)
    return redirect(url_for("resident.status", app_id=app.id))


@bp.post("/applications/<app_id>/reapply")
@resident_required
def reapply(app_id: str):
    """重新申请: a new draft filled in from the refused application (proofs are uploaded
    again and the commitment is given again)."""
    schema, layout = drafts.layout_of_refused(runtime_of().collaborators, current_principal(), app_id)
    values = {k: v for k, v in formdoc.flatten(layout).items() if not k.endswith(".kind")}
    _save(schema, drafts.Draft("notice", {"values": values, "reapplying": app_id}))
    return redirect(url_for("resident.notice"))


@bp.get("/applications/<app_id>/receipt.pdf")
@resident_required
def receipt(app_id: str):
    """受理回执 as an A4 PDF (to download, or to print at the window)."""
    from govcred.core.services.receipts import receipt_pdf

    data = receipt_pdf(runtime_of().collaborators, app_id, current_principal())
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="receipt-{app_id[:8]}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/applications/<app_id>/materials")
@resident_required
def materials(app_id: str):
    """补正: the resident uploads what the return listed and resubmits."""
    errors, status = resubmit_from_form(current_principal(), app_id)
    if errors is not None:
        return _status_page(app_id, errors=errors, status=status)
    return redirect(url_for("resident.status", app_id=app_id))


# ---- status ---------------------------------------------------------------------------------


@bp.get("/applications/<app_id>")
@resident_required
def status(app_id: str):
    return _status_page(app_id)


def _status_page(
    app_id: str,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
    rating_errors: FormErrors | None = None,
    rating_form: dict | None = None,
):
    rt = runtime_of()
    app, decision = intake.get_application(rt.collaborators, app_id, current_principal())
    deadline = deadline_view(rt.calendar, app.deadline, rt.clock.now(), app.deadline_provisional)
    credential = None
    if decision is not None and decision.credential_id:
        with rt.uow(readonly=True) as uow:
            credential = uow.credentials.get(decision.credential_id)
    with rt.uow(readonly=True) as uow:
        rating = uow.ratings.for_application(app.id)
    rounds = returns.rounds_of(rt.collaborators, app.id)
    return render_template(
        "resident/status.html",
        app=app,
        decision=decision,
        deadline=deadline,
        state_zh=STATE_ZH,
        slug=schema_slug(app.schema),
        credential=credential,
        rating=rating,
        rating_errors=rating_errors or FormErrors(),
        rating_form=rating_form or {},
        rounds=rounds,
        restart_basis=returns.RESTART_BASIS,
        errors=errors or FormErrors(),
        holders=returns.attachment_holders(app.document),
    ), status


@bp.post("/applications/<app_id>/rating")
@resident_required
def rate(app_id: str):
    """好差评: the applicant rates the service once the application is decided."""
    from govcred.core.services.ratings import rate_service

    form = {"score": request.form.get("score", ""), "comment": request.form.get("comment", "")}
    try:
        rate_service(runtime_of().collaborators, current_principal(), app_id, form["score"], form["comment"])
    except ValidationError as exc:
        return _status_page(app_id, rating_errors=FormErrors(exc.errors), rating_form=form, status=400)
    return redirect(url_for("resident.status", app_id=app_id, rated=1) + "#rating")


# ---- e-permit -------------------------------------------------------------------------------


def _own_credential(credential_id: str) -> models.Credential:
    from govcred.core.web.api.holder import _own_credential as own

    return own(current_principal().id, credential_id)


#: What the page says after a successful POST (``?done=``).
DONE_ZH = {
    "endorsed": "签注已办理，新的电子居住证已签发。",
    "reminders": "提醒设置已保存。",
    "replaced": "补领/换领已办理，新的电子居住证已签发，原证件已作废。",
}


def _permit_page(
    credential: models.Credential,
    *,
    errors: FormErrors | None = None,
    findings: list | None = None,
    status: int = 200,
    view: dict | None = None,
):
    rt = runtime_of()
    view = permitview.permit_page(
        view or lifecycle.permit_view(rt.collaborators, credential.permit_no, current_principal())
    )
    return render_template(
        "resident/permit.html",
        credential=credential,
        status_zh=CREDENTIAL_STATUS_ZH,
        lifetime=rt.settings.presentation_seconds,
        benefits=rt.benefits,
        permit=view,
        errors=errors or FormErrors(),
        findings=findings or [],
        done=DONE_ZH.get(request.args.get("done", "")),
    ), status


@bp.get("/permits/<credential_id>")
@resident_required
def permit(credential_id: str):
    credential = _own_credential(credential_id)
    view = lifecycle.permit_view(runtime_of().collaborators, credential.permit_no, current_principal())
    latest = view["history"][0]["id"]
    if latest != credential.id:  # an endorsed version's old page shows the permit as it is now
        return redirect(url_for("resident.permit", credential_id=latest))
    return _permit_page(credential, view=view)


@bp.post("/permits/<credential_id>/endorsement")
@resident_required
def endorse(credential_id: str):
    """签注 online; a refusal shows every reason, or the window's dates."""
    credential = _own_credential(credential_id)
    try:
        done = lifecycle.request_endorsement(
            runtime_of().collaborators, credential.permit_no, current_principal(), "online"
        )
    except (Conflict, ValidationError) as exc:
        errors, findings, status = permitview.endorsement_refusal(exc)
        return _permit_page(credential, errors=errors, findings=findings, status=status)
    return redirect(url_for("resident.permit", credential_id=done.credential.id, done="endorsed"))


@bp.post("/permits/<credential_id>/replacement")
@resident_required
def replace(credential_id: str):
    """补领 (lost) or 换领 (damaged) online: a new permit, the old one replaced."""
    credential = _own_credential(credential_id)
    try:
        new = lifecycle.replace_permit(
            runtime_of().collaborators,
            credential.permit_no,
            current_principal(),
            "online",
            reason=request.form.get("reason", ""),
        )
    except (Conflict, ValidationError) as exc:
        errors = FormErrors.from_exception(exc) if isinstance(exc, ValidationError) else FormErrors()
        if isinstance(exc, Conflict):
            errors.add("reason", exc.message, exc.code)
        return _permit_page(credential, errors=errors, status=409 if isinstance(exc, Conflict) else 400)
    return redirect(url_for("resident.permit", credential_id=new.id, done="replaced"))


@bp.post("/permits/<credential_id>/reminders")
@resident_required
def reminders(credential_id: str):
    credential = _own_credential(credential_id)
    try:
        lifecycle.set_reminders(
            runtime_of().collaborators, credential.permit_no, current_principal(), request.form.getlist("reminders")
        )
    except ValidationError as exc:
        return _permit_page(credential, errors=FormErrors.from_exception(exc), status=400)
    return redirect(url_for("resident.permit", credential_id=credential.id, done="reminders"))


@bp.get("/permits/<credential_id>/presentation.png")
@resident_required
def presentation_png(credential_id: str):
    """A fresh short-lived presentation as a QR image (the page's script fetches a new one in time)."""
    from govcred.core.presentation import issue_presentation

    rt = runtime_of()
    token = issue_presentation(rt.collaborators, _own_credential(credential_id))
    response = Response(render_png(token, scale=6), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Expires-In"] = str(rt.settings.presentation_seconds)
    return response


@bp.get("/permits/<credential_id>/qr.png")
@resident_required
def permit_png(credential_id: str):
    """The long-lived credential QR, to save or print (it stays checkable against the status list)."""
    credential = _own_credential(credential_id)
    response = Response(render_png(credential.token, scale=6), mimetype="image/png")
    response.headers["Content-Disposition"] = f'attachment; filename="permit-{credential.permit_no}.png"'
    response.headers["Cache-Control"] = "no-store"
    return response
