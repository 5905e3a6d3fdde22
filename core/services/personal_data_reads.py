"""Officers' reads of full personal data, audited whatever the channel (security checklist W-12).

An application's document, an uploaded proof and a permit's history name the person in full.
The pages and the API both read them through these functions, so a read by an officer leaves
an audit entry -- who (actor, role), what (``application.viewed``, ``attachment.viewed``,
``permit.viewed`` and the object's id), when, and the request -- on every channel; no view
writes it itself, so none can forget it. A resident reading their own is not audited: it is
their data, and their reads are not what the bureau must answer for.
"""

from __future__ import annotations

from typing import Any

from govcred.core import models
from govcred.core.accounts.officers import Principal
from govcred.core.attachments import AttachmentInfo
from govcred.core.attachments import read as read_attachment_file
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.intake import get_application
from govcred.core.services.lifecycle import permit_view


def _audit_read(
    deps: Collaborators, principal: Principal, action: str, object_type: str, object_id: str, request_id: str | None
) -> None:
    if principal.kind == "resident":
        return
    with deps.uow() as uow:
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role,
            action=action,
            object_type=object_type,
            object_id=object_id,
            request_id=request_id,
        )
        uow.commit()


def read_application(
    deps: Collaborators, app_id: str, principal: Principal | None, *, request_id: str | None = None
) -> tuple[models.Application, models.Decision | None]:
    """One application with its decision (:func:`get_application`), an officer's read audited."""
    app, decision = get_application(deps, app_id, principal)
    assert principal is not None  # get_application refused anonymous reads
    _audit_read(deps, principal, "application.viewed", "application", app.id, request_id)
    return app, decision


def read_attachment(
    deps: Collaborators, attachment_id: str, principal: Principal | None, *, request_id: str | None = None
) -> tuple[AttachmentInfo, bytes]:
    """An uploaded file, decrypted (:func:`govcred.core.attachments.read`), an officer's read audited."""
    info, data = read_attachment_file(deps, attachment_id, principal)
    assert principal is not None  # read refused anonymous reads
    _audit_read(deps, principal, "attachment.viewed", "attachment", info.id, request_id)
    return info, data


def read_permit(
    deps: Collaborators, permit_no: str, principal: Principal | None, *, request_id: str | None = None
) -> dict[str, Any]:
    """A permit's status and history (:func:`permit_view`), an officer's read audited against
    its current version."""
    view = permit_view(deps, permit_no, principal)
    assert principal is not None  # permit_view refused anonymous reads
    _audit_read(deps, principal, "permit.viewed", "credential", view["history"][0]["id"], request_id)
    return view
