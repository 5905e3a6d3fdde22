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

:func:`issue_code` and :func:`consume_code` are that machinery without the phone: the public
progress look-up (:mod:`govcred.core.services.progress`) binds its codes to a 办件编号's keyed
index instead, with the same guesses, lifetime and limits.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def code_limits(deps: Collaborators, first: tuple[Limit, str], ip: str) -> list[tuple[Limit, str]]:
    """The limits a code request is counted against: ``first`` (what the code is for: a number,
    a 办件编号), then its source address and the total, shared by every kind of code. The
    first one first: a request refused for its number uses up nothing else."""
    settings = deps.settings
    return [
        first,
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

    def deliver(uow, code_id: str, code: str, now: dt.datetime) -> None:
        deps.notifier.login_code(uow.outbox, phone, code, code_id=code_id, now=now)

    per_number = Limit(
        deps.settings.login_codes_per_number, "sms-number", "SMS_RATE_LIMITED", "该号码获取验证码过于频繁，请稍后再试"
    )
    limits = code_limits(deps, (per_number, phone_index), ip)
    return issue_code(deps, phone_index, limits, deliver=deliver, action="auth.sms_code")


def issue_code(
    deps: Collaborators,
    subject_index: str,
    limits: list[tuple[Limit, str]],
    *,
    deliver: Callable[[Any, str, str, dt.datetime], None] | None,
    action: str,
    details: dict | None = None,
) -> SentCode:
    """Count ``limits`` (RateLimited, 429), then store a new code bound to ``subject_index``
    (what it may be redeemed for: a phone's, a 办件编号's keyed index) and hand it to
    ``deliver(uow, code_id, code, now)`` in the same transaction. With ``deliver`` None the
    code is stored and sent nowhere: asking for one for something unknown looks the same."""
    # counted before the transaction below, each in its own: on SQLite one write at a time
    hit_all(DatabaseStorage(deps.uow, deps.clock), deps.clock, limits)
    now = deps.clock.now()
    with deps.uow() as uow:
        code_id, code = new_id(), f"{secrets.randbelow(10**6):06d}"
        uow.session.execute(
            sa.insert(login_codes).values(
                id=code_id,
                phone_index=subject_index,
                code_hash=_code_hash(deps, code_id, code),
                created_at=now,
                expires_at=now + CODE_LIFETIME,
                attempts=0,
            )
        )
        if deliver is not None:
            deliver(uow, code_id, code, now)
        uow.audit.append(
            actor="anonymous",
            role="resident",
            action=action,
            object_type="login_code",
            object_id=code_id,
            details=details or {},
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
    consume_code(uow, deps, deps.blind_index(phone, "phone"), code, code_id=code_id, action=action)
    now = deps.clock.now()
    resident = uow.residents.get_or_create(phone, now)
    uow.flush()
    uow.audit.append(
        actor=f"resident:{resident.id}", role="resident", action=action, object_type="resident", object_id=resident.id
    )
    return resident


def consume_code(uow, deps: Collaborators, subject_index: str, code: str, *, code_id: str, action: str) -> None:
    """Use up the live code ``code_id`` bound to ``subject_index`` inside ``uow`` (``code`` and
    ``code_id`` already checked for form), or AuthenticationRequired ("验证码错误或已过期")
    after the failure is audited (``action``, outcome ``failure``) and committed."""
    now = deps.clock.now()
    c = login_codes.c
    live = sa.and_(
        c.id == code_id,
        c.phone_index == subject_index,
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
