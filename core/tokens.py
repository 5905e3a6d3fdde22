"""The only way govcred signs or verifies a JWS (the "recipe" layer over :mod:`core.keys`).

Verification is one function, :func:`verify_token`, which raises :class:`VerificationError`
with a reason from ``VERIFY_REASONS`` and a precise ``detail``; it never returns False. The
checks run cheapest first and nothing is base64-decoded before the size cap
(security-checklist §1, J-01 … J-17). The algorithm list is fixed here and never read from a
token; keys come only from a preloaded :class:`~core.keys.KeySet`.
"""

from __future__ import annotations

import binascii
import functools
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from govcred.core.clock import Clock
from govcred.core.exceptions import FieldError, KeyStoreError, ValidationError, VerificationError
from govcred.core.keys import KID_PATTERN, KeySet, SigningKey

# Token kinds are their ``typ`` values (RFC 8725 §3.11 explicit typing).
CREDENTIAL = "rp-credential+jwt"
PRESENTATION = "rp-presentation+jwt"
STATUS_LIST = "statuslist+jwt"
#: The province's signed list of trusted issuers (signed by its pinned root key).
TRUST_LIST = "rp-trust-list+jwt"
KINDS = (CREDENTIAL, PRESENTATION, STATUS_LIST, TRUST_LIST)

#: Fixed; never derived from a token or from configuration (J-01, J-02).
ALLOWED_ALGORITHMS = frozenset({"ES256", "EdDSA"})
MAX_TOKEN_BYTES = 4096
#: A status list is not carried in a QR: 131,072 two-bit entries with scattered revocations
#: compress to a few KiB up to ~100 KiB, so its kind has its own, larger cap (still checked
#: before any decoding).
MAX_TOKEN_BYTES_BY_KIND = {STATUS_LIST: 512 * 1024, TRUST_LIST: 512 * 1024}
#: Our headers are ~150 characters; a bigger one can only be an attack on the JSON parser.
MAX_HEADER_CHARS = 512
MAX_JSON_DEPTH = 8
MAX_LEEWAY_SECONDS = 60
#: A presentation is shown once, at the counter: it lives a minute, and a verifier's clock may
#: be off by half of that at most (issue 12: a screenshot must not verify two minutes later).
MAX_PRESENTATION_SECONDS = 60
MAX_PRESENTATION_LEEWAY_SECONDS = 30

#: Header members that would let a token pick or carry its own key, or change how it is read.
FORBIDDEN_HEADERS = ("jku", "x5u", "x5c", "x5t", "x5t#S256", "jwk", "crit", "b64", "zip", "cty")
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})

REQUIRED_CLAIMS = {
    CREDENTIAL: ("iss", "iat", "exp", "jti"),
    PRESENTATION: ("iss", "iat", "exp", "jti"),
    # IETF Token Status List: sub, iat, status_list required; exp and ttl we require too.
    STATUS_LIST: ("iss", "sub", "iat", "exp", "ttl", "status_list"),
    TRUST_LIST: ("iss", "iat", "exp", "version", "issuers"),
}
_REQUIRED_CLAIM_SETS = {kind: frozenset(names) for kind, names in REQUIRED_CLAIMS.items()}
_STRING_CLAIMS = ("iss", "jti", "sub")
_TIME_CLAIMS = ("iat", "exp", "nbf")

# Compiled once: one C-level pass replaces PyJWT's per-character generator (perf-baseline).
# The signature segment may be empty here so that an unsigned ``alg: none`` token is refused for
# its algorithm (ALG_NOT_ALLOWED, J-01); an empty signature then fails the 64-byte length check.
_COMPACT_JWS = re.compile(rb"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)")
_B64URL = re.compile(rb"[A-Za-z0-9_-]+")
_UNPRINTABLE = re.compile(r"[^A-Za-z0-9_#.,+-]")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
#: scalars as 32 big-endian bytes: equal-length bytes compare as the numbers do
_P256_ORDER_BYTES = _P256_ORDER.to_bytes(32, "big")
_ZERO_SCALAR = bytes(32)


