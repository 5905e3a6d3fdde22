"""Use cases of the application workflow. Each runs inside ONE unit of work: the business
rows, the audit entries and the outbox rows commit together or not at all.

Who may do what is checked here (not only in the web layer), so the API, the pages, the
CLI and the demo share one policy: residents submit online and see their own
applications; clerks (and admins) take window intake and accept; reviewers (and admins)
decide, never on an application they entered themselves (four eyes).
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from govcred.core import attachments as attachment_store
from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.claims import RESERVED_CLAIMS
from govcred.core.clock import BEIJING
from govcred.core.credential_types import CredentialType, CredentialTypes
from govcred.core.exceptions import (
    AuthenticationRequired,
    ConfigError,
    Conflict,
    ErrorList,
    FieldError,
    PermissionDenied,
    ValidationError,
)
from govcred.core.masking import mask_identifier, mask_name
from govcred.core.orm import credentials as credentials_table
from govcred.core.status import allocate_index, status_list_uri
from govcred.core.tokens import CREDENTIAL, issue_token

log = logging.getLogger("govcred.services")

CHANNELS = ("online", "window")
INTAKE_ROLES = ("clerk", "admin")
DECIDING_ROLES = ("reviewer", "admin")
#: Claims only core sets; a plugin returning one of them is a configuration error.
MAX_OFFICER_REASONS = 20
MAX_REASON_CHARS = 500
WORKING_DAYS_TO_DECIDE = 2


# ---- documents ---------------------------------------------------------------------------


def attachment_references(document: Any) -> list[tuple[str, str]]:
    """Every ``(path, attachment id)`` the document references.

    Core knows no schema: any member named ``attachments`` holding a list is a list of
    attachment ids, wherever it sits (``conditions[0].attachments`` in document v1).
    """
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                if key == "attachments" and isinstance(item, list):
                    found.extend((f"{sub}[{i}]", ref) for i, ref in enumerate(item) if isinstance(ref, str))
                else:
                    walk(item, sub)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(document, "")
    return found


def materials_complete(document: Any) -> bool:
    """材料齐全: every ``attachments`` list of the document names at least one file (that the
    files exist and belong to the applicant is checked before this)."""

    def lists(value: Any) -> Iterator[Any]:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "attachments":
                    yield item
                else:
                    yield from lists(item)
        elif isinstance(value, list):
            for item in value:
                yield from lists(item)

    return all(isinstance(item, list) and item for item in lists(document))


def validate_document(credential_types: CredentialTypes, document: Any) -> Mapping[str, str]:
    """Check a document against its credential type; return its subject. Every error at once."""
    credential_type = credential_types.for_document(document)
    errors = credential_type.validate(document)
    if errors:
        raise ValidationError(list(errors))
    subject = credential_type.subject(document)
    if not subject or not subject.get("id_number") or not subject.get("name"):
        raise ConfigError(f"credential type {credential_type.name!r} names no subject")
    return subject


def document_errors(credential_types: CredentialTypes, document: Any) -> list[FieldError]:
    try:
        validate_document(credential_types, document)
    except ValidationError as exc:
        return exc.errors
    return []


# ---- intake ------------------------------------------------------------------------------


def _check_channel(principal: Principal | None, channel: str) -> Principal:
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if channel not in CHANNELS:
        raise ValidationError([FieldError("channel", "CHANNEL_INVALID", "受理渠道必须是 online 或 window")])
    if channel == "window":
        return require_role(principal, *INTAKE_ROLES)
    if principal.kind != "resident":
        raise PermissionDenied("工作人员代为录入请使用窗口受理（window）渠道", code="CHANNEL_NOT_ALLOWED")
    return principal


def submit_application(rt, document: dict, *, principal: Principal, channel: str) -> models.Application:
    """Validate and store an application; accept it at once when the materials are complete.

    Residents submit online for themselves; clerks and admins enter window applications.
    Every problem -- document fields and attachment references -- is reported in one
    :class:`ValidationError`, and nothing is stored unless everything is right.
    """
    principal = _check_channel(principal, channel)
    errors = ErrorList()
    if isinstance(document, Mapping) and "channel" in document and document["channel"] != channel:
        errors.add("channel", "CHANNEL_MISMATCH", f"申请表中的受理渠道与实际渠道（{channel}）不一致")
    subject = None
    try:
        subject = validate_document(rt.credential_types, document)
    except ValidationError as exc:
        errors.errors[:0] = exc.errors
    refs = attachment_references(document)
    now = rt.clock.now()
    with rt.uow() as uow:
        errors.errors.extend(attachment_store.reference_problems(uow.session, refs, principal))
        errors.raise_if_any()
        assert subject is not None
        id_number = subject["id_number"]
        app = models.Application(
            schema=document["schema"], channel=channel, document=dict(document),
            owner_id=principal.id if principal.kind == "resident" else None,
            created_by=principal.id if principal.kind == "officer" else None,
            subject_name_masked=mask_name(subject["name"]), subject_id_masked=mask_identifier(id_number),
            subject_index=rt.secrets.index(id_number, "id_number"), county=str(subject.get("county", "")),
            created_at=now,
        )
        app.submit(now)
        uow.applications.add(app)
        uow.flush()
        attachment_store.link_to_application(uow.session, [ref for _path, ref in refs], app.id)
        uow.audit.append(actor=principal.audit_actor, role=principal.role or principal.kind,
                         action="application.submitted", object_type="application", object_id=app.id,
                         details={"channel": channel, "schema": app.schema, "attachments": len(refs)})
        if materials_complete(document):
            _accept(rt, uow, app, principal, now)
        uow.commit()
    return app


def _accept(rt, uow, app: models.Application, principal: Principal, now: dt.datetime) -> None:
    deadline = rt.calendar.deadline(now, working_days=WORKING_DAYS_TO_DECIDE)
    app.accept(now, deadline.at, deadline.provisional)
    if deadline.provisional:
        for message in rt.calendar.warnings(now) or ["办结期限为暂定 / the deadline is provisional"]:
            log.warning("application %s: %s", app.id, message)
    uow.audit.append(actor=principal.audit_actor, role=principal.role or principal.kind,
                     action="application.accepted", object_type="application", object_id=app.id,
                     details={"deadline": deadline.at.isoformat(), "provisional": deadline.provisional})
    rt.pm.hook.govcred_application_accepted(application=app, outbox=uow.outbox)


def _commit(uow) -> None:
    try:
        uow.commit()
    except StaleDataError:
        raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED") from None


def accept_application(rt, app_id: str, principal: Principal) -> models.Application:
    """A clerk accepts a submitted application (e.g. once the paper proofs are in)."""
    require_role(principal, *INTAKE_ROLES)
    now = rt.clock.now()
    with rt.uow() as uow:
        app = uow.applications.get(app_id, for_update=True)
        _accept(rt, uow, app, principal, now)
        _commit(uow)
    return app


def _load_for(uow, app_id: str, principal: Principal | None, officer_roles: Sequence[str]) -> models.Application:
    """The application as the principal may see it: residents only their own (404 otherwise)."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if principal.kind == "resident":
        return uow.applications.get_for_owner(app_id, principal.id)
    require_role(principal, *officer_roles)
    return uow.applications.get(app_id, for_update=True)


