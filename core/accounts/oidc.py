"""The built-in OpenID Connect relying party (the province's real-name service).

Authorization code flow with PKCE (S256), ``state`` and ``nonce``, through Authlib's client
(:class:`authlib.integrations.requests_client.OAuth2Session`: the authorization URL and the
token request with client authentication). The ID token is checked with joserfc (Authlib's
JOSE layer) and Authlib's :class:`~authlib.oidc.core.CodeIDToken` claims rules, against our
own clock and leeway: signature by a key of the provider's JWKS, an algorithm of
:data:`ALGORITHMS` only (never ``none``, never HMAC, never JWE), ``iss`` equal to the
configured issuer, ``aud`` naming our client id, ``exp``/``iat``/``nbf``, the nonce of
this sign-in and ``at_hash``.

The discovery document and the JWKS are fetched on first use and kept for
``metadata_ttl_seconds``; a token naming a key id the cached set lacks makes one early
refetch (key rotation), at most every :data:`REFETCH_AT_MOST_EVERY` so that tokens with
made-up key ids cannot make us hammer the provider.

Why we do not call Authlib's ``parse_id_token``: it lives on the framework integrations'
client (which keeps state in Flask's cookie session, where we keep ours server-side), it
validates against the system time with a fixed 120 s leeway, and it checks ``aud`` only
through ``azp``; each check here is explicit and tested (tests/core/accounts/test_oidc_*).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from govcred.core.accounts.identity import AuthorizationStart, VerifiedIdentity
from govcred.core.accounts.identity_settings import OidcSettings
from govcred.core.exceptions import IdentityRefused

NAME = "oidc"
#: Asymmetric signature algorithms only: ``none`` and HS* (a secret we share) never.
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
REFETCH_AT_MOST_EVERY = 30.0  # seconds
DISCOVERY_PATH = "/.well-known/openid-configuration"

#: What the resident reads for each refusal (the code goes to the audit log).
REFUSALS = {
    "OIDC_PROVIDER_ERROR": "实名认证服务未完成认证：{detail}",
    "OIDC_ACCESS_DENIED": "您在实名认证页面取消了授权，未能登录",
    "OIDC_CODE_MISSING": "实名认证服务未返回授权码，请重新登录",
    "OIDC_CODE_REFUSED": "授权码无效、已被使用或已过期，请重新登录",
    "OIDC_UNAVAILABLE": "实名认证服务暂时无法访问，请稍后再试",
    "ID_TOKEN_MISSING": "实名认证服务未返回身份凭证（ID Token），请重新登录",
    "ID_TOKEN_MALFORMED": "身份凭证（ID Token）格式错误，已拒绝",
    "ID_TOKEN_ALGORITHM": "身份凭证使用了不被接受的签名算法（{detail}），已拒绝",
    "ID_TOKEN_UNKNOWN_KEY": "身份凭证由实名认证服务未公布的密钥签名，已拒绝",
    "ID_TOKEN_SIGNATURE": "身份凭证的签名无效，已拒绝",
    "ID_TOKEN_ISSUER": "身份凭证不是由配置的实名认证服务签发的，已拒绝",
    "ID_TOKEN_AUDIENCE": "身份凭证不是签发给本系统的（受众不符），已拒绝",
    "ID_TOKEN_EXPIRED": "身份凭证已过期，请重新登录",
    "ID_TOKEN_NOT_YET_VALID": "身份凭证的签发时间晚于当前时间（尚未生效），已拒绝",
    "ID_TOKEN_NONCE": "身份凭证与本次登录请求不对应（nonce 不符），可能是重放攻击，已拒绝",
    "ID_TOKEN_INVALID": "身份凭证未通过校验（{detail}），已拒绝",
    "ID_TOKEN_CLAIM_MISSING": "实名认证结果缺少{detail}，无法确认您的身份",
}


def refused(code: str, detail: str = "", *, status: int | None = None) -> IdentityRefused:
    exc = IdentityRefused(REFUSALS[code].format(detail=detail), code=code, detail=detail)
    if status is not None:
        exc.http_status = status
    return exc


def _header_of(token: str) -> dict[str, Any]:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError):
        raise refused("ID_TOKEN_MALFORMED") from None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise refused("ID_TOKEN_MALFORMED")  # a JWE (five parts) is never accepted
    return header


class _Cached:
    """One fetched JSON document and when it was fetched (monotonic seconds)."""

    def __init__(self) -> None:
        self.value: dict[str, Any] | None = None
        self.at = 0.0


class OidcProvider:
    """The relying party of one provider (``[identity.oidc]``)."""

    name = NAME

    def __init__(self, config: OidcSettings, *, leeway_seconds: int = 60, session: requests.Session | None = None):
        self.config = config
        self.label = config.label
        self.leeway = leeway_seconds
        self._http = session or requests.Session()
        self._lock = threading.Lock()
        self._metadata = _Cached()
        self._jwks = _Cached()

    # ---- the provider's documents ---------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, timeout=self.config.timeout_seconds)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError):
            raise refused("OIDC_UNAVAILABLE", status=503) from None
        if not isinstance(document, dict):
            raise refused("OIDC_UNAVAILABLE", status=503)
        return document

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched once per ``metadata_ttl_seconds``; its issuer
        must be ours exactly (OpenID Connect Discovery §4.3)."""
        with self._lock:
            fresh = time.monotonic() - self._metadata.at < self.config.metadata_ttl_seconds
            if self._metadata.value is not None and fresh:
                return self._metadata.value
        document = self._get_json(self.config.issuer.rstrip("/") + DISCOVERY_PATH)
        needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if document.get("issuer") != self.config.issuer or not all(isinstance(document.get(k), str) for k in needed):
            raise refused("OIDC_UNAVAILABLE", status=503)
        with self._lock:
            self._metadata.value, self._metadata.at = document, time.monotonic()
        return document

    def _key_set(self, *, refetch: bool = False) -> dict[str, Any]:
        with self._lock:
            age = time.monotonic() - self._jwks.at
            cached = self._jwks.value
            if (
                cached is not None
                and age < self.config.metadata_ttl_seconds
                and not (refetch and age >= REFETCH_AT_MOST_EVERY)
            ):
                return cached
        document = self._get_json(self.metadata()["jwks_uri"])
        if not isinstance(document.get("keys"), list):
            raise refused("OIDC_UNAVAILABLE", status=503)
        with self._lock:
            self._jwks.value, self._jwks.at = document, time.monotonic()
        return document

    def _algorithms(self) -> list[str]:
        advertised = self.metadata().get("id_token_signing_alg_values_supported") or list(ALGORITHMS)
        return [alg for alg in ALGORITHMS if alg in advertised]

    # ---- the flow -------------------------------------------------------------------------

    def _client(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope=" ".join(self.config.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )

    def authorization(self, redirect_uri: str) -> AuthorizationStart:
        endpoint = self.metadata()["authorization_endpoint"]
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(endpoint, state=state, code_verifier=verifier, nonce=nonce)
        return AuthorizationStart(url=url, state=state, secrets={"nonce": nonce, "code_verifier": verifier})

    def verify(
        self, params: Mapping[str, str], secrets: Mapping[str, str], redirect_uri: str, now: dt.datetime
    ) -> VerifiedIdentity:
        if params.get("error"):
            if params["error"] == "access_denied":
                raise refused("OIDC_ACCESS_DENIED")
            raise refused("OIDC_PROVIDER_ERROR", str(params.get("error_description") or params["error"])[:120])
        code = params.get("code")
        if not code:
            raise refused("OIDC_CODE_MISSING")
        token_endpoint = self.metadata()["token_endpoint"]
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=secrets["code_verifier"],
                    redirect_uri=redirect_uri,
                    timeout=self.config.timeout_seconds,
                )
        except OAuthError:
            raise refused("OIDC_CODE_REFUSED") from None
        except (requests.RequestException, ValueError):
            raise refused("OIDC_UNAVAILABLE", status=503) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise refused("ID_TOKEN_MISSING")
        claims = self.check_id_token(id_token, nonce=secrets["nonce"], access_token=token.get("access_token"), now=now)
        return self._identity(claims)

    # ---- the ID token ---------------------------------------------------------------------

    def _signing_key(self, header: Mapping[str, Any]) -> Any:
        kid = header.get("kid")

        def find(document: dict[str, Any]) -> dict[str, Any] | None:
            keys = [k for k in document["keys"] if isinstance(k, dict) and k.get("use", "sig") == "sig"]
            if kid is None:
                return keys[0] if len(keys) == 1 else None  # without a kid, only an unambiguous set
            return next((k for k in keys if k.get("kid") == kid), None)

        found = find(self._key_set()) or find(self._key_set(refetch=True))
        if found is None:
            raise refused("ID_TOKEN_UNKNOWN_KEY")
        try:
            return KeySet.import_key_set({"keys": [found]}).keys[0]
        except (JoseError, ValueError, TypeError):
            raise refused("ID_TOKEN_UNKNOWN_KEY") from None

    def check_id_token(
        self, id_token: str, *, nonce: str, access_token: str | None, now: dt.datetime
    ) -> Mapping[str, Any]:
        """The ID token's claims once every check passed; :class:`IdentityRefused` otherwise."""
        header = _header_of(id_token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms():
            raise refused("ID_TOKEN_ALGORITHM", str(alg)[:20])
        key = self._signing_key(header)
        try:
            decoded = jwt.decode(id_token, key, registry=JWSRegistry(algorithms=[alg]))
        except BadSignatureError:
            raise refused("ID_TOKEN_SIGNATURE") from None
        except JoseError:
            raise refused("ID_TOKEN_MALFORMED") from None
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "value": self.config.client_id},
                "sub": {"essential": True},
            },
            {"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token},
        )
        try:
            claims.validate(now=int(now.timestamp()), leeway=self.leeway)
        except ExpiredTokenError:
            raise refused("ID_TOKEN_EXPIRED") from None
        except MissingClaimError as exc:
            raise refused("ID_TOKEN_INVALID", f"缺少 {exc.claim}") from None
        except ClaimError as exc:
            raise _claim_refusal(exc.claim) from None
        except JoseError as exc:
            raise refused("ID_TOKEN_INVALID", exc.error) from None
        return dict(claims)

    def _identity(self, claims: Mapping[str, Any]) -> VerifiedIdentity:
        config = self.config
        name, id_number = claims.get(config.name_claim), claims.get(config.id_number_claim)
        missing = [
            label
            for label, value in (("姓名", name), ("公民身份号码", id_number))
            if not isinstance(value, str) or not value.strip()
        ]
        if missing:
            raise refused("ID_TOKEN_CLAIM_MISSING", "、".join(missing))
        raw_level = claims.get(config.assurance_claim)
        level = str(raw_level) if isinstance(raw_level, (str, int)) and not isinstance(raw_level, bool) else ""
        return VerifiedIdentity(
            provider=self.name,
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            name=name.strip(),
            id_number=id_number.strip().upper(),
            assurance=level,
            assurance_sufficient=config.assurance_sufficient(level),
            minimum_assurance=config.minimum_assurance,
        )


def _claim_refusal(claim: str) -> IdentityRefused:
    by_claim = {
        "iss": "ID_TOKEN_ISSUER",
        "aud": "ID_TOKEN_AUDIENCE",
        "azp": "ID_TOKEN_AUDIENCE",
        "exp": "ID_TOKEN_EXPIRED",
        "iat": "ID_TOKEN_NOT_YET_VALID",
        "nbf": "ID_TOKEN_NOT_YET_VALID",
        "nonce": "ID_TOKEN_NONCE",
    }
    code = by_claim.get(claim)
    return refused(code) if code else refused("ID_TOKEN_INVALID", claim)