@dataclass(frozen=True)
class VerifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    kind: str
    kid: str


class DecodedJws(str):
    """A compact JWS (the text, as any ``str``) that also holds its segments decoded.

    Why: a GC2 QR carries the header, payload and signature as bytes; the text is made from
    them, and :func:`verify_token` would only decode it back (the alphabet regex, two base64
    decodes, the canonical-encoding check). Given one of these it uses the bytes it was made of:
    the signing input is still the encoded header and payload, so nothing verified changes."""

    def __new__(cls, header: bytes, payload: bytes, signature: bytes) -> DecodedJws:
        segments = (b64url_encode(header), b64url_encode(payload), b64url_encode(signature))
        text = super().__new__(cls, b".".join(segments).decode("ascii"))
        text.segments, text.payload, text.signature = segments, payload, signature
        return text


_STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url_encode(data: bytes) -> bytes:
    """Unpadded base64url (RFC 7515 section 2), the encoding of every JWS segment."""
    # binascii directly: base64.urlsafe_b64encode's checks cost as much as the encoding, and a
    # GC2 scan encodes three segments on the verifier's hot path
    return binascii.b2a_base64(data, newline=False).translate(_STANDARD_TO_URLSAFE).rstrip(b"=")


# -- issuing --------------------------------------------------------------------------------


def issue_token(kind: str, claims: dict[str, Any], key: SigningKey, *, clock: Clock | None = None) -> str:
    """Sign ``claims`` as a compact JWS of ``kind``; header is exactly ``{"alg","typ","kid"}``."""
    _check_kind(kind)
    now = (clock or Clock()).now()
    if key.not_after_signing is not None and now > key.not_after_signing:
        raise KeyStoreError(f"key {key.kid} stopped signing at {key.not_after_signing.isoformat()}")
    body = dict(claims)
    body.setdefault("iat", int(now.timestamp()))
    _check_claims_to_issue(kind, body)
    signing_input = _protected_header(key.alg, kind, key.kid) + b"." + b64url_encode(_compact_json(body))
    token = signing_input + b"." + b64url_encode(_sign(key, signing_input))
    limit = MAX_TOKEN_BYTES_BY_KIND.get(kind, MAX_TOKEN_BYTES)
    if len(token) > limit:
        raise ValidationError([FieldError("token", "TOO_LARGE", f"token is {len(token)} bytes; the limit is {limit}")])
    return token.decode("ascii")


@functools.lru_cache(maxsize=64)
def _protected_header(alg: str, kind: str, kid: str) -> bytes:
    """The encoded header segment: the same few bytes for every token a key signs of a kind,
    so encoded once (a batch of issuances would otherwise encode it for each)."""
    return b64url_encode(_compact_json({"alg": alg, "typ": kind, "kid": kid}))


# ensure_ascii=False: Chinese stays 3 UTF-8 bytes instead of a 6-char \\u escape (smaller QR).
# Built once: json.dumps with arguments builds an encoder for each call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _compact_json(value: dict[str, Any]) -> bytes:
    return _COMPACT.encode(value).encode("utf-8")


