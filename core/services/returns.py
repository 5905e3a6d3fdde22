"""补正: a reviewer returns an application for more materials, listing every missing or
insufficient item at once (一次性告知: the rule findings picked from the current evaluation,
plus the reviewer's own items); the applicant (or a clerk for them) adds the materials and
resubmits, which accepts the application again: the deadline restarts from that acceptance.

Each step is one transaction with its audit entry and the holder's notification.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from govcred.core import attachments as attachment_store
from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.exceptions import Conflict, ErrorList, PermissionDenied
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.decisions import DECIDING_ROLES, checked_reasons
from govcred.core.services.documents import attachment_references
from govcred.core.services.eligibility import evaluate_in
from govcred.core.services.intake import INTAKE_ROLES, accept_in, commit_application_change

#: What the notice says of a deadline after 补正 (the basis the resident is told).
RESTART_BASIS = "补正材料后重新受理的，办结期限自重新受理之日起重新计算（受理当日不计入，2 个工作日内办结）"


@dataclass(frozen=True)
class ReturnRound:
    id: str
    items: list[dict[str, Any]]
    returned_at: Any
    resubmitted_at: Any


def return_for_materials(
    deps: Collaborators,
    app_id: str,
    principal: Principal,
    *,
    finding_codes: Sequence[str] = (),
    notes: Sequence[str] = (),
    expected_version: int | None = None,
) -> models.Application:
    """Return an accepted (or submitted) application listing every item at once."""
    require_role(principal, *DECIDING_ROLES)
    extra = checked_reasons(notes)
    now = deps.clock.now()
    with deps.uow() as uow:
        app = uow.applications.get(app_id, for_update=True)
        if expected_version is not None and expected_version != app.version:
            raise Conflict("该申请已被其他工作人员修改，请刷新后重试", code="APPLICATION_CHANGED")
        if app.state not in (models.SUBMITTED, models.ACCEPTED):
            raise Conflict(f"申请状态为“{models.state_zh(app.state)}”，不能退回补正", code="INVALID_STATE")
        findings, _context = evaluate_in(deps, uow, app, None)
        by_code: dict[str, list[models.Finding]] = {}
        for finding in findings:
            by_code.setdefault(finding.code, []).append(finding)
        errors = ErrorList()
        unknown = [code for code in finding_codes if code not in by_code]
        if unknown:
            errors.add("findings", "FINDING_UNKNOWN", f"以下规则结果不属于本申请：{'、'.join(unknown[:5])}")
        items = [
            {"code": f.code, "text": f.message_zh, "field": f.field}
            for code in dict.fromkeys(finding_codes)
            for f in by_code.get(code, ())
        ]
        items += [{"code": None, "text": note, "field": None} for note in extra]
        if not items and not unknown:
            errors.add("items", "ITEMS_REQUIRED", "请至少列出一项需要补正的材料或内容")
        errors.raise_if_any()
        app.return_for_materials()
        uow.application_returns.add(app.id, items, principal.id, now)
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role,
            action="application.returned",
            object_type="application",
            object_id=app.id,
            details={"codes": [i["code"] for i in items if i["code"]], "notes": len(extra), "items": len(items)},
        )
        deps.notifier.returned(uow.outbox, app, items, now)
        commit_application_change(uow)
    return app


def resubmit_materials(
    deps: Collaborators, app_id: str, principal: Principal, added: Mapping[str, Sequence[str]]
) -> models.Application:
    """The applicant (online, their own) or a clerk adds attachments and resubmits.

    ``added`` maps a document path holding an ``attachments`` list (``conditions[1]``) to
    the new attachment ids; they are appended. The application is accepted again at once.
    """
    if principal is None:
        raise PermissionDenied("请先登录", code="LOGIN_REQUIRED")
    if principal.kind != "resident":
        require_role(principal, *INTAKE_ROLES)
    now = deps.clock.now()
    with deps.uow() as uow:
        if principal.kind == "resident":
            app = uow.applications.get_for_owner(app_id, principal.id)
        else:
            app = uow.applications.get(app_id, for_update=True)
        if app.state != models.RETURNED:
            raise Conflict(f"申请状态为“{models.state_zh(app.state)}”，无需补正", code="INVALID_STATE")
        document = copy.deepcopy(app.document)
        errors = ErrorList()
        refs: list[tuple[str, str]] = []
        for path, ids in added.items():
            holder = _holder_of_attachments(document, path)
            if holder is None:
                errors.add(path, "PATH_INVALID", "补正材料应属于申请中列有材料的一项")
                continue
            for ref in ids:
                refs.append((f"{path}.attachments", ref))
                holder["attachments"] = [*holder.get("attachments", []), ref]
        if not refs and not errors.errors:
            errors.add("attachments", "MATERIAL_MISSING", "请上传补正材料后再提交")
        errors.errors.extend(attachment_store.reference_problems(uow, refs, principal))
        errors.raise_if_any()
        app.document = document
        uow.applications.document_changed(app)
        attachment_store.link_to_application(uow, [ref for _p, ref in refs], app.id)
        uow.application_returns.mark_resubmitted(app.id, principal.audit_actor, now)
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role or principal.kind,
            action="application.resubmitted",
            object_type="application",
            object_id=app.id,
            details={"attachments": len(refs)},
        )
        accept_in(deps, uow, app, principal, now, resubmitted=True)
        commit_application_change(uow)
    return app


def attachment_holders(document: Any) -> list[str]:
    """The paths of the parts of a document that hold an ``attachments`` list (where 补正
    materials go; core knows no schema: this is :func:`documents.attachment_references`'s rule)."""
    found: list[str] = []
    for path, _ref in attachment_references(document):
        holder = path.rsplit(".attachments", 1)[0]
        if holder not in found:
            found.append(holder)
    return found


def _holder_of_attachments(document: Any, path: str) -> dict | None:
    if path not in attachment_holders(document):
        return None
    node: Any = document
    for key, index in _STEP.findall(path):
        node = node[int(index)] if index else node[key]
    return node if isinstance(node, dict) else None


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def rounds_of(deps: Collaborators, app_id: str) -> list[ReturnRound]:
    """Every 补正 round of an application, oldest first (the caller has checked access)."""
    with deps.uow(readonly=True) as uow:
        rows = uow.application_returns.rounds(app_id)
    return [ReturnRound(r["id"], list(r["items"]), r["returned_at"], r["resubmitted_at"]) for r in rows]
