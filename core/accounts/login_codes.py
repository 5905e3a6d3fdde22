"""Resident sign-in codes: a 6-digit code by SMS, emitted as a ``login_code`` notification.

Shared by the API (``POST /api/v1/auth/sms-code`` and ``/resident-token``) and the resident
pages, so both follow one policy: at most five codes per phone number per hour (SMS bombing,
W-07), five guesses per code, five minutes validity, only a keyed hash of the code stored (the
plugin that delivers it keeps the phone number encrypted in its outbox row). Asking for a code
says nothing about whether the number has an account: the account is created when a code is
first confirmed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets

import sqlalchemy as sa

from govcred.core import models
from govcred.core.accounts.identity_settings import require_sms_sign_in
from govcred.core.exceptions import AuthenticationRequired, ErrorList, RateLimited
from govcred.core.models import new_id
from govcred.core.orm import login_codes
from govcred.core.services.collaborators import Collaborators

PHONE = re.compile(r"1[3-9]\d{9}")
CODE = re.compile(r"\d{6}")
CODES_PER_HOUR = 5
CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_GUESSES = 5


def check_phone(phone, errors: ErrorList) -> str:
    if not isinstance(phone, str) or not PHONE.fullmatch(phone):
        errors.add("phone", "PHONE_INVALID", "请填写 11 位手机号码")
        return ""
    return phone


def check_code(code, errors: ErrorList) -> str:
    if not isinstance(code, str) or not CODE.fullmatch(code):
        errors.add("code", "CODE_INVALID", "请填写 6 位数字验证码")
        return ""
    return code


def _code_hash(deps: Collaborators, code_id: str, code: str) -> str:
    return deps.blind_index(code, f"login-code|{code_id}")


def send_login_code(deps: Collaborators, phone: str) -> int:
    """Queue a new code for ``phone``; returns its lifetime in seconds."""
    require_sms_sign_in(deps.settings)
    errors = ErrorList()
    phone = check_phone(phone, errors)
    errors.raise_if_any()
    now = deps.clock.now()
    phone_index = deps.blind_index(phone, "phone")
    with deps.uow() as uow:
        sent = (
            uow.session.execute(
                sa.select(sa.func.count())
                .select_from(login_codes)
                .where(
                    login_codes.c.phone_index == phone_index,
                    login_codes.c.created_at > now - dt.timedelta(hours=1),
                )
            ).scalar()
            or 0
        )
        if sent >= CODES_PER_HOUR:
            raise RateLimited("验证码发送过于频繁，请一小时后再试", code="SMS_RATE_LIMITED")
        code_id, code = new_id(), f"{secrets.randbelow(10**6):06d}"
        uow.session.execute(
            sa.insert(login_codes).values(
                id=code_id,
                phone_index=phone_index,
                code_hash=_code_hash(deps, code_id, code),
                created_at=now,
                expires_at=now + CODE_LIFETIME,
                attempts=0,
            )
        )
        deps.notifier.login_code(uow.outbox, phone, code, code_id=code_id, now=now)
        uow.audit.append(
            actor="anonymous", role="resident", action="auth.sms_code", object_type="login_code", object_id=code_id
        )
        uow.commit()
    return int(CODE_LIFETIME.total_seconds())


def redeem_login_code(uow, deps: Collaborators, phone: str, code: str, *, action: str) -> models.Resident:
    """Consume the latest live code for ``phone`` inside ``uow``; the resident (created on first
    use) or AuthenticationRequired. A failure is audited and committed before raising."""
    require_sms_sign_in(deps.settings)
    errors = ErrorList()
    phone = check_phone(phone, errors)
    code = check_code(code, errors)
    errors.raise_if_any()
    now = deps.clock.now()
    row = (
        uow.session.execute(
            sa.select(login_codes)
            .where(
                login_codes.c.phone_index == deps.blind_index(phone, "phone"),
                login_codes.c.used_at.is_(None),
                login_codes.c.expires_at > now,
            )
            .order_by(login_codes.c.created_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    ok = (
        row is not None
        and row["attempts"] < MAX_GUESSES
        and hmac.compare_digest(row["code_hash"], _code_hash(deps, row["id"], code))
    )
    if row is not None:
        uow.session.execute(
            sa.update(login_codes)
            .where(login_codes.c.id == row["id"])
            .values(attempts=row["attempts"] + 1, used_at=now if ok else None)
        )
    if not ok:
        uow.audit.append(
            actor="anonymous",
            role="resident",
            action=action,
            object_type="login_code",
            object_id=row["id"] if row else "-",
            outcome="failure",
        )
        uow.commit()
        raise AuthenticationRequired("验证码错误或已过期", code="LOGIN_FAILED")
    resident = uow.residents.get_or_create(phone, now)
    uow.flush()
    uow.audit.append(
        actor=f"resident:{resident.id}", role="resident", action=action, object_type="resident", object_id=resident.id
    )
    return resident
