"""Officers' reads of full personal data, audited whatever the channel (security checklist W-12).

An application's document, an uploaded proof and a permit's history name the person in full.
The pages and the API both read them through these functions, so a read by an officer leaves
an audit entry -- who (actor, role), what (``application.viewed``, ``attachment.viewed``,
``permit.viewed`` and the object's id), when, and the request -- on every channel; no view
writes it itself, so none can forget it. A resident reading their own is not audited: it is
their data, and their reads are not what the bureau must answer for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govcred.core.accounts.officers import Principal
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


def _audited(read: Callable[..., Any], action: str, object_type: str, object_id: Callable[[Any], str]):
    """``read`` (a use case taking ``(deps, key, principal)``), writing the ``action`` entry on
    ``object_id(result)`` when an officer's read succeeds (a refused read read nothing)."""

    def audited(deps: Collaborators, key: str, principal: Principal | None, *, request_id: str | None = None) -> Any:
        result = read(deps, key, principal)
        assert principal is not None  # every read refuses an anonymous caller
        _audit_read(deps, principal, action, object_type, object_id(result), request_id)
        return result

    audited.__doc__ = f"{read.__name__}, an officer's read audited as {action}."
    return audited


#: ``(application, decision)`` of :func:`get_application`
read_application = _audited(get_application, "application.viewed", "application", lambda found: found[0].id)
#: ``(info, data)`` of :func:`govcred.core.attachments.read`, the file decrypted
read_attachment = _audited(read_attachment_file, "attachment.viewed", "attachment", lambda found: found[0].id)
#: :func:`permit_view`, audited against the permit's current version
read_permit = _audited(permit_view, "permit.viewed", "credential", lambda view: view["history"][0]["id"])
