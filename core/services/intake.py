"""Intake: residents submit online, clerks enter window applications and accept them; the
owner or a clerk withdraws; owners and officers read one application.

Each use case runs inside ONE unit of work: the business rows, the audit entries and the
outbox rows commit together or not at all. Who may do what is checked here (not only in the
web layer), so the API, the pages, the CLI and the demo share one policy.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

from sqlalchemy.orm.exc import StaleDataError

from govcred.core import attachments as attachment_store
from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.exceptions import (
    AuthenticationRequired,
    Conflict,
    ErrorList,
    FieldError,
    MalformedInput,
    PermissionDenied,
    ValidationError,
)
from govcred.core.masking import mask_identifier, mask_name
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.documents import (
    attachment_references,
    form_errors,
    materials_complete,
    validate_document,
)
from govcred.core.services.identity_binding import application_identity
from govcred.core.services.search_indexes import phone_index

log = logging.getLogger("govcred.services")

CHANNELS = ("online", "window")
INTAKE_ROLES = ("clerk", "admin")
WORKING_DAYS_TO_DECIDE = 2


def check_channel(principal: Principal | None, channel: str) -> Principal:
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if channel not in CHANNELS:
        raise ValidationError([FieldError("channel", "CHANNEL_INVALID", "受理渠道必须是 online 或 window")])
    if channel == "window":
        return require_role(principal, *INTAKE_ROLES)
    if principal.kind != "resident":
        raise PermissionDenied("工作人员代为录入请使用窗口受理（window）渠道", code="CHANNEL_NOT_ALLOWED")
    return principal


def submit_application(
    deps: Collaborators, document: dict, *, principal: Principal, channel: str, typed: bool = False
) -> models.Application:
    """Validate and store an application; accept it at once when the materials are complete.

    Residents submit online for themselves; clerks and admins enter window applications.
    Every problem -- document fields and attachment references -- is reported in one
    :class:`ValidationError`, and nothing is stored unless everything is right. A document
    ``typed`` into the pages' form is held to its type's form checks too (the server checks
    again what the form checked: a check digit, a future date), not only to its structure.
    """
    principal = check_channel(principal, channel)
    errors = ErrorList()
    if isinstance(document, Mapping) and "channel" in document and document["channel"] != channel:
        errors.add("channel", "CHANNEL_MISMATCH", f"申请表中的受理渠道与实际渠道（{channel}）不一致")
    subject = None
    typed_errors = form_errors(deps.credential_types, document, deps.clock.today_beijing()) if typed else []
    if typed_errors:
        errors.errors[:0] = typed_errors
    else:
        try:
            subject = validate_document(deps.credential_types, document)
        except MalformedInput:
            raise  # not an application at all (a list for its schema): 400 on its own
        except ValidationError as exc:
            errors.errors[:0] = exc.errors
    refs = attachment_references(document)
    now = deps.clock.now()
    with deps.uow() as uow:
        errors.errors.extend(attachment_store.reference_problems(uow, refs, principal))
        identity: dict = {}
        if subject is not None:  # the document is valid: is it the signed-in person's?
            identity, mismatches = application_identity(
                principal,
                uow.residents.identity_of(principal.id) if principal.kind == "resident" else None,
                deps.credential_types.for_document(document),
                document,
                channel,
            )
            errors.errors.extend(mismatches)
        errors.raise_if_any()
        assert subject is not None
        id_number = subject["id_number"]
        app = models.Application(
            schema=document["schema"],
            channel=channel,
            document=dict(document),
            owner_id=principal.id if principal.kind == "resident" else None,
            created_by=principal.id if principal.kind == "officer" else None,
            subject_name_masked=mask_name(subject["name"]),
            subject_id_masked=mask_identifier(id_number),
            subject_index=deps.blind_index(id_number, "id_number"),
            phone_index=phone_index(deps, subject.get("phone")),
            county=str(subject.get("county", "")),
            created_at=now,
            identity=identity,
        )
        app.submit(now)
        uow.applications.add(app)
        uow.flush()
        attachment_store.link_to_application(uow, [ref for _path, ref in refs], app.id)
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role or principal.kind,
            action="application.submitted",
            object_type="application",
            object_id=app.id,
            details={
                "channel": channel,
                "schema": app.schema,
                "attachments": len(refs),
                # which identity the application rests on: oidc (or another provider), sms_code, window
                "identity_source": identity["source"],
                "acting_as": identity["acting_as"],
            },
        )
        if materials_complete(document):
            accept_in(deps, uow, app, principal, now)
        uow.commit()
    return app


def accept_in(
    deps: Collaborators, uow, app: models.Application, principal: Principal, now: dt.datetime, *, resubmitted=False
) -> None:
    """Accept ``app`` inside the caller's unit of work: the deadline runs from ``now`` (also
    after 补正, when ``resubmitted``: the deadline restarts from the new acceptance)."""
    deadline = deps.calendar.deadline(now, working_days=WORKING_DAYS_TO_DECIDE)
    app.accept(now, deadline.at, deadline.provisional)
    if deadline.provisional:
        for message in deps.calendar.warnings(now) or ["办结期限为暂定 / the deadline is provisional"]:
            log.warning("application %s: %s", app.id, message)
    uow.audit.append(
        actor=principal.audit_actor,
        role=principal.role or principal.kind,
        action="application.accepted",
        object_type="application",
        object_id=app.id,
        details={
            "deadline": deadline.at.isoformat(),
            "provisional": deadline.provisional,
            **({"after_return": True} if resubmitted else {}),
        },
    )
    if resubmitted:  # the platform already has the application; the holder hears of the new deadline
        deps.notifier.resubmitted(uow.outbox, app)
        return
    deps.pm.hook.govcred_application_accepted(application=app, outbox=uow.outbox)
    deps.notifier.accepted(uow.outbox, app)


def commit_application_change(uow) -> None:
    try:
        uow.commit()
    except StaleDataError:
        raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED") from None


def accept_application(deps: Collaborators, app_id: str, principal: Principal) -> models.Application:
    """A clerk accepts a submitted application (e.g. once the paper proofs are in)."""
    require_role(principal, *INTAKE_ROLES)
    now = deps.clock.now()
    with deps.uow() as uow:
        app = uow.applications.get(app_id, for_update=True)
        accept_in(deps, uow, app, principal, now)
        commit_application_change(uow)
    return app


def _load_for(uow, app_id: str, principal: Principal | None, officer_roles: Sequence[str]) -> models.Application:
    """The application as the principal may see it: residents only their own (404 otherwise)."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if principal.kind == "resident":
        return uow.applications.get_for_owner(app_id, principal.id)
    require_role(principal, *officer_roles)
    return uow.applications.get(app_id, for_update=True)


def withdraw_application(deps: Collaborators, app_id: str, principal: Principal) -> models.Application:
    """The owner withdraws their application, or a clerk does on the applicant's request."""
    with deps.uow() as uow:
        app = _load_for(uow, app_id, principal, INTAKE_ROLES)
        app.withdraw()
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role or principal.kind,
            action="application.withdrawn",
            object_type="application",
            object_id=app.id,
        )
        commit_application_change(uow)
    return app


def get_application(
    deps: Collaborators, app_id: str, principal: Principal | None
) -> tuple[models.Application, models.Decision | None]:
    """Read one application with its decision: owners and officers only (others get 404)."""
    with deps.uow(readonly=True) as uow:
        if principal is None:
            raise AuthenticationRequired("请先登录")
        if principal.kind == "resident":
            app = uow.applications.get_for_owner(app_id, principal.id)
        else:
            require_role(principal, "clerk", "reviewer", "admin")
            app = uow.applications.get(app_id)
        decision = uow.decisions.for_application(app.id)
        return app, decision
