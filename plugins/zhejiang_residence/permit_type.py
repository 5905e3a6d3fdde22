"""The 浙江省居住证 as one credential type: what core asks about it, for one county."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from govcred.core import (
    Application,
    Credential,
    CredentialType,
    Decision,
    EligibilityContext,
    FieldError,
    Finding,
    IdentityPaths,
    PersonRecords,
)
from govcred.plugins.zhejiang_residence import claims as _claims
from govcred.plugins.zhejiang_residence import document as _document
from govcred.plugins.zhejiang_residence import endorsement as _endorsement
from govcred.plugins.zhejiang_residence import form_checks as _form_checks
from govcred.plugins.zhejiang_residence import paper_form as _paper_form
from govcred.plugins.zhejiang_residence import rules as _rules
from govcred.plugins.zhejiang_residence.benefits import benefit_labels
from govcred.plugins.zhejiang_residence.county import CountyConfig
from govcred.plugins.zhejiang_residence.identifiers import normalise_id
from govcred.plugins.zhejiang_residence.rule_labels import RULE_LABELS

CREDENTIAL_TYPE = "zj-residence-permit"


class ResidencePermitType(CredentialType):
    """The permit of the county ``config`` names; every method reads that county, no other."""

    name = CREDENTIAL_TYPE
    application_schema = _document.SCHEMA
    #: the real-name identity fills the applicant (in person) or the agent (a guardian or close relative)
    identity_paths = IdentityPaths(
        applicant_name="applicant.name",
        applicant_id_number="applicant.id_number",
        agent="agent",
        agent_name="agent.name",
        agent_id_number="agent.id_number",
        agent_relation="agent.relation",
    )
    display_name = "浙江省居住证"
    #: every benefit a permit can cover (what a verifier may ask); the county's own list
    #: decides which of them its permits' ``ben`` mask sets
    benefits = benefit_labels()

    def __init__(self, config: CountyConfig):
        self.config = config

    def __repr__(self) -> str:
        return f"ResidencePermitType({self.config.county_code} {self.config.county_name})"

    def validate(self, document: Mapping[str, Any]) -> list[FieldError]:
        return _document.validate_document(document)

    def form_errors(self, document: Mapping[str, Any], today: dt.date) -> list[FieldError]:
        return _form_checks.form_errors(document, today)

    def form_layout(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return _form_checks.form_layout(document)

    def paper_form(self, document: Mapping[str, Any] | None, facts: Mapping[str, str]) -> bytes:
        return _paper_form.paper_form(document, facts, self.config.county_name)

    def subject(self, document: Mapping[str, Any]) -> Mapping[str, str]:
        applicant = document["applicant"]
        return {
            "name": applicant["name"].strip(),
            "id_number": normalise_id(applicant["id_number"]),
            "phone": applicant["phone"],
            "county": self.config.county_code,
        }

    def records_from_document(self, document: Mapping[str, Any]) -> PersonRecords:
        return _document.records_from_document(document)

    def eligibility_findings(self, application: Application, context: EligibilityContext) -> list[Finding]:
        if application.kind == _endorsement.ENDORSEMENT:
            return _endorsement.endorsement_findings(application.document, context, self.config)
        return _rules.evaluate(application.document, context, self.config)

    def claims(self, application: Application, decision: Decision, context: EligibilityContext) -> Mapping[str, Any]:
        if application.kind in (_endorsement.ENDORSEMENT, _endorsement.REPLACEMENT):
            return _endorsement.reissue_claims(
                application.kind, application.document, context, decision.decided_at, self.config
            )
        return _claims.credential_claims(application.document, context, decision.decided_at, self.config)

    def benefit_check(self, claims: Mapping[str, Any], benefit: str) -> bool | None:
        return _claims.benefit_check(claims, benefit)

    def rule_labels(self) -> Mapping[str, str]:
        return RULE_LABELS

    def residence_start(self, claims: Mapping[str, Any]) -> dt.date | None:
        return _claims.residence_start_of(claims)

    def endorsement_window(self, credential: Credential) -> tuple[dt.date, dt.date]:
        return _endorsement.window_for(_endorsement.anniversary_of(credential))