def _sign(key: SigningKey, signing_input: bytes) -> bytes:
    if key.alg == "ES256":
        r, s = decode_dss_signature(key.private_key.sign(signing_input, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if key.alg == "EdDSA":
        return key.private_key.sign(signing_input)
    raise KeyStoreError(f"key {key.kid} has unsupported algorithm {key.alg!r}")


def _check_claims_to_issue(kind: str, claims: dict[str, Any]) -> None:
    errors = [
        FieldError(name, "REQUIRED", f"claim {name!r} is required in a {kind} token")
        for name in REQUIRED_CLAIMS[kind]
        if name not in claims
    ]
    errors += [
        FieldError(name, "NOT_A_STRING", f"claim {name!r} must be a non-empty string")
        for name in _STRING_CLAIMS
        if name in claims and (not isinstance(claims[name], str) or not claims[name])
    ]
    errors += [
        FieldError(name, "NOT_A_TIME", f"claim {name!r} must be seconds since the epoch")
        for name in _TIME_CLAIMS
        if name in claims and not _is_number(claims[name])
    ]
    if not errors and kind == PRESENTATION and claims["exp"] - claims["iat"] > MAX_PRESENTATION_SECONDS:
        errors.append(
            FieldError("exp", "LIFETIME_TOO_LONG", f"a presentation lives at most {MAX_PRESENTATION_SECONDS} s")
        )
    if errors:
        raise ValidationError(errors)


# -- verifying ------------------------------------------------------------------------------


def verify_token(
    token: str | bytes,
    kind: str,
    keys: KeySet,
    *,
    issuers: set[str] | None = None,
    clock: Clock | None = None,
    leeway: int = 60,
    audience: str | None = None,
) -> VerifiedToken:
    """Verify a compact JWS of ``kind`` against ``keys``; raise :class:`VerificationError` on any failure.

    ``keys`` belongs to one issuer, so the token's ``iss`` must also equal ``keys.issuer``.
    """
    _check_kind(kind)
    if not 0 <= leeway <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY_SECONDS} seconds, got {leeway}")
    if kind == PRESENTATION:
        leeway = min(leeway, MAX_PRESENTATION_LEEWAY_SECONDS)
    limit = MAX_TOKEN_BYTES_BY_KIND.get(kind, MAX_TOKEN_BYTES)
    if type(token) is DecodedJws:  # segments encoded from these very bytes: canonical, in the alphabet
        if len(token) > limit:
            raise VerificationError("MALFORMED", "TOO_LARGE")
        (header_b64, payload_b64, _), signature, payload = token.segments, token.signature, token.payload
        if len(header_b64) > MAX_HEADER_CHARS:
            raise VerificationError("MALFORMED", "HEADER_TOO_LARGE")
    else:
        header_b64, payload_b64, signature_b64 = _split(token, limit)
        signature, payload = None, None

    # 2. header
    header, alg, kid = _checked_header(header_b64, kind)
    entry = keys.get(kid)
    if entry.alg != alg:
        raise VerificationError("SIGNATURE_INVALID", "ALG_KEY_MISMATCH")

    # 3. signature
    if signature is None:
        signature = _b64decode(signature_b64)
        if not _canonical(signature, signature_b64):  # unused trailing bits set: one signature, many strings
            raise VerificationError("SIGNATURE_INVALID", "NON_CANONICAL_ENCODING")
    _verify_signature(entry.alg, entry.public_key, signature, header_b64 + b"." + payload_b64)

    # 4. payload
    claims = _parse_json(_b64decode(payload_b64) if payload is None else payload, "PAYLOAD")
    now = time.time() if clock is None else clock.now().timestamp()
    _check_claims(claims, kind, keys, issuers, now, leeway, audience)
    if entry.verify_until is not None and now > entry.verify_until:
        raise VerificationError("EXPIRED", "KEY_RETIRED")
    # The issuer never signs with a retired key, so a later iat means someone else holds it. The
    # leeway covers an issuer process that read the key just before another one retired it.
    if entry.retired_at is not None and claims["iat"] > entry.retired_at + leeway:
        raise VerificationError("SIGNATURE_INVALID", "SIGNED_AFTER_KEY_RETIRED")
    return VerifiedToken(dict(header), claims, kind, kid)


@functools.lru_cache(maxsize=1024)
def _header_of(header_b64: bytes) -> dict[str, Any]:
    """The parsed header, remembered: an issuer's tokens of one kind share one header, so the
    parse runs once per key and kind (a pure function of the bytes; a refusal is not kept).
    Callers only read it."""
    return _parse_json(_b64decode(header_b64), "HEADER")


#: 64 bytes are 86 base64url characters whose last one carries 2 bits and 4 zero bits.
_CANONICAL_LAST_OF_64 = frozenset(b"AQgw")


def _canonical(signature: bytes, signature_b64: bytes) -> bool:
    if len(signature) == 64 and len(signature_b64) == 86:  # the only length that verifies: no re-encoding
        return signature_b64[-1] in _CANONICAL_LAST_OF_64
    return b64url_encode(signature) == signature_b64


def unverified_kid(token: str | bytes) -> str | None:
    """The ``kid`` a token's header names, read WITHOUT verifying: only for choosing whose key
    set to verify with (verify_token then checks everything). None when there is none."""
    try:
        if type(token) is DecodedJws:
            head = token.segments[0]
        else:  # the first segment only: split() would copy the rest of the token too
            dot = token.find("." if isinstance(token, str) else b".")
            if dot < 0:
                return None
            head = token[:dot]
            if isinstance(head, str):
                head = head.encode("ascii")
        if len(head) > MAX_HEADER_CHARS or not _B64URL.fullmatch(head):
            return None
        kid = _header_of(head).get("kid")
    except (VerificationError, UnicodeError, AttributeError):
        return None
    return kid if isinstance(kid, str) else None


def peek_unverified_issuer(token: str | bytes) -> str | None:
    """The ``iss`` a token CLAIMS, read WITHOUT verifying anything.

    Only for choosing which trusted issuer's :class:`KeySet` to verify with; never use it for a
    decision. Returns None for anything that is not a well-formed token with a string ``iss``.
    """
    try:
        _, payload_b64, _ = _split(token)
        claims = _parse_json(_b64decode(payload_b64), "PAYLOAD")
    except VerificationError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}; expected one of {', '.join(KINDS)}")