def withdraw_application(rt, app_id: str, principal: Principal) -> models.Application:
    """The owner withdraws their application, or a clerk does on the applicant's request."""
    with rt.uow() as uow:
        app = _load_for(uow, app_id, principal, INTAKE_ROLES)
        app.withdraw()
        uow.audit.append(actor=principal.audit_actor, role=principal.role or principal.kind,
                         action="application.withdrawn", object_type="application", object_id=app.id)
        _commit(uow)
    return app


def get_application(rt, app_id: str, principal: Principal | None) -> tuple[models.Application, models.Decision | None]:
    """Read one application with its decision: owners and officers only (others get 404)."""
    with rt.uow(readonly=True) as uow:
        if principal is None:
            raise AuthenticationRequired("请先登录")
        if principal.kind == "resident":
            app = uow.applications.get_for_owner(app_id, principal.id)
        else:
            require_role(principal, "clerk", "reviewer", "admin")
            app = uow.applications.get(app_id)
        decision = uow.decisions.for_application(app.id)
        return app, decision


# ---- eligibility -------------------------------------------------------------------------


def _evaluate(rt, uow, app: models.Application, as_of: dt.date | None) -> tuple[list[models.Finding], models.EligibilityContext]:
    as_of = as_of or rt.clock.today_beijing()
    credential_type = rt.credential_types[app.schema]
    subject = credential_type.subject(app.document)
    records = rt.pm.hook.govcred_person_records(id_number=subject["id_number"], as_of=as_of, settings=rt.settings,
                                                uow=uow)
    already_holds = (
        uow.credentials.valid_for_subject(app.subject_index) is not None
        or uow.applications.in_progress_for_subject(app.subject_index, exclude_id=app.id)
    )
    context = models.EligibilityContext(
        as_of=as_of, records=records or models.PersonRecords(source="none"), settings=rt.settings,
        already_holds=already_holds,
    )
    return all_findings(rt.pm, credential_type, app, context), context


