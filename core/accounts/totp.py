"""Officer TOTP (RFC 6238): enrolment, and single-use verification (security checklist W-01).

pyotp's ``verify()`` accepts the same code again within its window (pyotp issue #61), so each
candidate step is computed here and compared in constant time; the last accepted step is
stored and only a strictly greater one is accepted afterwards. The seed is stored encrypted
with the field cipher, bound to the officer's row.
"""

from __future__ import annotations

import datetime as dt
import hmac
import unicodedata

import pyotp
import sqlalchemy as sa

from govcred.core import models
from govcred.core.exceptions import AuthenticationRequired, ErrorList
from govcred.core.orm import officers

#: Steps either side of now that are accepted (clock drift of one 30-second step).
VALID_WINDOW = 1
ISSUER_NAME = "青田县居住证"


def _aad(officer_id: str) -> str:
    return f"officers|totp_secret_enc|{officer_id}"


def enrol(uow, officer: models.Officer, cipher, *, actor: str = "cli") -> str:
    """Give ``officer`` a new TOTP seed; returns the otpauth:// URI (shown once, never stored)."""
    seed = pyotp.random_base32()
    officer.totp_secret_enc = cipher.encrypt_text(seed, _aad(officer.id))
    officer.totp_last_step = 0
    officer.totp_exempt = False  # an enrolled clerk signs in with the code from now on
    uow.audit.append(
        actor=actor, role="admin", action="officer.totp_enrolled", object_type="officer", object_id=officer.id
    )
    return pyotp.TOTP(seed).provisioning_uri(name=officer.username, issuer_name=ISSUER_NAME)


def seed_of(officer: models.Officer, cipher) -> str:
    return cipher.decrypt_text(officer.totp_secret_enc, _aad(officer.id))


def requires_totp(officer: models.Officer) -> bool:
    """Every officer signs in with TOTP, except a clerk an administrator exempted by name
    (:func:`exempt`); reviewers and admins decide or administer and are never exempt."""
    return not (officer.role == "clerk" and officer.totp_exempt)


def exempt(uow, officer: models.Officer, *, reason: str, actor: str = "cli") -> None:
    """Let a clerk sign in with the password alone (say why: it is in the audit log)."""
    errors = ErrorList()
    if officer.role != "clerk":
        errors.add("username", "TOTP_EXEMPTION_NOT_ALLOWED", "只有窗口受理员可以免用动态验证码；审核员和管理员不能免除")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        errors.add("reason", "REASON_REQUIRED", "请写明免用动态验证码的原因（最多 200 字）")
    errors.raise_if_any()
    officer.totp_exempt = True
    uow.audit.append(
        actor=actor,
        role="admin",
        action="officer.totp_exempted",
        object_type="officer",
        object_id=officer.id,
        details={"reason": reason.strip()},
    )


MALFORMED_CODE_MESSAGE = "动态验证码应为 6 位数字"


def well_formed_code(code: str | None) -> str | None:
    """``code`` as six ASCII digits, or None when it cannot be a TOTP code at all."""
    # NFKC: a Chinese input method may type full-width digits (１２３４５６); other scripts'
    # digits stay non-ASCII and are refused here, before the constant-time comparison
    # (which accepts ASCII strings only).
    code = unicodedata.normalize("NFKC", code or "").strip()
    return code if code.isascii() and code.isdigit() and len(code) == 6 else None


def accepted_step(seed: str, code: str, now: dt.datetime, last_step: int) -> int:
    """The time step ``code`` belongs to (within the window, after ``last_step``); raises otherwise."""
    code = well_formed_code(code)
    if code is None:
        raise AuthenticationRequired(MALFORMED_CODE_MESSAGE, code="TOTP_INVALID")
    totp = pyotp.TOTP(seed)
    current = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            if step <= last_step:
                raise AuthenticationRequired("该动态验证码已使用过，请等待下一个验证码", code="TOTP_REPLAYED")
            return step
    raise AuthenticationRequired("动态验证码错误或已过期", code="TOTP_INVALID")


def check_code(uow, officer: models.Officer, code: str, now: dt.datetime, cipher) -> None:
    """Verify ``code`` for ``officer`` and consume its step (the caller commits).

    The step is consumed with a conditional UPDATE, so two logins racing with the same code
    cannot both succeed: the second one matches no row.
    """
    if officer.totp_secret_enc is None:
        raise AuthenticationRequired("该账号尚未绑定动态验证码，请联系管理员", code="TOTP_NOT_ENROLLED")
    step = accepted_step(seed_of(officer, cipher), code, now, officer.totp_last_step or 0)
    result = uow.session.execute(
        sa.update(officers)
        .where(officers.c.id == officer.id, officers.c.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AuthenticationRequired("该动态验证码已使用过，请等待下一个验证码", code="TOTP_REPLAYED")
