"""Resident sign-in codes: a 6-digit code by SMS, emitted as a ``login_code`` notification.

Shared by the API (``POST /api/v1/auth/sms-code`` and ``/resident-token``) and the resident
pages, so both follow one policy: five guesses per code, five minutes validity, only a keyed
hash of the code stored (the plugin that delivers it keeps the phone number encrypted in its
outbox row), and sends limited per number, per source address and in total (settings
``login_codes_per_number``, ``login_codes_per_address``, ``login_codes_total``; SMS bombing and
pumping, W-07), each refusal a 429 with ``Retry-After``. Asking for a code says nothing about
whether the number has an account: the account is created when a code is first confirmed.

Concurrency: sends are counted by :mod:`govcred.core.ratelimit` (one atomic upsert per
limit), and a guess is counted by ONE conditional statement, ``UPDATE ... SET attempts =
attempts + 1 WHERE ... AND attempts < 5 RETURNING code_hash``, before the code is compared:
thirty guesses racing on SQLite or PostgreSQL leave the code unusable after five.

Each code is bound to the request that asked for it: the requester gets its ``code_id`` and
gives it back with the code. A code someone else asks for the same number is another row, so
it never replaces (nor do guesses against it use up) the holder's live code.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from govcred.core import models
from govcred.core.accounts.identity_settings import require_sms_sign_in
from govcred.core.exceptions import AuthenticationRequired, ErrorList
from govcred.core.models import new_id
from govcred.core.orm import login_codes
from govcred.core.ratelimit import DatabaseStorage, Limit, hit_all
from govcred.core.services.collaborators import Collaborators

PHONE = re.compile(r"1[3-9]\d{9}")
CODE = re.compile(r"\d{6}")
CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_GUESSES = 5


@dataclass(frozen=True)
class SentCode:
    """What the requester keeps: which code to confirm, and for how long it lives."""

    code_id: str
    expires_in: int


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


def check_code_id(code_id, errors: ErrorList) -> str:
    if not isinstance(code_id, str) or not 1 <= len(code_id) <= 36:
        errors.add("code_id", "CODE_ID_INVALID", "请先获取验证码（缺少 code_id）")
        return ""
    return code_id


def _code_hash(deps: Collaborators, code_id: str, code: str) -> str:
    return deps.blind_index(code, f"login-code|{code_id}")


def _send_limits(deps: Collaborators, phone_index: str, ip: str) -> list[tuple[Limit, str]]:
    """Per number first: a request refused for its number uses up nothing else."""
    settings = deps.settings
    return [
        (
            Limit(
                settings.login_codes_per_number,
                "sms-number",
                "SMS_RATE_LIMITED",
                "该号码获取验证码过于频繁，请稍后再试",
            ),
            phone_index,
        ),
        (
            Limit(
                settings.login_codes_per_address,
                "sms-address",
                "SMS_ADDRESS_RATE_LIMITED",
                "获取验证码过于频繁，请稍后再试",
            ),
            deps.blind_index(ip or "-", "source-address"),  # no address kept in plain text
        ),
        (Limit(settings.login_codes_total, "sms-total", "SMS_BUSY", "当前获取验证码的人数较多，请稍后再试"), "all"),
    ]


def send_login_code(deps: Collaborators, phone: str, *, ip: str) -> SentCode:
    """Queue a new code for ``phone`` asked from address ``ip``; raises RateLimited (429)."""
    require_sms_sign_in(deps.settings)
    errors = ErrorList()
    phone = check_phone(phone, errors)
    errors.raise_if_any()
    phone_index = deps.blind_index(phone, "phone")
    # counted before the transaction below, each in its own: on SQLite one write at a time
    hit_all(DatabaseStorage(deps.uow, deps.clock), deps.clock, _send_limits(deps, phone_index, ip))
    now = deps.clock.now()
    with deps.uow() as uow:
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
    return SentCode(code_id, int(CODE_LIFETIME.total_seconds()))


def redeem_login_code(uow, deps: Collaborators, phone: str, code: str, *, code_id: str, action: str) -> models.Resident:
    """Consume the live code ``code_id`` of ``phone`` inside ``uow``; the resident (created on
    first use) or AuthenticationRequired. A failure is audited and committed before raising."""
    require_sms_sign_in(deps.settings)
    errors = ErrorList()
    phone = check_phone(phone, errors)
    code = check_code(code, errors)
    code_id = check_code_id(code_id, errors)
    errors.raise_if_any()
    now = deps.clock.now()
    c = login_codes.c
    live = sa.and_(
        c.id == code_id,
        c.phone_index == deps.blind_index(phone, "phone"),
        c.used_at.is_(None),
        c.expires_at > now,
    )
    # the guess is counted (and the sixth refused) before the code is even compared
    guessed = uow.session.execute(
        sa.update(login_codes)
        .where(live, c.attempts < MAX_GUESSES)
        .values(attempts=c.attempts + 1)
        .returning(c.code_hash)
    ).first()
    ok = guessed is not None and hmac.compare_digest(guessed.code_hash, _code_hash(deps, code_id, code))
    if ok:  # two right guesses at once: only one marks the code used
        ok = uow.session.execute(sa.update(login_codes).where(live).values(used_at=now)).rowcount == 1
    if not ok:
        uow.audit.append(
            actor="anonymous",
            role="resident",
            action=action,
            object_type="login_code",
            object_id=code_id if guessed is not None else "-",
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