def all_findings(pm, credential_type: CredentialType, app: models.Application,
                 context: models.EligibilityContext) -> list[models.Finding]:
    """The type's own rules, then every plugin's extra rules: all of them, always."""
    findings = list(credential_type.eligibility_findings(app, context))
    for part in pm.hook.govcred_eligibility_rules(application=app, context=context):
        findings.extend(part or ())
    return findings


def evaluate(rt, app: models.Application, *, as_of: dt.date | None = None) -> list[models.Finding]:
    """Every finding of every plugin's rules for ``app`` on ``as_of`` (default: today, Beijing)."""
    with rt.uow(readonly=True) as uow:
        return _evaluate(rt, uow, app, as_of)[0]


def dry_run(pm, settings, credential_types: CredentialTypes, document: Any, as_of: dt.date) -> list[models.Finding]:
    """Evaluate a document without storing it, with the records it declares itself."""
    validate_document(credential_types, document)
    credential_type = credential_types[document["schema"]]
    app = models.Application(schema=document["schema"], channel=str(document.get("channel", "online")),
                             document=dict(document))
    records = credential_type.records_from_document(document)
    context = models.EligibilityContext(as_of=as_of, records=records, settings=settings)
    return all_findings(pm, credential_type, app, context)


# ---- decisions and issuance -------------------------------------------------------------


def _officer_reasons(reasons: Sequence[str]) -> list[str]:
    errors = ErrorList()
    if isinstance(reasons, str) or len(reasons) > MAX_OFFICER_REASONS:
        errors.add("reasons", "REASONS_INVALID", f"理由应为最多 {MAX_OFFICER_REASONS} 条文字的列表")
        errors.raise_if_any()
    cleaned = []
    for i, reason in enumerate(reasons):
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
            errors.add(f"reasons[{i}]", "REASON_INVALID", f"每条理由须为 1 至 {MAX_REASON_CHARS} 个字")
        else:
            cleaned.append(reason.strip())
    errors.raise_if_any()
    return cleaned


def decide(rt, app_id: str, *, approve: bool, principal: Principal, officer_reasons: Sequence[str] = (),
           expected_version: int | None = None) -> models.Decision:
    """Approve (issuing the credential) or reject an application, in one transaction.

    Re-evaluates every rule; approval with a blocking finding is refused, and a rejection
    records every blocking finding (一次性告知) plus the officer's own reasons. A refused
    attempt leaves a failure entry in the audit log.
    """
    require_role(principal, *DECIDING_ROLES)
    reasons = _officer_reasons(officer_reasons)
    key = rt.keystore.active_key() if approve else None  # decrypted outside the write transaction
    try:
        return _decide(rt, app_id, approve, principal, reasons, expected_version, key)
    except (Conflict, PermissionDenied) as exc:
        with rt.uow() as uow:
            uow.audit.append(actor=principal.audit_actor, role=principal.role, action="application.decide",
                             object_type="application", object_id=app_id, outcome="failure",
                             details={"code": exc.code, "approve": bool(approve)})
            uow.commit()
        raise


