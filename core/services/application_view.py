"""One application as the command line shows it: masked subject, state, 办件编号, deadline,
the findings (recorded with the decision, or evaluated now while it is open)."""

from __future__ import annotations

from typing import Any

from govcred.core.accounts.officers import Principal
from govcred.core.reference import reference_of
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.eligibility import evaluate
from govcred.core.services.intake import get_application
from govcred.core.services.returns import rounds_of


def application_view(deps: Collaborators, app_id: str, principal: Principal | None) -> dict[str, Any]:
    app, decision = get_application(deps, app_id, principal)
    findings = decision.findings if decision is not None else [f.as_dict() for f in evaluate(deps, app)]
    return {
        "id": app.id,
        "reference": reference_of(app.id),
        "state": app.state,
        "kind": app.kind,
        "channel": app.channel,
        "subject": {"name": app.subject_name_masked, "id_number": app.subject_id_masked},
        "submitted_at": app.submitted_at.isoformat() if app.submitted_at else None,
        "accepted_at": app.accepted_at.isoformat() if app.accepted_at else None,
        "deadline": app.deadline.isoformat() if app.deadline else None,
        "deadline_provisional": app.deadline_provisional,
        "decided_at": app.decided_at.isoformat() if app.decided_at else None,
        "findings": findings,
        "returns": [
            {
                "items": r.items,
                "returned_at": r.returned_at.isoformat(),
                "resubmitted_at": r.resubmitted_at.isoformat() if r.resubmitted_at else None,
            }
            for r in rounds_of(deps, app.id)
        ],
    }
