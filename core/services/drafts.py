"""A resident's application in preparation, kept on the server between the steps (notice,
form, confirmation) so that an expired session or a closed browser loses nothing: signing in
again returns to the same step with every field as it was typed.

The state is the pages' own (form values by field name, uploads, the commitment time); this
module stores it for its owner only, encrypted at rest by the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govcred.core import models
from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import Conflict, PermissionDenied
from govcred.core.services.collaborators import Collaborators

STEPS = ("notice", "form", "confirm")


@dataclass
class Draft:
    step: str = "notice"
    state: dict[str, Any] = field(default_factory=dict)


def _owner(principal: Principal) -> str:
    if principal is None or principal.kind != "resident":
        raise PermissionDenied("只有申请人本人可以保存申请草稿", code="DRAFT_NOT_ALLOWED")
    return principal.id


def load_draft(deps: Collaborators, principal: Principal, schema: str) -> Draft:
    """The resident's draft for ``schema`` (an empty one at the notice step when none)."""
    owner = _owner(principal)
    with deps.uow(readonly=True) as uow:
        found = uow.form_drafts.get(owner, schema)
    return Draft() if found is None else Draft(found[0], found[1])


def save_draft(deps: Collaborators, principal: Principal, schema: str, draft: Draft) -> None:
    if draft.step not in STEPS:
        raise ValueError(f"unknown draft step {draft.step!r}")
    owner = _owner(principal)
    with deps.uow() as uow:
        uow.form_drafts.store(owner, schema, draft.step, draft.state, deps.clock.now())
        uow.commit()


def discard_draft(deps: Collaborators, principal: Principal, schema: str) -> None:
    owner = _owner(principal)
    with deps.uow() as uow:
        uow.form_drafts.discard(owner, schema)
        uow.commit()


def layout_of_refused(deps: Collaborators, principal: Principal, app_id: str) -> tuple[str, dict[str, Any]]:
    """``(schema, document as its form lays it out)`` of the resident's own refused or
    withdrawn application: 重新申请 starts from what was given then."""
    owner = _owner(principal)
    with deps.uow(readonly=True) as uow:
        app = uow.applications.get_for_owner(app_id, owner)
    if app.state not in (models.REJECTED, models.WITHDRAWN):
        raise Conflict("只有不予批准或已撤回的申请可以重新申请", code="APPLICATION_NOT_CLOSED")
    credential_type = deps.credential_types[app.schema]
    return app.schema, dict(credential_type.form_layout(app.document))