def _split(token: Any, limit: int = MAX_TOKEN_BYTES) -> tuple[bytes, bytes, bytes]:
    """Step 1: type, size (before any decoding), ASCII, 3 segments, base64url alphabet only."""
    if isinstance(token, str):
        if len(token) > limit:
            raise VerificationError("MALFORMED", "TOO_LARGE")
        if not token.isascii():
            raise VerificationError("MALFORMED", "NOT_ASCII")
        token = token.encode("ascii")
    elif isinstance(token, bytes):
        if len(token) > limit:
            raise VerificationError("MALFORMED", "TOO_LARGE")
    else:
        raise VerificationError("MALFORMED", "NOT_TEXT")
    match = _COMPACT_JWS.fullmatch(token)
    if match is None:
        detail = "SEGMENT_COUNT" if token.count(b".") != 2 else "BAD_ALPHABET"
        raise VerificationError("MALFORMED", detail)
    if len(match[1]) > MAX_HEADER_CHARS:
        raise VerificationError("MALFORMED", "HEADER_TOO_LARGE")
    return match.groups()


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"===", b"==", b"=")


def _b64decode(segment: bytes) -> bytes:
    # The alphabet was already checked by the regex; only the length can still be impossible.
    # binascii directly: base64.urlsafe_b64decode's argument checks cost as much as the decoding.
    try:
        return binascii.a2b_base64(segment.translate(_URLSAFE_TO_STANDARD) + _PADDING[len(segment) % 4])
    except binascii.Error:
        raise VerificationError("MALFORMED", "BAD_BASE64") from None


class _DuplicateMember(ValueError):
    pass


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateMember()
    return obj


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_unique_members, parse_constant=_reject_constant)


def _parse_json(raw: bytes, part: str) -> dict[str, Any]:
    value = _compact_object(raw)
    if value is None:
        value = _strict_object(raw, part)
    # Nesting can be no deeper than the number of brackets (those inside strings only add to the
    # count; in UTF-8 no other character holds their bytes), so the walk is needed only when
    # there are many: a permit has about four.
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise VerificationError("MALFORMED", "TOO_DEEP")
    return value