def _decide(rt, app_id, approve, principal, reasons, expected_version, key) -> models.Decision:
    now = rt.clock.now()
    with rt.uow() as uow:
        app = uow.applications.get(app_id, for_update=True)
        if app.created_by is not None and app.created_by == principal.id:
            raise PermissionDenied("录入该申请的工作人员不能审批同一申请（双人复核）", code="FOUR_EYES")
        if expected_version is not None and expected_version != app.version:
            raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED")
        decidable = (models.ACCEPTED,) if approve else (models.SUBMITTED, models.ACCEPTED)
        if app.state not in decidable:  # before evaluating: a decided application is not re-judged
            raise Conflict(f"申请状态为 {app.state}，不能{'批准' if approve else '不予批准'}", code="INVALID_STATE")
        findings, context = _evaluate(rt, uow, app, None)
        blocking = [f for f in findings if f.blocking]
        if approve and blocking:
            raise Conflict("存在不符合条件的情形，不能批准", code="BLOCKING_FINDINGS_PRESENT",
                           findings=[f.as_dict() for f in blocking])
        if not approve and not blocking and not reasons:
            raise ValidationError([FieldError("reasons", "REASON_REQUIRED", "未发现不符合条件的情形，不予批准须写明理由")])
        app.decide(approve, now)
        decision = models.Decision(application_id=app.id, approved=approve, findings=[f.as_dict() for f in findings],
                                   officer_reasons=reasons, reviewer_id=principal.id, decided_at=now)
        uow.decisions.add(decision)
        actor, role = principal.audit_actor, principal.role
        for i, reason in enumerate(reasons):
            uow.audit.append(actor=actor, role=role, action="decision.officer_reason", object_type="application",
                             object_id=app.id, details={"index": i, "chars": len(reason)})
        credential = _issue_credential(rt, uow, app, decision, context, key, now) if approve else None
        uow.audit.append(actor=actor, role=role, action="application.approved" if approve else "application.rejected",
                         object_type="application", object_id=app.id,
                         details={"codes": [f.code for f in blocking], "officer_reasons": len(reasons),
                                  "credential": credential.id if credential else None})
        rt.pm.hook.govcred_application_decided(application=app, decision=decision, outbox=uow.outbox)
        if credential is not None:
            rt.pm.hook.govcred_credential_issued(credential=credential, application=app, outbox=uow.outbox)
        try:
            _commit(uow)
        except IntegrityError:
            raise Conflict("该申请已有审批结果", code="ALREADY_DECIDED") from None
    return decision


def compact_id() -> str:
    """A credential id (``jti``): the 16 bytes of a random UUID as 22 base64url characters."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def merge_claims(parts: Sequence[Mapping[str, Any] | None]) -> tuple[dict[str, Any], dt.datetime | None]:
    """Plugins' claims merged; a key set twice or a reserved key is a configuration error."""
    merged: dict[str, Any] = {}
    lapse: dt.datetime | None = None
    problems = []
    for part in parts:
        for name, value in (part or {}).items():
            if name == "_exp":
                if not isinstance(value, dt.datetime) or value.tzinfo is None:
                    problems.append("_exp must be an aware datetime")
                elif lapse is not None:
                    problems.append("_exp set by two plugins")
                else:
                    lapse = value
            elif name in RESERVED_CLAIMS:
                problems.append(f"claim {name!r} is reserved to core")
            elif name in merged:
                problems.append(f"claim {name!r} set by two plugins")
            else:
                merged[name] = value
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)
    return merged, lapse


def _permit_no(uow, credential_type: str, county: str, now: dt.datetime) -> str:
    """E.g. ZJ331121 2026 12345678: region tag of the credential type, county, year, 8 random digits."""
    prefix = credential_type.split("-", 1)[0].upper() + county + str(now.astimezone(BEIJING).year)
    for _ in range(10):
        number = prefix + f"{secrets.randbelow(10 ** 8):08d}"
        taken = uow.session.execute(
            sa.select(credentials_table.c.id).where(credentials_table.c.permit_no == number).limit(1)
        ).first()
        if taken is None:
            return number
    raise Conflict("无法分配证件号码，请重试", code="PERMIT_NUMBER_EXHAUSTED")


