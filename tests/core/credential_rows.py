"""Credential rows for tests of status, presentations and the verifier, written straight
through the unit of work (the issuing service is not what these tests are about)."""

from __future__ import annotations

import datetime as dt
import itertools

from govcred.core import models
from govcred.core.status import status_claim
from govcred.core.tokens import CREDENTIAL, issue_token
from govcred.plugins.zhejiang_residence.benefits import benefit_mask

_phones = itertools.count(13800000000)
CANARY_ID = "110101199001011237"
CANARY_ADDRESS = "浙江省丽水市青田县鹤城街道江滨路18号"


def make_credential(
    rt,
    *,
    owner: bool = True,
    status: str = models.VALID,
    days: int = 300,
    benefits=("compulsory_education", "public_employment"),
) -> models.Credential:
    """A signed credential of the canary holder, its application approved, its index allocated."""
    now = rt.clock.now()
    with rt.uow() as uow:
        resident = uow.residents.get_or_create(str(next(_phones)), now) if owner else None
        uow.flush()  # no ORM relationship orders the resident before the application
        app = models.Application(
            schema="zj-residence/application@1",
            channel="online",
            document={"applicant": {"name": "张三明", "id_number": CANARY_ID, "address": CANARY_ADDRESS}},
            state=models.APPROVED,
            owner_id=resident.id if resident else None,
            subject_name_masked="张*明",
            subject_id_masked="1101**********1237",
            subject_index="idx-" + models.new_id(),
            county="331121",
            created_at=now,
            decided_at=now,
        )
        uow.applications.add(app)
        uow.flush()
        list_id, idx = rt.collaborators.allocator.status_index(uow, size=rt.settings.status_list_size, now=now)
        credential_id = models.new_id()
        expires = now + dt.timedelta(days=days)
        claims = {
            "iss": rt.settings.issuer,
            "jti": credential_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "ct": "zj-rp",
            "n": "张*明",
            "idm": "1101**********1237",
            "cty": "331121",
            "b": "rr",
            "ben": benefit_mask(tuple(benefits)),
            "status": status_claim(rt.settings.issuer, list_id, idx),
        }
        key = rt.keystore.active_key()
        credential = models.Credential(
            application_id=app.id,
            permit_no="QT" + credential_id[:8],
            credential_type="zj-residence",
            subject_index=app.subject_index,
            issued_at=now,
            not_before=now,
            expires_at=expires,
            kid=key.kid,
            token=issue_token(CREDENTIAL, claims, key, clock=rt.clock),
            claims=claims,
            status_list_id=list_id,
            status_idx=idx,
            id=credential_id,
            status=status,
            owner_id=app.owner_id,
        )
        uow.credentials.add(credential)
        uow.commit()
    return credential
