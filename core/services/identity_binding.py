"""Applications bound to the signed-in person (issue 11).

With a real-name identity (a resident signed in through an identity provider), the
applicant's name and ID number are the identity's: applying in person, the document's
applicant must be the person; applying as an agent (a guardian or close relative of a
minor, an elderly or a disabled person), the document's agent must be the person and the
applicant someone else, and the declared relation goes to the reviewer, who confirms it
against the uploaded proof. A document that differs is refused with a message naming what
differs. The pages fill those fields from the identity (shown read-only, whatever the form
sent); the API's documents are checked the same way in :func:`application_identity`.

Without one (the SMS-code sign-in, a window intake) nothing is bound; the record says which
source the application rests on, so that the reviewer and the audit log know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govcred.core.accounts.identity import SOURCE_SMS, SOURCE_WINDOW
from govcred.core.accounts.officers import Principal
from govcred.core.credential_types import CredentialType, IdentityPaths
from govcred.core.exceptions import FieldError
from govcred.core.masking import mask_identifier, mask_name
from govcred.core.repository.accounts import ResidentIdentity

APPLICANT, AGENT = "applicant", "agent"


def _get(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _same_id(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.strip().upper() == b.strip().upper()


def acting_as(paths: IdentityPaths | None, document: Any) -> str:
    """``agent`` when the document names an agent, else ``applicant``."""
    if paths is None:
        return APPLICANT
    agent = _get(document, paths.agent)
    return AGENT if isinstance(agent, Mapping) and any(v not in (None, "") for v in agent.values()) else APPLICANT


@dataclass(frozen=True)
class FormBinding:
    """What the form shows of the identity, and the fields it fills (read-only)."""

    name: str
    id_masked: str
    provider: str
    assurance: str
    acting_as: str
    locked: Mapping[str, str]
    #: the fields of the other role, emptied when applying in person
    cleared_prefix: str


def form_binding(identity: ResidentIdentity | None, credential_type: CredentialType, mode: str) -> FormBinding | None:
    """The fields a real-name resident's form fills from their identity (``mode``: applying
    in person, ``applicant``, or as an ``agent``); None without an identity."""
    paths = credential_type.identity_paths
    if identity is None or paths is None:
        return None
    mode = AGENT if mode == AGENT else APPLICANT
    if mode == AGENT:
        locked = {paths.agent_name: identity.name, paths.agent_id_number: identity.id_number}
    else:
        locked = {paths.applicant_name: identity.name, paths.applicant_id_number: identity.id_number}
    return FormBinding(
        name=identity.name,
        id_masked=mask_identifier(identity.id_number),
        provider=identity.provider,
        assurance=identity.assurance,
        acting_as=mode,
        locked=locked,
        cleared_prefix="" if mode == AGENT else paths.agent + ".",
    )


def resident_form_binding(deps, principal: Principal, schema: str, mode: str) -> FormBinding | None:
    """:func:`form_binding` for the signed-in resident (None for an SMS-code account)."""
    with deps.uow(readonly=True) as uow:
        identity = uow.residents.identity_of(principal.id)
    credential_type = deps.credential_types.get(schema)
    return form_binding(identity, credential_type, mode) if credential_type is not None else None


def bind_form_pairs(pairs: list[tuple[str, str]], binding: FormBinding | None) -> list[tuple[str, str]]:
    """The form's ``(name, value)`` pairs with the identity's values in the locked fields
    (whatever was sent there) and, applying in person, no agent fields."""
    if binding is None:
        return pairs
    kept = [
        (k, v)
        for k, v in pairs
        if k not in binding.locked and not (binding.cleared_prefix and k.startswith(binding.cleared_prefix))
    ]
    return kept + list(binding.locked.items())


def _mismatches(document: Any, identity: ResidentIdentity, name_path: str, id_path: str, who: str) -> list[FieldError]:
    errors = []
    name, number = _get(document, name_path), _get(document, id_path)
    if not isinstance(name, str) or name.strip() != identity.name:
        errors.append(
            FieldError(
                name_path,
                "IDENTITY_NAME_MISMATCH",
                f"{who}姓名与您实名认证的姓名（{mask_name(identity.name)}）不一致，以实名认证为准",
            )
        )
    if not _same_id(number, identity.id_number):
        errors.append(
            FieldError(
                id_path,
                "IDENTITY_ID_MISMATCH",
                f"{who}公民身份号码与您实名认证的号码（{mask_identifier(identity.id_number)}）不一致，以实名认证为准",
            )
        )
    return errors


def application_identity(
    principal: Principal,
    identity: ResidentIdentity | None,
    credential_type: CredentialType,
    document: Any,
    channel: str,
) -> tuple[dict[str, Any], list[FieldError]]:
    """What the application rests on (stored with it; no personal data beyond masks) and,
    for a real-name resident, every way the document differs from their identity."""
    paths = credential_type.identity_paths
    role = acting_as(paths, document)
    record: dict[str, Any] = {"acting_as": role}
    if role == AGENT and paths is not None:
        record["relation"] = _get(document, paths.agent_relation)
    if channel == "window" or principal.kind != "resident":
        record.update(source=SOURCE_WINDOW, verified_by="clerk")
        return record, []
    if identity is None:
        record.update(source=SOURCE_SMS, verified=False)
        return record, []
    record.update(source=identity.provider, verified=True, assurance=identity.assurance)
    if paths is None:
        subject = credential_type.subject(document)
        same = subject.get("name") == identity.name and _same_id(subject.get("id_number"), identity.id_number)
        problem = FieldError("", "IDENTITY_MISMATCH", "申请人的姓名或公民身份号码与您的实名认证不一致")
        return record, [] if same else [problem]
    if role == APPLICANT:
        return record, _mismatches(document, identity, paths.applicant_name, paths.applicant_id_number, "申请人")
    errors = _mismatches(document, identity, paths.agent_name, paths.agent_id_number, "代办人")
    if _same_id(_get(document, paths.applicant_id_number), identity.id_number):
        errors.append(
            FieldError(
                paths.applicant_id_number,
                "AGENT_IS_APPLICANT",
                "代他人申请时，申请人不能是您本人；本人申请请选择“本人申请”",
            )
        )
    record.update(
        agent_name_masked=mask_name(identity.name),
        agent_id_masked=mask_identifier(identity.id_number),
    )
    return record, errors
