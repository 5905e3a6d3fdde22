"""The province's signed trust list: which issuers every verifier in the province trusts.

One compact JWS of kind ``rp-trust-list+jwt``, signed by the provincial root key that each
verifier pins (a file it is given, never something the list or a token names)::

    {"iss": "https://zj.example.gov.cn/trust", "iat": ..., "exp": ..., "version": 7,
     "issuers": [{"iss": "https://qt.example.gov.cn", "name": "青田县公安局",
                  "jwks": "https://qt.example.gov.cn/.well-known/jwks.json",
                  "status_lists": "https://qt.example.gov.cn/status",
                  "divisions": ["331121"], "credential_types": ["zj-rp"]}]}

A list is refused when it is not signed by the pinned root, has expired, or is older than the
one held (rollback: ``version`` lower than the held version, or the same version with other
content). Every issuer entry must state its scope and publish its keys at a URL. Each refusal
has its own reason, so an administrator knows what to fix: ``MALFORMED`` (not a signed list at
all: cut short, an error page, another kind of token), ``NOT_SIGNED_BY_ROOT`` (a well-formed
signature the pinned root did not make), ``ROOT_REVOKED`` (the pinned root's file lists the key
as revoked: pin the province's new root), ``INVALID`` (signed by the root, but its version or
entries are not acceptable), ``EXPIRED`` and ``ROLLBACK``.

The pinned root is a JSON file ``{"iss": <the list's issuer>, "keys": [<public JWK>, ...]}``,
written by ``govcred trust sign --root-out``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govcred.core.exceptions import ConfigError, GovcredError, KeyStoreError, VerificationError
from govcred.core.file_problems import UNREADABLE, unreadable
from govcred.core.keys import REVOKED_KEYS_MEMBER, KeySet, SigningKey, jwks_document
from govcred.core.tokens import TRUST_LIST, issue_token, verify_token
from govcred.verifier.trust import TrustedIssuer, parse_issuers

#: Why a list is refused (the ``reason`` of :class:`TrustListRefused`).
NOT_SIGNED_BY_ROOT, ROLLBACK, EXPIRED, INVALID = "NOT_SIGNED_BY_ROOT", "ROLLBACK", "EXPIRED", "INVALID"
MALFORMED, ROOT_REVOKED = "MALFORMED", "ROOT_REVOKED"
#: Signature refusals that say the signature segment is not one at all (a file cut short, bytes
#: changed in transit), not that someone else signed: the list is malformed.
MALFORMED_SIGNATURES = frozenset({"BAD_SIGNATURE_LENGTH", "NON_CANONICAL_ENCODING", "SCALAR_OUT_OF_RANGE"})


class TrustListRefused(GovcredError):
    """A signed trust list the verifier must not adopt."""

    code = "TRUST_LIST_REFUSED"
    http_status = 422

    def __init__(self, reason: str, message: str):
        super().__init__(message, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class TrustListSource:
    """Where a verifier fetches the signed list (URL or file) and the root it pins."""

    source: str
    root: KeySet


@dataclass(frozen=True)
class SignedTrustList:
    province: str
    version: int
    issued_at: int
    expires_at: int
    issuers: tuple[TrustedIssuer, ...]
    token: str

    def summary(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "version": self.version,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "issuers": [
                {
                    "iss": i.iss,
                    "name": i.name,
                    "jwks": i.jwks,
                    "status_lists": i.status_lists,
                    "divisions": list(i.divisions or ()),
                    "credential_types": list(i.credential_types or ()),
                }
                for i in self.issuers
            ],
        }


def issuer_entries(entries: Any) -> tuple[tuple[TrustedIssuer, ...], list[str]]:
    """The issuers of a signed list, and every problem with them: scope required, URLs only
    (a file path means nothing on another verifier's machine)."""
    issuers, problems = parse_issuers(entries, Path("."), scope_required=True)
    for issuer in issuers:
        if not issuer.jwks_is_url:
            problems.append(f"{issuer.iss}：信任列表中的 jwks 应为 http(s) 网址（本机文件路径在其他核验端无意义）")
        if issuer.status_list_files:
            problems.append(f"{issuer.iss}：status_list_files 是本机文件，信任列表中应写 status_lists 网址")
    return tuple(issuers), problems


def checked_trust_list_source(entries: list, *, province: str, version: int) -> list:
    """The issuers ``entries`` (trust-file issuer tables) describe; ConfigError naming every
    problem. Asked before the root key is unlocked, so a bad source costs no passphrase."""
    issuers, problems = issuer_entries(entries)
    if type(version) is not int or version < 1:
        problems.append("版本号 (version) 应为从 1 起的整数")
    if not isinstance(province, str) or not province.startswith(("https://", "http://")):
        problems.append("信任列表的签发者 (--issuer) 应为 http(s) 网址")
    if problems:
        raise ConfigError("未签发信任列表：" + "；".join(problems), problems=problems)
    return issuers


def sign_trust_list(entries: list, key: SigningKey, *, province: str, version: int, expires_at: int, clock=None) -> str:
    """The signed list of ``entries`` (trust-file issuer tables); ConfigError naming every problem."""
    issuers = checked_trust_list_source(entries, province=province, version=version)
    summary = SignedTrustList(province, version, 0, expires_at, issuers, "").summary()
    claims = {"iss": province, "exp": expires_at, "version": version, "issuers": summary["issuers"]}
    return issue_token(TRUST_LIST, claims, key, clock=clock)


def root_document(key: SigningKey, province: str) -> dict[str, Any]:
    """What a verifier pins: the list's issuer and the root's public key."""
    return {"iss": province, **jwks_document([key])}


def load_root(path: str | Path) -> KeySet:
    """The pinned provincial root key set; ConfigError when the file is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UNREADABLE as exc:
        raise ConfigError(f"无法读取信任列表根密钥文件 {path}：{unreadable(exc)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("iss"), str):
        raise ConfigError(f"信任列表根密钥文件 {path} 应为含 iss 和 keys 的 JSON 对象")
    if not document.get("keys") and document.get(REVOKED_KEYS_MEMBER):
        raise root_revoked(", ".join(str(r.get("kid")) for r in document[REVOKED_KEYS_MEMBER] if isinstance(r, dict)))
    try:
        return KeySet.from_jwks(document, document["iss"])
    except KeyStoreError as exc:
        raise ConfigError(f"信任列表根密钥文件 {path} 无效：{exc.message}") from None


def root_revoked(kid: str) -> TrustListRefused:
    return TrustListRefused(
        ROOT_REVOKED,
        f"固定的省级根密钥 {kid} 已被列为吊销，不能再信任其签名的信任列表，请改为固定省里公布的新根密钥 "
        f"(the pinned provincial root {kid} is listed as revoked: pin the province's new root)",
    )


def read_trust_list(
    token: str | bytes, root: KeySet, *, held_version: int = 0, held_token: str | None = None, clock=None, leeway=60
) -> SignedTrustList:
    """Verify a signed list against the pinned ``root`` and what is held; TrustListRefused if not."""
    if isinstance(token, bytes):
        token = token.strip().decode("ascii", "replace")
    token = token.strip()
    try:
        claims = verify_token(token, TRUST_LIST, root, issuers={root.issuer}, clock=clock, leeway=leeway).claims
    except VerificationError as exc:
        if exc.reason == "EXPIRED":
            raise TrustListRefused(EXPIRED, "信任列表已过期 (the trust list has expired)") from None
        if exc.reason == "KEY_REVOKED":
            raise root_revoked(_kid_of(token)) from None
        if (
            exc.reason in ("SIGNATURE_INVALID", "UNKNOWN_KID", "UNKNOWN_ISSUER")
            and exc.detail not in MALFORMED_SIGNATURES
        ):
            raise TrustListRefused(
                NOT_SIGNED_BY_ROOT,
                f"信任列表不是由固定的省级根密钥签名的 (not signed by the pinned root: {exc.detail})",
            ) from None
        raise TrustListRefused(
            MALFORMED,
            f"信任列表格式错误，文件可能不完整或不是信任列表 (malformed trust list: {exc.reason} {exc.detail})",
        ) from None
    version = claims["version"]
    if type(version) is not int or version < 1:
        raise TrustListRefused(INVALID, "信任列表版本号无效 (invalid list: version must be a whole number from 1)")
    issuers, problems = issuer_entries(claims["issuers"])
    if problems:
        raise TrustListRefused(INVALID, "信任列表条目无效 (invalid list entries): " + "; ".join(problems))
    if version < held_version:
        raise TrustListRefused(
            ROLLBACK, f"信任列表版本 {version} 低于已持有的版本 {held_version} (older than the one held: refused)"
        )
    if held_token is not None and version == held_version and token != held_token:
        raise TrustListRefused(ROLLBACK, f"信任列表版本 {version} 已持有但内容不同 (same version, other content)")
    return SignedTrustList(root.issuer, version, int(claims["iat"]), int(claims["exp"]), issuers, token)


def _kid_of(token: str) -> str:
    """The ``kid`` a list's header names (already parsed once by the refusal that asks)."""
    import base64

    try:
        header = token.split(".", 1)[0]
        return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))).get("kid", "?"))
    except (ValueError, AttributeError):
        return "?"
