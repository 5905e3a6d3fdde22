"""The printed application form of a credential type (the 互认转换申请表 for window
applicants), blank or prefilled from an application; the type draws it."""

from __future__ import annotations

from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import NotFound
from govcred.core.reference import reference_of
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.intake import get_application
from govcred.core.services.receipts import date_zh


def form_pdf(deps: Collaborators, app_id: str | None, principal: Principal | None) -> bytes:
    """The form: blank (the first registered type's) without ``app_id``, else prefilled."""
    if app_id is None:
        credential_type = next(iter(deps.credential_types.values()))
        document, facts = None, {}
    else:
        app, _decision = get_application(deps, app_id, principal)
        credential_type = deps.credential_types[app.schema]
        document = app.document
        facts = {"reference": reference_of(app.id), "id_masked": app.subject_id_masked}
        if app.deadline is not None:
            facts["deadline"] = f"{date_zh(app.deadline)}（含）前"
    data = credential_type.paper_form(document, facts)
    if data is None:
        raise NotFound(f"{credential_type.display_name}没有纸质申请表", code="NO_PAPER_FORM")
    return data
