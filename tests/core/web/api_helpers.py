"""Signing in through the API the way clients do: residents by SMS code, officers by password."""

from __future__ import annotations

import io
import re
import uuid

import pyotp
import sqlalchemy as sa

from govcred.core.accounts.totp import enrol
from govcred.core.orm import outbox
from tests.core.workflow_helpers import PASSWORD, officer, png_bytes


def sms_code_sent(rt, phone: str) -> str:
    """The code in the last login SMS queued in the outbox for ``phone`` (the phone and the
    code travel encrypted in the row, as the SMS worker sees them; gone once delivered)."""
    from govcred.core.outbox import reveal_secrets

    with rt.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.id, outbox.c.payload)
            .where(outbox.c.event_type == "login.code")
            .order_by(outbox.c.created_at)
        ).all()
    sent = [reveal_secrets(rt.secrets.cipher, i, p) for i, p in rows]
    codes = [secret["code"] for secret in sent if secret.get("phone") == phone]
    return codes[-1]


def resident_headers(client, rt, phone: str) -> dict[str, str]:
    sent = client.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert sent.status_code == 202, sent.get_json()
    body = {"phone": phone, "code": sms_code_sent(rt, phone), "code_id": sent.get_json()["code_id"]}
    r = client.post("/api/v1/auth/resident-token", json=body)
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def officer_headers(client, rt, role: str, username: str) -> dict[str, str]:
    """A new officer (with a TOTP seed) signed in through the API: password and TOTP code."""
    officer(rt, role, username)
    return officer_sign_in(client, rt, username)


def officer_sign_in(client, rt, username: str) -> dict[str, str]:
    """The officer (given a new TOTP seed) signs in through the API: password and TOTP code."""
    with rt.uow() as uow:
        uri = enrol(uow, uow.officers.by_username(username), rt.secrets.cipher)
        uow.commit()
    seed = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD, "totp": totp_now(seed, rt)})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def totp_now(seed: str, rt) -> str:
    totp = pyotp.TOTP(seed)
    return totp.generate_otp(totp.timecode(rt.clock.now()))


def with_key(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or str(uuid.uuid4())}


def upload_proof(client, headers, data: bytes | None = None, name: str = "proof.png"):
    return client.post(
        "/api/v1/attachments",
        headers=headers,
        data={"file": (io.BytesIO(data or png_bytes()), name)},
        content_type="multipart/form-data",
    )
