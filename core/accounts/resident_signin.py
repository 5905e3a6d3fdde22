"""Residents' sign-in through an identity provider: the rules no provider may skip.

:func:`start_identity_sign_in` asks the provider for its authorization URL and keeps this one
sign-in server-side (``identity_logins``): the hash of a random browser token (the caller
puts the token in a cookie), the hash of the ``state``, the provider's secrets (nonce, PKCE
verifier) encrypted, and where to go afterwards. :func:`finish_identity_sign_in` takes the
callback: the sign-in must belong to this browser, be unused and unexpired, and bring its
``state`` back; it is consumed before the provider is asked anything, so a replayed callback
finds nothing. Then the provider verifies the code and the ID token, core refuses an
assurance below the provider's minimum, and the person's account (found by the provider's
subject, created on first sign-in) gets a new page session carrying the identity.

Every refusal is audited (``auth.identity_login``, outcome ``failure``, the code naming the
check) and committed before the error is raised; no network call happens inside a
transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from govcred.core.accounts import sessions
from govcred.core.accounts.identity import ResidentIdentityProvider, VerifiedIdentity
from govcred.core.exceptions import GovcredError, IdentityRefused, NotFound
from govcred.core.orm import identity_logins
from govcred.core.services.collaborators import Collaborators

#: How long a resident has between leaving for the provider and coming back.
LOGIN_LIFETIME = dt.timedelta(minutes=10)
START, LOGIN = "auth.identity_start", "auth.identity_login"

REFUSALS = {
    "IDENTITY_LOGIN_UNKNOWN": "没有找到本浏览器发起的实名登录请求（可能已超时或在其他浏览器中发起），请重新登录",
    "IDENTITY_LOGIN_USED": "这次实名登录请求已经使用过，不能重复使用，请重新登录",
    "IDENTITY_LOGIN_EXPIRED": "实名登录请求已超过 10 分钟，请重新登录",
    "OIDC_STATE_MISMATCH": "登录回调的 state 参数与本浏览器发起的请求不一致，可能是伪造的登录链接，已拒绝",
    "ASSURANCE_TOO_LOW": "您的实名认证等级（{level}）低于办理居住证要求的等级（{minimum}），"
    "请先在实名认证服务中提升认证等级后再登录",
}


@dataclass(frozen=True)
class IdentitySignInStart:
    """Where to send the browser, and the token to keep in its cookie until it comes back."""

    redirect_url: str
    browser_token: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _secrets_aad(id_hash: str) -> str:
    return f"identity_logins|secrets|{id_hash}"


def provider_named(deps: Collaborators, name: str) -> ResidentIdentityProvider:
    provider = deps.identity_providers.get(name)
    if provider is None:
        raise NotFound("没有这个实名认证方式", code="IDENTITY_PROVIDER_UNKNOWN")
    return provider


def start_identity_sign_in(
    deps: Collaborators, provider_name: str, *, redirect_uri: str, next_url: str = "", request_id: str = ""
) -> IdentitySignInStart:
    provider = provider_named(deps, provider_name)
    started = provider.authorization(redirect_uri)  # may fetch the discovery document: no transaction open
    browser_token = secrets.token_urlsafe(24)
    id_hash, now = _hash(browser_token), deps.clock.now()
    with deps.uow() as uow:
        # sign-ins past their lifetime are worth nothing: each new one clears them (indexed)
        uow.session.execute(sa.delete(identity_logins).where(identity_logins.c.expires_at <= now))
        uow.session.execute(
            sa.insert(identity_logins).values(
                id_hash=id_hash,
                provider=provider.name,
                state_hash=_hash(started.state),
                secrets_enc=deps.cipher.encrypt_text(json.dumps(dict(started.secrets)), _secrets_aad(id_hash)),
                next_url=next_url[:512],
                created_at=now,
                expires_at=now + LOGIN_LIFETIME,
            )
        )
        uow.audit.append(
            actor="anonymous",
            role="resident",
            action=START,
            object_type="identity_provider",
            object_id=provider.name,
            request_id=request_id,
        )
        uow.commit()
    return IdentitySignInStart(started.url, browser_token)


@dataclass(frozen=True)
class IdentitySignIn:
    session: sessions.PageSession
    next_url: str


def _refused(code: str, **values: str) -> IdentityRefused:
    return IdentityRefused(REFUSALS[code].format(**values), code=code)


def _audit_refusal(deps: Collaborators, provider_name: str, exc: GovcredError, request_id: str) -> None:
    with deps.uow() as uow:
        uow.audit.append(
            actor="anonymous",
            role="resident",
            action=LOGIN,
            object_type="identity_provider",
            object_id=provider_name[:64],
            outcome="failure",
            request_id=request_id,
            details={"code": exc.code},
        )
        uow.commit()


def _consume(deps: Collaborators, browser_token: str | None, provider_name: str, state: str | None) -> dict:
    """The secrets of this browser's pending sign-in, which is used up by this call whatever
    the outcome; :class:`IdentityRefused` when there is none or its state differs."""
    now = deps.clock.now()
    id_hash = _hash(browser_token) if browser_token else ""
    with deps.uow() as uow:
        row = (
            uow.session.execute(sa.select(identity_logins).where(identity_logins.c.id_hash == id_hash))
            .mappings()
            .first()
        )
        if row is None or row["provider"] != provider_name:
            raise _refused("IDENTITY_LOGIN_UNKNOWN")
        # atomic: of two callbacks racing with the same cookie, one finds the row unused
        taken = uow.session.execute(
            sa.update(identity_logins)
            .where(identity_logins.c.id_hash == id_hash, identity_logins.c.used_at.is_(None))
            .values(used_at=now)
        ).rowcount
        uow.commit()
    if taken != 1:
        raise _refused("IDENTITY_LOGIN_USED")
    if row["expires_at"] <= now:
        raise _refused("IDENTITY_LOGIN_EXPIRED")
    if not isinstance(state, str) or not hmac.compare_digest(_hash(state), row["state_hash"]):
        raise _refused("OIDC_STATE_MISMATCH")
    found = json.loads(deps.cipher.decrypt_text(row["secrets_enc"], _secrets_aad(id_hash)))
    return {"secrets": found, "next_url": row["next_url"]}


def subject_index(deps: Collaborators, identity: VerifiedIdentity) -> str:
    """The keyed index a provider's person is found by (issuer and subject together)."""
    return deps.blind_index(f"{identity.issuer}\n{identity.subject}", f"identity-subject|{identity.provider}")


