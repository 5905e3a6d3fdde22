"""浙江省居住证 (Zhejiang residence permit): eligibility rules, claims and benefits.

The county is configuration (``[plugins.zhejiang_residence]``, Qingtian by default). Only
thin hook implementations live here; the logic is in the modules next to this one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from govcred.core import hookimpl
from govcred.plugins.zhejiang_residence import claims as _claims
from govcred.plugins.zhejiang_residence import county as _county
from govcred.plugins.zhejiang_residence import document as _document
from govcred.plugins.zhejiang_residence import endorsement as _endorsement
from govcred.plugins.zhejiang_residence import rules as _rules
from govcred.plugins.zhejiang_residence.benefits import BENEFITS, benefit_labels
from govcred.plugins.zhejiang_residence.identifiers import normalise_id

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    from govcred.core.config import Settings
    from govcred.core.models import Application, Credential, Decision, EligibilityContext, Finding, PersonRecords

CREDENTIAL_TYPE = "zj-residence-permit"
SCHEMA = _document.SCHEMA


def _ours(document: Any) -> bool:
    return isinstance(document, Mapping) and document.get("schema") == SCHEMA


@hookimpl
def govcred_configure(settings: "Settings") -> None:
    _county.configure(settings)


@hookimpl
def govcred_credential_types(register: Callable[..., None]) -> None:
    register(
        CREDENTIAL_TYPE,
        application_schema=SCHEMA,
        display_name="浙江省居住证",
        benefits=benefit_labels(_county.county_config(None).benefits),
    )


@hookimpl
def govcred_validate_application(document: Mapping[str, Any]) -> list | None:
    return _document.validate_document(document) if _ours(document) else None


@hookimpl
def govcred_application_subject(document: Mapping[str, Any]) -> Mapping[str, str] | None:
    if not _ours(document):
        return None
    applicant = document["applicant"]
    return {
        "name": applicant["name"].strip(),
        "id_number": normalise_id(applicant["id_number"]),
        "phone": applicant["phone"],
        "county": _county.county_config(None).county_code,
    }


@hookimpl
def govcred_records_from_document(document: Mapping[str, Any]) -> "PersonRecords | None":
    return _document.records_from_document(document) if _ours(document) else None


@hookimpl
def govcred_eligibility_rules(application: "Application", context: "EligibilityContext") -> "list[Finding] | None":
    if application.schema != SCHEMA:
        return None
    if application.kind == _endorsement.ENDORSEMENT:
        return _endorsement.endorsement_findings(application.document, context)
    return _rules.evaluate(application.document, context)


@hookimpl
def govcred_credential_claims(application: "Application", decision: "Decision", context: "EligibilityContext") -> Mapping[str, Any] | None:
    if application.schema != SCHEMA:
        return None
    if application.kind in (_endorsement.ENDORSEMENT, _endorsement.REPLACEMENT):
        return _endorsement.reissue_claims(application.kind, application.document, context, decision.decided_at)
    return _claims.credential_claims(application.document, context, decision.decided_at)


@hookimpl
def govcred_endorsement_window(credential: "Credential") -> "tuple[dt.date, dt.date] | None":
    if credential.credential_type != CREDENTIAL_TYPE:
        return None
    return _endorsement.window_for(_endorsement.anniversary_of(credential))


@hookimpl
def govcred_benefit_codes(register: Callable[[str, str], None]) -> None:
    for benefit in BENEFITS.values():
        register(benefit.code, benefit.label_zh)


@hookimpl
def govcred_benefit_check(claims: Mapping[str, Any], benefit: str) -> bool | None:
    return _claims.benefit_check(claims, benefit)


# ---- person records (built-in source, filled by `govcred records import`) -------------------


@hookimpl
def govcred_person_records(id_number: str, as_of: Any, settings: "Settings") -> "PersonRecords | None":
    from govcred.plugins.zhejiang_residence import records_store

    return records_store.lookup(settings, id_number)


@hookimpl
def govcred_migrations():
    from pathlib import Path

    from govcred.core.models import MigrationSource
    from govcred.plugins.zhejiang_residence.records_store import metadata

    return MigrationSource("zhejiang_residence", Path(__file__).with_name("migrations"), metadata)


@hookimpl
def govcred_cli_commands(cli: Any) -> None:
    from govcred.plugins.zhejiang_residence.records_import import records

    cli.add_command(records)


@hookimpl
def govcred_demo_journey(now):
    from govcred.plugins.zhejiang_residence.demo import demo_journey

    return demo_journey(now)
