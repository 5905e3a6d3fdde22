"""A first-issue 浙江省居住证 for lifecycle tests, issued by the real issuance function with the
real plugin claims (the intake and review path is not what these tests are about), and a
status read straight from the signed status list, as a verifier would see it."""

from __future__ import annotations

import datetime as dt
import itertools

from govcred.core import models
from govcred.core.accounts.officers import Principal
from govcred.core.clock import BEIJING
from govcred.core.tokens import CREDENTIAL, verify_token
from govcred.plugins.zhejiang_residence.identifiers import id_check_char

SCHEMA = "zj-residence/application@1"
_people = itertools.count(100)


def make_officer(rt, role: str) -> Principal:
    """A stored officer account (applications and decisions reference officers by key)."""
    from govcred.core.accounts.officers import create_officer

    with rt.uow() as uow:
        officer = create_officer(
            uow,
            username=f"{role}-{next(_people)}",
            display_name=role,
            role=role,
            password="a long test password 1",
            now=rt.clock.now(),
        )
        uow.commit()
    return Principal("officer", officer.id, role, role, factor_at=rt.clock.now())


def beijing(y, m, d, hh=10, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BEIJING)


def document(id_number: str, phone: str = "13800138000") -> dict:
    return {
        "schema": SCHEMA,
        "path": "registration_recognition",
        "channel": "online",
        "applicant": {
            "name": "张三明",
            "id_number": id_number,
            "phone": phone,
            "hukou_division": "330102",
            "hukou_address": "杭州市上城区某路1号",
        },
        "agent": None,
        "residence": {"division": "331121001", "address": "青田县鹤城街道某路2号"},
        "conditions": [
            {
                "kind": "employment",
                "proof": "labor_contract",
                "employer": "青田某贸易有限公司",
                "employer_uscc": "91331121MA2H111104",
                "division": "331121",
                "since": "2025-01-01",
                "until": None,
                "attachments": ["att-1"],
            }
        ],
        "existing_permit": None,
        "registrations": [{"division": "331121", "declared": "2025-06-30", "ended": None}],
        "waiver": None,
        "commitment": {"accepted": True, "at": "2026-02-20T09:30:00+08:00"},
    }


def new_id_number() -> str:
    body = "330102" + "19900307" + f"{next(_people) % 1000:03d}"
    return body + id_check_char(body)


def issue_permit(rt, *, owner_phone: str | None = "13800138000") -> models.Credential:
    """Approve an application now (the runtime's clock) and issue its credential."""
    from govcred.core.services.issuance import issue_credential

    now = rt.clock.now()
    id_number = new_id_number()
    key = rt.keystore.active_key()
    with rt.uow() as uow:
        resident = uow.residents.get_or_create(owner_phone, now) if owner_phone else None
        uow.flush()
        app = models.Application(
            schema=SCHEMA,
            channel="online",
            document=document(id_number),
            owner_id=resident.id if resident else None,
            subject_name_masked="张*明",
            subject_id_masked=id_number[:4] + "*" * 10 + id_number[-4:],
            subject_index=rt.secrets.index(id_number, "id_number"),
            county="331121",
            created_at=now,
        )
        app.submit(now)
        app.accept(now, now + dt.timedelta(days=2), False)
        app.decide(True, now)
        uow.applications.add(app)
        uow.flush()
        decision = models.Decision(
            application_id=app.id, approved=True, findings=[], officer_reasons=[], reviewer_id=None, decided_at=now
        )
        uow.decisions.add(decision)
        records = rt.credential_types[app.schema].records_from_document(app.document)
        context = models.EligibilityContext(as_of=now.astimezone(BEIJING).date(), records=records, settings=rt.settings)
        credential = issue_credential(rt.collaborators, uow, app, decision, context, key, now)
        uow.commit()
    return credential


def list_status(rt, credential: models.Credential) -> int:
    """The 2-bit value of the credential in its freshly signed status list (0 valid, 1 invalid, 2 suspended)."""
    from govcred.core.keys import KeySet
    from govcred.verifier.statuslist import parse_status_list

    signed = rt.status_list_publisher.current(credential.status_list_id)
    keys = KeySet.from_jwks(rt.keystore.jwks(), issuer=rt.settings.issuer)
    uri = credential.claims["status"]["status_list"]["uri"]
    return parse_status_list(signed.token, keys, uri, clock=rt.clock).value_at(credential.status_idx)


def token_claims(rt, credential: models.Credential) -> dict:
    """The verified claims of the credential's token at the runtime's clock (raises when expired)."""
    from govcred.core.keys import KeySet

    keys = KeySet.from_jwks(rt.keystore.jwks(), issuer=rt.settings.issuer)
    return verify_token(credential.token, CREDENTIAL, keys, clock=rt.clock).claims