def _issue_credential(rt, uow, app: models.Application, decision: models.Decision,
                      context: models.EligibilityContext, key, now: dt.datetime, *, permit_no: str | None = None,
                      version: int = 1, actor: str | None = None, role: str = "reviewer") -> models.Credential:
    """Sign and store the credential of an approved application, in the caller's transaction.

    A first issue gets a new permit number; the lifecycle (core.lifecycle) re-issues an
    endorsed permit under its own ``permit_no`` with the next ``version``, and names the
    resident or clerk who asked as ``actor``/``role`` of the audit entry.
    """
    settings = rt.settings
    credential_type = rt.credential_types[app.schema]
    plugin_claims, lapse = merge_claims([credential_type.claims(app, decision, context)])
    cap = now + dt.timedelta(days=settings.credential_max_days)
    expires = min(lapse, cap) if lapse is not None else cap
    credential_id = compact_id()
    list_id, idx = allocate_index(uow.session, size=settings.status_list_size, now=now)
    issued = int(now.timestamp())
    claims = {
        "iss": settings.issuer, "jti": credential_id, "iat": issued, "nbf": issued, "exp": int(expires.timestamp()),
        **plugin_claims,
        "status": {"status_list": {"idx": idx, "uri": status_list_uri(settings.issuer, list_id)}},
    }
    token = issue_token(CREDENTIAL, claims, key, clock=rt.clock)
    permit_no = permit_no or _permit_no(uow, credential_type.name, app.county, now)
    credential = models.Credential(version=version,
        application_id=app.id, permit_no=permit_no, credential_type=credential_type.name,
        subject_index=app.subject_index, issued_at=now, not_before=now,
        expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc), kid=key.kid, token=token,
        claims=claims, status_list_id=list_id, status_idx=idx, id=credential_id, owner_id=app.owner_id,
    )
    uow.credentials.add(credential)
    rt.keystore.extend_verify_until(uow.session, key.kid, credential.expires_at)
    decision.credential_id = credential.id
    app.permit_no = permit_no
    uow.audit.append(actor=actor or f"officer:{decision.reviewer_id}", role=role, action="credential.issued",
                     object_type="credential", object_id=credential.id,
                     details={"kid": key.kid, "status_list": list_id, "expires_at": credential.expires_at.isoformat()})
    return credential


@dataclass(frozen=True)
class QueueItem:
    application: models.Application
    due_today: bool
    overdue: bool


def review_queue(rt, principal: Principal, *, states: Sequence[str] = (models.ACCEPTED,),
                 channel: str | None = None, due: str | None = None) -> list[QueueItem]:
    """Applications to decide, earliest deadline first, flagged due today / overdue (Beijing)."""
    require_role(principal, *DECIDING_ROLES)
    errors = ErrorList()
    for i, state in enumerate(states):
        if state not in models.APPLICATION_STATES:
            errors.add(f"state[{i}]", "STATE_INVALID", f"未知的状态：{state[:20]}")
    if channel is not None and channel not in CHANNELS:
        errors.add("channel", "CHANNEL_INVALID", "受理渠道必须是 online 或 window")
    if due not in (None, "today", "overdue"):
        errors.add("due", "DUE_INVALID", "due 只能是 today 或 overdue")
    errors.raise_if_any()
    now = rt.clock.now()
    today = now.astimezone(BEIJING).date()
    with rt.uow(readonly=True) as uow:
        apps = uow.applications.queue(states)
    items = []
    for app in apps:
        if channel is not None and app.channel != channel:
            continue
        overdue = app.deadline is not None and app.deadline < now
        due_today = app.deadline is not None and not overdue and app.deadline.astimezone(BEIJING).date() == today
        if (due == "today" and not due_today) or (due == "overdue" and not overdue):
            continue
        items.append(QueueItem(app, due_today, overdue))
    return items


def credential_for(rt, credential_id: str) -> models.Credential:
    with rt.uow(readonly=True) as uow:
        credential = uow.credentials.get(credential_id)
        return credential