def finish_identity_sign_in(
    deps: Collaborators,
    provider_name: str,
    *,
    browser_token: str | None,
    params: Mapping[str, str],
    redirect_uri: str,
    replaces: str | None = None,
    request_id: str = "",
) -> IdentitySignIn:
    """The callback: a new resident page session for the verified person, or
    :class:`IdentityRefused` (audited) naming what failed."""
    try:
        provider = provider_named(deps, provider_name)
        pending = _consume(deps, browser_token, provider.name, params.get("state"))
        identity = provider.verify(params, pending["secrets"], redirect_uri, deps.clock.now())
        if not identity.assurance_sufficient:
            raise _refused(
                "ASSURANCE_TOO_LOW",
                level=identity.assurance or "未提供",
                minimum=identity.minimum_assurance or "要求的等级",
            )
    except IdentityRefused as exc:
        _audit_refusal(deps, provider_name, exc, request_id)
        raise
    now = deps.clock.now()
    with deps.uow() as uow:
        resident = uow.residents.record_identity(
            subject_index(deps, identity),
            provider=identity.provider,
            name=identity.name,
            id_number=identity.id_number,
            assurance=identity.assurance,
            now=now,
        )
        session = sessions.start(
            uow,
            "resident",
            resident.id,
            now,
            replaces=replaces,
            data={"identity": {"source": identity.provider, "assurance": identity.assurance}},
        )
        uow.audit.append(
            actor=f"resident:{resident.id}",
            role="resident",
            action=LOGIN,
            object_type="resident",
            object_id=resident.id,
            request_id=request_id,
            details={"source": identity.provider, "assurance": identity.assurance},
        )
        uow.commit()
    return IdentitySignIn(session, pending["next_url"])
