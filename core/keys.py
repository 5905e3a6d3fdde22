"""Raw key handling (the "hazmat" layer): generation, JWK, RFC 7638 thumbprints, kids, PEM at rest.

Only pyca ``cryptography`` is used. Two algorithms exist, one per deployment: ``ES256`` (P-256)
and ``EdDSA`` (Ed25519). Verifier-side keys are always typed key objects loaded from a JWKS
into a :class:`KeySet` — never ``str``/``bytes`` secrets (the HS256 key-confusion family,
security-checklist J-02) and never fetched because a token asked (J-03, J-04).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from govcred.core.clock import Clock
from govcred.core.exceptions import ConfigError, KeyStoreError, VerificationError

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

#: The only algorithms govcred signs or verifies with.
ALGORITHMS = ("ES256", "EdDSA")

#: A kid as it may appear in a token header or a JWKS (security-checklist J-03).
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

# P-256 field prime; coordinates at or above it are not field elements.
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_B64URL_32_BYTES = re.compile(r"[A-Za-z0-9_-]{43}")

# RFC 7638 §3.2: the required members per key type, which alone enter the thumbprint.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
}
# Members that reveal private key material in any key type (RFC 7518 §6, RFC 8037 §2).
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raises ``ValueError`` on anything else."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(f"not base64url: {exc}") from None


# -- generation and JWK ---------------------------------------------------------------------


def generate_private_key(alg: str) -> PrivateKey:
    """A new private key for ``alg`` whose published kid does not begin with ``-``.

    Why draw again: a kid is base64url, so one key in 64 would get a kid like ``-jX…``, which a
    command line reads as an option (``govcred keys revoke -jX…`` → "No such option '-j'"). An
    administrator revoking a compromised key must be able to type its kid as it is listed.
    """
    while True:
        key = _new_private_key(alg)
        if not public_jwk(key)["kid"].startswith("-"):
            return key


def _new_private_key(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ConfigError(f"unsupported signing algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")


def algorithm_of(key: PrivateKey | PublicKey) -> str:
    """The JOSE ``alg`` a key object signs or verifies with."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        raise KeyStoreError(f"unsupported elliptic curve {key.curve.name}; only P-256 is allowed")
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "EdDSA"
    raise KeyStoreError(f"unsupported key type {type(key).__name__}")


