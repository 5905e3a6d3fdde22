"""Hand-built JWS for the token tests: valid signatures over whatever header and payload bytes a
test needs, made with ``cryptography`` directly so nothing in core/tokens.py shapes the attack."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from govcred.core.clock import UTC, FixedClock
from govcred.core.keys import KeySet, SigningKey, jwks_document

ISSUER = "https://qingtian.example.gov.cn"
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def clock() -> FixedClock:
    return FixedClock(NOW)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def as_json(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def raw_signature(key: SigningKey, signing_input: bytes) -> bytes:
    if key.alg == "ES256":
        r, s = decode_dss_signature(key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.private_key.sign(signing_input)


def forge(header: Any, payload: Any, key: SigningKey, signature: bytes | None = None) -> str:
    """A compact JWS over exactly these header/payload bytes; validly signed unless ``signature`` is given."""
    signing_input = f"{b64(as_json(header))}.{b64(as_json(payload))}".encode("ascii")
    if signature is None:
        signature = raw_signature(key, signing_input)
    return f"{signing_input.decode('ascii')}.{b64(signature)}"


def header_for(key: SigningKey, typ: str, **extra: Any) -> dict[str, Any]:
    return {"alg": key.alg, "typ": typ, "kid": key.kid, **extra}


def credential_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "jti": "cred-0001",
        "iat": NOW_TS,
        "nbf": NOW_TS,
        "exp": NOW_TS + 300 * 86400,
        "nm": "张*明",
        "div": "331121",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def presentation_claims(**overrides: Any) -> dict[str, Any]:
    claims = {"iss": ISSUER, "jti": "pres-0001", "iat": NOW_TS, "exp": NOW_TS + 60, "aud": "school-33112101"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def status_list_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "sub": ISSUER + "/status/1",
        "iat": NOW_TS,
        "exp": NOW_TS + 86400,
        "ttl": 3600,
        "status_list": {"bits": 2, "lst": "eNrbuRgAAhcBXQ"},
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def trust_list_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "iat": NOW_TS,
        "exp": NOW_TS + 86400,
        "version": 1,
        "issuers": [{"iss": "https://qt.example.gov.cn", "jwks": "https://qt.example.gov.cn/jwks.json"}],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def key_and_set(alg: str = "ES256") -> tuple[SigningKey, KeySet]:
    key = SigningKey.generate(alg, clock=clock())
    return key, KeySet.from_jwks(jwks_document([key]), ISSUER)
