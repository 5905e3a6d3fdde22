"""Eligibility: every plugin's rules over an application and the person's records, as of a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from govcred.core import models
from govcred.core.credential_types import CredentialType, CredentialTypes
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.documents import validate_document


def evaluate_in(
    deps: Collaborators, uow, app: models.Application, as_of: dt.date | None
) -> tuple[list[models.Finding], models.EligibilityContext]:
    """Every finding for ``app`` and the context they were found in, inside the caller's unit of work
    (a decision re-evaluates in its own transaction, and issuance reads the context)."""
    as_of = as_of or deps.clock.today_beijing()
    credential_type = deps.credential_types[app.schema]
    subject = credential_type.subject(app.document)
    records = deps.pm.hook.govcred_person_records(
        id_number=subject["id_number"], as_of=as_of, settings=deps.settings, uow=uow
    )
    already_holds = uow.applications.already_holds(app.subject_index, exclude_id=app.id)
    context = models.EligibilityContext(
        as_of=as_of,
        records=records or models.PersonRecords(source="none"),
        settings=deps.settings,
        already_holds=already_holds,
    )
    return all_findings(deps.pm, credential_type, app, context), context


def evaluate_many(
    deps: Collaborators, uow, apps: Sequence[models.Application], as_of: dt.date | None
) -> dict[str, tuple[list[models.Finding], models.EligibilityContext]]:
    """:func:`evaluate_in` for a batch of applications, by application id: the same rules on
    the same inputs, with the records and the already-holds look-ups made for the whole batch
    at once (a query each instead of three a person)."""
    as_of = as_of or deps.clock.today_beijing()
    types = {app.id: deps.credential_types[app.schema] for app in apps}
    id_numbers = {app.id: types[app.id].subject(app.document)["id_number"] for app in apps}
    records = person_records_many(deps, uow, list(id_numbers.values()), as_of)
    subjects = {app.subject_index for app in apps}
    holding = uow.credentials.subjects_holding(subjects)
    in_progress = uow.applications.in_progress_by_subject(subjects)
    judged = {}
    for app in apps:
        context = models.EligibilityContext(
            as_of=as_of,
            records=records.get(id_numbers[app.id]) or models.PersonRecords(source="none"),
            settings=deps.settings,
            already_holds=app.subject_index in holding or bool(in_progress.get(app.subject_index, set()) - {app.id}),
        )
        judged[app.id] = (all_findings(deps.pm, types[app.id], app, context), context)
    return judged


def person_records_many(deps: Collaborators, uow, id_numbers: Sequence[str], as_of: dt.date) -> dict[str, Any]:
    """Each person's records from the first source that knows them, as
    ``govcred_person_records`` would answer person by person."""
    hook = deps.pm.hook
    one = {impl.plugin for impl in hook.govcred_person_records.get_hookimpls()}
    many = {impl.plugin for impl in hook.govcred_person_records_many.get_hookimpls()}
    if one != many:  # a source that answers one person at a time: ask it so, in its place
        return {
            n: hook.govcred_person_records(id_number=n, as_of=as_of, settings=deps.settings, uow=uow)
            for n in id_numbers
        }
    found: dict[str, Any] = {}
    for answer in hook.govcred_person_records_many(
        id_numbers=list(id_numbers), as_of=as_of, settings=deps.settings, uow=uow
    ):
        for id_number, records in (answer or {}).items():
            if records is not None:
                found.setdefault(id_number, records)
    return found


def all_findings(
    pm, credential_type: CredentialType, app: models.Application, context: models.EligibilityContext
) -> list[models.Finding]:
    """The type's own rules, then every plugin's extra rules: all of them, always."""
    findings = list(credential_type.eligibility_findings(app, context))
    for part in pm.hook.govcred_eligibility_rules(application=app, context=context):
        findings.extend(part or ())
    return findings


def evaluate(deps: Collaborators, app: models.Application, *, as_of: dt.date | None = None) -> list[models.Finding]:
    """Every finding of every plugin's rules for ``app`` on ``as_of`` (default: today, Beijing)."""
    with deps.uow(readonly=True) as uow:
        return evaluate_in(deps, uow, app, as_of)[0]


def dry_run(pm, settings, credential_types: CredentialTypes, document: Any, as_of: dt.date) -> list[models.Finding]:
    """Evaluate a document without storing it, with the records it declares itself."""
    validate_document(credential_types, document)
    credential_type = credential_types[document["schema"]]
    app = models.Application(
        schema=document["schema"], channel=str(document.get("channel", "online")), document=dict(document)
    )
    records = credential_type.records_from_document(document)
    context = models.EligibilityContext(as_of=as_of, records=records, settings=settings)
    return all_findings(pm, credential_type, app, context)
