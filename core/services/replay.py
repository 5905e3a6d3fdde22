"""Replayable decisions: what a decision was judged on is recorded with it, and can be judged again.

A decision records the rule set's identity, a digest of the document, and the records snapshot
the rules were given (with the day and the already-holds flag). Replaying runs today's rules
on exactly that, so it answers "would these rules say the same on what was judged"; a live
replay swaps in the records the source holds today (the same document, day and flag), so it
answers "what did a records import since then change".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govcred.core import models
from govcred.core.exceptions import NotFound
from govcred.core.repository import DecisionBasis
from govcred.core.ruleset import digest, ruleset_identity
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.eligibility import all_findings


def _records_snapshot(records: models.PersonRecords) -> dict[str, Any]:
    return {"source": records.source, "data": dict(records.data)}


def record_basis(
    deps: Collaborators, uow, decision: models.Decision, app: models.Application, context: models.EligibilityContext
) -> DecisionBasis:
    """Store what ``decision`` was judged on, in the decision's own transaction."""
    snapshot = _records_snapshot(context.records)
    basis = DecisionBasis(
        decision_id=decision.id,
        ruleset=ruleset_identity(deps.pm, deps.credential_types),
        input_digest=digest(app.document),
        records_digest=digest(snapshot),
        as_of=context.as_of,
        already_holds=bool(context.already_holds),
        records=snapshot,
    )
    uow.decision_bases.add(basis)
    return basis


@dataclass(frozen=True)
class Replay:
    basis: DecisionBasis
    #: the rule set replaying now (it differs from ``basis.ruleset`` after an upgrade)
    current_ruleset: str
    #: the document still has the digest that was recorded
    document_intact: bool
    recorded: list[dict[str, Any]]
    replayed: list[dict[str, Any]]
    live: bool

    @property
    def identical(self) -> bool:
        return self.recorded == self.replayed

    @property
    def only_recorded(self) -> list[dict[str, Any]]:
        return [f for f in self.recorded if f not in self.replayed]

    @property
    def only_replayed(self) -> list[dict[str, Any]]:
        return [f for f in self.replayed if f not in self.recorded]


def replay(deps: Collaborators, app_id: str, *, live: bool = False) -> Replay:
    """Judge ``app_id``'s decision again: on its recorded records snapshot, or with ``live``
    on the records the source holds today. Raises NotFound without a recorded basis."""
    with deps.uow(readonly=True) as uow:
        app = uow.applications.get(app_id)
        decision = uow.decisions.for_application(app_id)
        basis = uow.decision_bases.get(decision.id) if decision is not None else None
        if basis is None:
            raise NotFound(
                "该申请没有可重放的审批记录（尚未审批，或审批早于记录审批依据）", code="DECISION_NOT_REPLAYABLE"
            )
        credential_type = deps.credential_types[app.schema]
        if live:
            found = deps.pm.hook.govcred_person_records(
                id_number=credential_type.subject(app.document)["id_number"],
                as_of=deps.clock.today_beijing(),
                settings=deps.settings,
                uow=uow,
            )
            records = found or models.PersonRecords(source="none")
        else:
            records = models.PersonRecords(data=basis.records["data"], source=basis.records["source"])
        context = models.EligibilityContext(
            as_of=basis.as_of, records=records, settings=deps.settings, already_holds=basis.already_holds
        )
        findings = all_findings(deps.pm, credential_type, app, context)
    return Replay(
        basis=basis,
        current_ruleset=ruleset_identity(deps.pm, deps.credential_types),
        document_intact=digest(app.document) == basis.input_digest,
        recorded=list(decision.findings),
        replayed=[f.as_dict() for f in findings],
        live=live,
    )