def public_jwk(key: PrivateKey | PublicKey, alg: str | None = None) -> dict[str, str]:
    """The public JWK of ``key``: public members only, plus ``alg``, ``use`` and the short ``kid``.

    ``alg``, when given, is what the caller believes the key is for; a mismatch is refused.
    """
    actual = algorithm_of(key)
    if alg is not None and alg != actual:
        raise KeyStoreError(f"the key is a {actual} key, not {alg}")
    alg = actual
    public = key.public_key() if hasattr(key, "public_key") else key
    if alg == "ES256":
        numbers = public.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    else:
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    jwk.update(alg=alg, use="sig", kid=short_kid(jwk_thumbprint(jwk)))
    return jwk


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint: SHA-256 over the required members only, sorted, no whitespace."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise KeyStoreError(f"cannot take the thumbprint of a JWK with kty {kty!r}")
    missing = [m for m in members if not isinstance(jwk.get(m), str)]
    if missing:
        raise KeyStoreError(f"JWK lacks required member(s) {', '.join(missing)} for its thumbprint")
    canonical = json.dumps({m: jwk[m] for m in members}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def short_kid(thumbprint: str) -> str:
    """The kid govcred publishes: the first 8 bytes of the RFC 7638 thumbprint, base64url (11 chars).

    Why truncate: the kid travels in every QR code, and each base64url character costs QR modules.
    The full thumbprint is 43 characters; 8 bytes keep 64 bits, which is what the EU Digital COVID
    Certificate chose for the same reason. The kid only *selects* a key among an issuer's handful of
    published keys — the signature check is what authenticates — so a collision (which
    :meth:`KeySet.from_jwks` refuses anyway) could at worst make a verifier try the wrong key.
    """
    try:
        digest = b64url_decode(thumbprint)
    except ValueError:
        raise KeyStoreError("thumbprint is not base64url") from None
    if len(digest) != 32:
        raise KeyStoreError(f"a SHA-256 thumbprint has 32 bytes, got {len(digest)}")
    return b64url_encode(digest[:8])


# -- private keys at rest -------------------------------------------------------------------


def encrypt_private_key(key: PrivateKey, passphrase: str) -> bytes:
    """PKCS#8 PEM encrypted with the best scheme ``cryptography`` offers."""
    if not passphrase:
        raise KeyStoreError("a passphrase is required to store a private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )


def encrypted_key_file_problem(pem: bytes) -> str | None:
    """Why ``pem`` is no passphrase-encrypted PEM private key (in Chinese), or None: asked
    before the passphrase is, so that nobody types it for a file that cannot be one."""
    try:
        serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # "Password was not given but private key is encrypted": the right form
        return None
    except (ValueError, UnsupportedAlgorithm):
        return "不是 PEM 格式的私钥（应以 -----BEGIN ENCRYPTED PRIVATE KEY----- 开头）"
    return "未加密：私钥须以口令加密保存 (the private key is not encrypted)"


def decrypt_private_key(pem: bytes, passphrase: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyStoreError(
            "cannot decrypt the private key: the passphrase is wrong or the key file is damaged"
        ) from None
    algorithm_of(key)  # refuse RSA, other curves and the like
    return key


# -- public keys from JWK (strict) ----------------------------------------------------------


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Load a public JWK strictly; every problem found is named in one :class:`KeyStoreError`."""
    if not isinstance(jwk, Mapping):
        raise KeyStoreError("a JWK must be a JSON object")
    problems: list[str] = []
    private = [m for m in _PRIVATE_MEMBERS if m in jwk]
    if private:
        problems.append(f"private member(s) {', '.join(private)} must not be published")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if (kty, crv) not in (("EC", "P-256"), ("OKP", "Ed25519")):
        problems.append(f"only EC P-256 and OKP Ed25519 keys are allowed, got kty={kty!r} crv={crv!r}")
        raise KeyStoreError("invalid JWK: " + "; ".join(problems))
    coordinates = ("x", "y") if kty == "EC" else ("x",)
    raw: dict[str, bytes] = {}
    for name in coordinates:
        value = jwk.get(name)
        if not isinstance(value, str) or not _B64URL_32_BYTES.fullmatch(value):
            problems.append(f"member {name!r} must be 32 bytes as 43 base64url characters")
            continue
        decoded = b64url_decode(value)
        if b64url_encode(decoded) != value:
            problems.append(f"member {name!r} is not canonical base64url")
        raw[name] = decoded
    if problems:
        raise KeyStoreError("invalid JWK: " + "; ".join(problems))
    if kty == "OKP":
        return ed25519.Ed25519PublicKey.from_public_bytes(raw["x"])
    x, y = int.from_bytes(raw["x"], "big"), int.from_bytes(raw["y"], "big")
    if x >= _P256_P or y >= _P256_P:
        raise KeyStoreError("invalid JWK: coordinates are not P-256 field elements")
    try:
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        raise KeyStoreError("invalid JWK: the point is not on the P-256 curve") from None


# -- signing keys and key sets --------------------------------------------------------------


@dataclass
class SigningKey:
    """One issuer signing key with its lifetime.

    ``not_after_signing``: no token may be signed after it (rotation). ``verify_until``: the key
    stays published until then (= its last credential's expiry), after which verifiers drop it.
    """

    kid: str
    alg: str
    private_key: PrivateKey = field(repr=False)
    public_jwk: dict[str, str]
    created_at: dt.datetime
    not_after_signing: dt.datetime | None = None
    verify_until: dt.datetime | None = None
    development: bool = False

    @classmethod
    def from_private_key(cls, private_key: PrivateKey, *, created_at: dt.datetime, **lifetime: Any) -> SigningKey:
        jwk = public_jwk(private_key)
        return cls(jwk["kid"], jwk["alg"], private_key, jwk, created_at, **lifetime)

    @classmethod
    def generate(cls, alg: str, *, clock: Clock | None = None, **lifetime: Any) -> SigningKey:
        return cls.from_private_key(generate_private_key(alg), created_at=(clock or Clock()).now(), **lifetime)


def jwks_document(keys: Iterable[SigningKey]) -> dict[str, list[dict[str, Any]]]:
    """The ``/.well-known/jwks.json`` body. ``verify_until`` (NumericDate) tells verifiers when to drop a key."""
    published = []
    for key in keys:
        jwk: dict[str, Any] = dict(key.public_jwk)
        if key.verify_until is not None:
            jwk["verify_until"] = int(key.verify_until.timestamp())
        published.append(jwk)
    return {"keys": published}


class KeyEntry(NamedTuple):
    alg: str
    public_key: PublicKey
    #: POSIX seconds after which tokens under this key are no longer accepted, or None.
    verify_until: float | None
    #: POSIX seconds at which the issuer stopped signing with this key (``retired_at`` in its
    #: JWK), or None while it signs: a token issued later cannot be the issuer's own.
    retired_at: float | None = None


class RevokedKey(NamedTuple):
    """A key its issuer declared compromised (the JWKS's ``revoked_keys``, see :func:`revocation_entry`)."""

    kid: str
    revoked_at: int
    reason: str


#: The JWKS member listing revoked keys. A JWK Set may carry members of its own (RFC 7517 §5)
#: and verifiers that do not know this one ignore it; they still refuse the key's tokens, since
#: a revoked key is no longer among ``keys``. govcred's verifiers name the refusal KEY_REVOKED.
REVOKED_KEYS_MEMBER = "revoked_keys"
#: The only revocation reason published: why in detail stays in the issuer's audit log.
REVOKED_COMPROMISED = "compromised"


def revocation_entry(kid: str, revoked_at: dt.datetime) -> dict[str, Any]:
    """One item of the JWKS's ``revoked_keys``: the kid, when (NumericDate) and the reason code."""
    return {"kid": kid, "revoked_at": int(revoked_at.timestamp()), "reason": REVOKED_COMPROMISED}


class KeySet:
    """The trusted public keys of ONE issuer, in memory; looking a kid up never does I/O."""

    def __init__(self, issuer: str, entries: Mapping[str, KeyEntry], revoked: Mapping[str, RevokedKey] | None = None):
        self.issuer = issuer
        self._revoked = dict(revoked or {})
        # a kid both published and revoked is revoked: the safe reading of a contradiction
        self._entries = {kid: entry for kid, entry in entries.items() if kid not in self._revoked}

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any], issuer: str, *, thumbprint_kids: bool = False) -> KeySet:
        """Load an issuer's JWKS; any bad key rejects the whole document, naming every problem.

        Each key must load strictly (:func:`public_key_from_jwk`). RFC 7517 leaves ``kid`` opaque,
        so another issuer's kid may be any string of the safe syntax (:data:`KID_PATTERN`) that
        is unique in its document: a full RFC 7638 thumbprint, a UUID, whatever its stack writes.
        A key without a kid is known by its full RFC 7638 thumbprint (what joserfc and jwcrypto
        name such a key). ``thumbprint_kids``: govcred checking its OWN published keys, whose
        kid must be the key's short thumbprint (a self-consistency check).
        """
        if not isinstance(issuer, str) or not issuer:
            raise KeyStoreError("a key set needs the issuer it belongs to")
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list) or not keys:
            raise KeyStoreError(f"JWKS of {issuer} must have a non-empty 'keys' list")
        problems: list[str] = []
        entries: dict[str, KeyEntry] = {}
        for position, jwk in enumerate(keys):
            try:
                kid, entry = _entry_from_jwk(jwk, thumbprint_kids)
            except KeyStoreError as exc:
                problems.append(f"key {position}: {exc.message}")
                continue
            if kid in entries:
                problems.append(f"key {position}: duplicate kid {kid!r}")
                continue
            entries[kid] = entry
        revoked = _revoked_keys(jwks.get(REVOKED_KEYS_MEMBER, []), problems)
        if problems:
            raise KeyStoreError(f"JWKS of {issuer} rejected: " + "; ".join(problems))
        return cls(issuer, entries, revoked)

    def get(self, kid: str) -> KeyEntry:
        entry = self._entries.get(kid)
        if entry is None:
            if kid in self._revoked:
                raise VerificationError("KEY_REVOKED", "KEY_COMPROMISED")
            raise VerificationError("UNKNOWN_KID", "NOT_IN_KEYSET")
        return entry

    def revoked(self) -> list[RevokedKey]:
        return list(self._revoked.values())

    def __contains__(self, kid: object) -> bool:
        return kid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def kids(self) -> list[str]:
        return list(self._entries)


def _entry_from_jwk(jwk: Any, thumbprint_kids: bool) -> tuple[str, KeyEntry]:
    public_key = public_key_from_jwk(jwk)
    problems = []
    alg = algorithm_of(public_key)
    if jwk.get("alg", alg) != alg:
        problems.append(f"alg {jwk.get('alg')!r} does not match the key type (expected {alg})")
    if jwk.get("use", "sig") != "sig":
        problems.append(f"use must be 'sig', got {jwk.get('use')!r}")
    kid = jwk.get("kid")
    if thumbprint_kids:
        expected_kid = short_kid(jwk_thumbprint(jwk))
        if kid != expected_kid:
            problems.append(f"kid {kid!r} is not the key's short thumbprint {expected_kid!r}")
    elif kid is None:
        kid = jwk_thumbprint(jwk)
    elif not isinstance(kid, str) or KID_PATTERN.fullmatch(kid) is None:
        shown = kid[:80] if isinstance(kid, str) else type(kid).__name__
        problems.append(f"kid {shown!r} must be 1 to 64 characters of A-Z a-z 0-9 _ - (security-checklist J-03)")
    verify_until, retired_at = jwk.get("verify_until"), jwk.get("retired_at")
    for name, value in (("verify_until", verify_until), ("retired_at", retired_at)):
        if value is not None and not _is_numeric_date(value):
            problems.append(f"{name} must be a whole number of seconds since the epoch")
    if problems:
        raise KeyStoreError("; ".join(problems))
    return kid, KeyEntry(
        alg,
        public_key,
        None if verify_until is None else float(verify_until),
        None if retired_at is None else float(retired_at),
    )


def _is_numeric_date(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _revoked_keys(items: Any, problems: list[str]) -> dict[str, RevokedKey]:
    """The JWKS's ``revoked_keys``; a malformed one rejects the document (adding to ``problems``)
    rather than being skipped, since skipping it would quietly accept a compromised key."""
    if not isinstance(items, list):
        problems.append(f"{REVOKED_KEYS_MEMBER} must be a list")
        return {}
    revoked: dict[str, RevokedKey] = {}
    for position, item in enumerate(items):
        where = f"{REVOKED_KEYS_MEMBER} {position}"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        kid, revoked_at, reason = item.get("kid"), item.get("revoked_at"), item.get("reason", REVOKED_COMPROMISED)
        found = []
        if not isinstance(kid, str) or KID_PATTERN.fullmatch(kid) is None:
            found.append("kid must be 1 to 64 characters of A-Z a-z 0-9 _ -")
        if not _is_numeric_date(revoked_at):
            found.append("revoked_at must be a whole number of seconds since the epoch")
        if not isinstance(reason, str):
            found.append("reason must be a string")
        problems += [f"{where}: {p}" for p in found]
        if not found:
            revoked[kid] = RevokedKey(kid, revoked_at, reason)
    return revoked
