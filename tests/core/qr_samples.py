"""A realistic permit token for QR size and speed checks (shared by tests and bench/bench_qr.py)."""

from __future__ import annotations

import json
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

PERMIT_CLAIMS = {
    "iss": "https://qt.example.gov.cn",
    "iat": 1764460800,
    "nbf": 1764460800,
    "exp": 1795996800,
    "vct": "zj-rp",
    "nm": "张*明",
    "idn": "3301**********1234",
    "cty": "331121",
    "bas": "emp",
    "ben": "edu,emp,hlt,cul",
    "status": {"status_list": {"idx": 123456, "uri": "https://qt.example.gov.cn/status/1"}},
}


def typical_permit_token(key: ec.EllipticCurvePrivateKey | None = None) -> str:
    """An ES256 compact JWS shaped like a residence permit: 11-character kid (the thumbprint's
    first 8 bytes), a uuid jti (32 hex digits), minified UTF-8 JSON claims, and a 64-byte raw signature."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    claims = {"jti": uuid.uuid4().hex, **PERMIT_CLAIMS}
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return jwt.api_jws.encode(
        payload, key, algorithm="ES256", headers={"kid": "AbCdEfGhIjK", "typ": "rp-credential+jwt"}
    )