def _compact_object(raw: bytes) -> dict[str, Any] | None:
    """The object ``raw`` holds when it is in orjson's own compact form; None otherwise.

    Why orjson: after the signature, parsing is the largest step of a verification, and orjson
    takes a fraction of the stdlib's time. But it keeps the last of duplicate members and reads
    integers beyond 64 bits as floats, so its value is taken only when serialising it gives back
    exactly the bytes read: the text is then in the one compact form both parsers read alike,
    without a duplicate (a dict serialises one member per key). Anything else -- spaces,
    escapes, exponents, duplicates, not JSON -- is left to :func:`_strict_object`."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if type(value) is dict and orjson.dumps(value) == raw else None


def _strict_object(raw: bytes, part: str) -> dict[str, Any]:
    try:
        value = _STRICT_JSON.decode(raw.decode("utf-8"))
    except _DuplicateMember:
        raise VerificationError("MALFORMED", "DUPLICATE_MEMBER") from None
    except RecursionError:
        raise VerificationError("MALFORMED", "TOO_DEEP") from None
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        raise VerificationError("MALFORMED", f"{part}_NOT_JSON") from None
    if not isinstance(value, dict):
        raise VerificationError("MALFORMED", f"{part}_NOT_OBJECT")
    return value


def _deeper_than(value: Any, allowed: int) -> bool:
    """True if objects/arrays nest more than ``allowed`` levels; stops descending once it is."""
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    if allowed == 0:
        return True
    return any(_deeper_than(child, allowed - 1) for child in children)


def _typ_matches(typ: Any, kind: str) -> bool:
    if not isinstance(typ, str):
        return False
    typ = typ.lower()
    if typ.startswith("application/"):
        typ = typ[len("application/") :]
    return typ == kind


@functools.lru_cache(maxsize=1024)
def _checked_header(header_b64: bytes, kind: str) -> tuple[dict[str, Any], str, str]:
    """(header, alg, kid) once the header passed every check that depends on it alone;
    remembered like :func:`_header_of` (a refusal raises and is not kept)."""
    header = _header_of(header_b64)
    return header, *_check_header(header, kind)


def _check_header(header: dict[str, Any], kind: str) -> tuple[str, str]:
    alg = header.get("alg")
    if type(alg) is not str or alg not in ALLOWED_ALGORITHMS:
        raise VerificationError("SIGNATURE_INVALID", "ALG_NOT_ALLOWED")
    if not _typ_matches(header.get("typ"), kind):
        raise VerificationError("WRONG_TYPE", "TYP_MISMATCH" if "typ" in header else "TYP_MISSING")
    if len(header) != 3 or not _HEADER_MEMBERS.issuperset(header):
        for name in FORBIDDEN_HEADERS:
            if name in header:
                raise VerificationError("MALFORMED", f"FORBIDDEN_HEADER:{name}")
        unexpected = sorted(set(header) - _HEADER_MEMBERS)
        if unexpected:  # names are attacker text: keep the detail short and printable for logs
            names = _UNPRINTABLE.sub("?", ",".join(unexpected))[:100]
            raise VerificationError("MALFORMED", f"UNEXPECTED_HEADER:{names}")
    kid = header.get("kid")
    if not isinstance(kid, str) or KID_PATTERN.fullmatch(kid) is None:
        raise VerificationError("MALFORMED", "BAD_KID" if "kid" in header else "KID_MISSING")
    return alg, kid


def _verify_signature(alg: str, public_key: Any, signature: bytes, signing_input: bytes) -> None:
    """Step 3: raw 64-byte signatures only (no DER), ES256 scalars in range, then ``cryptography``."""
    if len(signature) != 64:
        raise VerificationError("SIGNATURE_INVALID", "BAD_SIGNATURE_LENGTH")
    try:
        if alg == "ES256":
            r, s = signature[:32], signature[32:]
            if not (_ZERO_SCALAR < r < _P256_ORDER_BYTES and _ZERO_SCALAR < s < _P256_ORDER_BYTES):
                raise VerificationError("SIGNATURE_INVALID", "SCALAR_OUT_OF_RANGE")
            public_key.verify(der_signature(r, s), signing_input, _ECDSA_SHA256)
        else:
            public_key.verify(signature, signing_input)
    except InvalidSignature:
        raise VerificationError("SIGNATURE_INVALID", "BAD_SIGNATURE") from None


def der_signature(r: bytes, s: bytes) -> bytes:
    """The DER ``ECDSA-Sig-Value`` (RFC 3279) of two nonzero 32-byte big-endian scalars, which
    is what ``cryptography`` verifies. Built from the bytes: ``encode_dss_signature`` wants two
    ints, and converting them there and back cost more than building these few bytes."""
    body = _der_integer(r) + _der_integer(s)
    return b"\x30" + bytes((len(body),)) + body  # at most 70 bytes: the one-byte length form


def _der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\x00")  # minimal: no leading zero byte ...
    if value[0] & 0x80:  # ... except the one that keeps a high first bit from reading as negative
        value = b"\x00" + value
    return b"\x02" + bytes((len(value),)) + value


def _is_number(value: Any) -> bool:
    return (type(value) is int) or (type(value) is float and math.isfinite(value))


def _check_claims(
    claims: dict[str, Any],
    kind: str,
    keys: KeySet,
    issuers: set[str] | None,
    now: float,
    leeway: int,
    audience: str | None,
) -> None:
    """Step 4: presence and types first, then issuer, then time, then audience."""
    if not claims.keys() >= _REQUIRED_CLAIM_SETS[kind]:
        missing = [name for name in REQUIRED_CLAIMS[kind] if name not in claims]
        raise VerificationError("MALFORMED", "MISSING_CLAIM:" + ",".join(missing))
    # an absent claim reads as a good value here: only the present ones are checked
    for name in _STRING_CLAIMS:
        value = claims.get(name, "-")
        if type(value) is not str or not value:
            raise VerificationError("MALFORMED", f"BAD_CLAIM:{name}")
    for name in _TIME_CLAIMS:
        value = claims.get(name, 0)
        if not _is_number(value):
            raise VerificationError("MALFORMED", f"BAD_CLAIM:{name}")

    iss = claims["iss"]
    if issuers is not None and iss not in issuers:
        raise VerificationError("UNKNOWN_ISSUER", "ISSUER_NOT_TRUSTED")
    if iss != keys.issuer:
        raise VerificationError("UNKNOWN_ISSUER", "ISSUER_KEYSET_MISMATCH")

    iat, exp = claims["iat"], claims["exp"]
    if exp <= iat:
        raise VerificationError("MALFORMED", "EXP_NOT_AFTER_IAT")
    if kind == PRESENTATION and exp - iat > MAX_PRESENTATION_SECONDS:
        raise VerificationError("MALFORMED", "LIFETIME_TOO_LONG")
    if iat > now + leeway:
        raise VerificationError("NOT_YET_VALID", "IAT_IN_FUTURE")
    if "nbf" in claims and claims["nbf"] > now + leeway:
        raise VerificationError("NOT_YET_VALID", "NBF_IN_FUTURE")
    if now >= exp + leeway:
        raise VerificationError("EXPIRED", "EXP_PASSED")

    if audience is not None:
        aud = claims.get("aud")
        if aud is None:
            raise VerificationError("MALFORMED", "AUD_MISSING")
        if type(aud) is not str:  # a list is refused outright (strict_aud, J-12)
            raise VerificationError("MALFORMED", "AUD_NOT_STRING")
        if aud != audience:
            raise VerificationError("MALFORMED", "AUD_MISMATCH")
