"""A realistic permit token for QR size and speed checks (shared by tests and bench/bench_qr.py).

Shaped like what issuance signs today (core/services/issuance.py with the zhejiang_residence
plugin's claims): no ``nbf`` (equal to ``iat``, it is left out), a 22-character jti, the
plugin's short claim names and benefit bitmask, and a status-list reference.
"""

from __future__ import annotations

import base64
import json
import os

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

PERMIT_CLAIMS = {
    "iss": "https://qt.example.gov.cn",
    "iat": 1796004000,
    "exp": 1827590399,
    "ct": "zj-rp",
    "n": "张*明",
    "idm": "3301**********1230",
    "cty": "331121",
    "b": "rr",
    "ben": 2047,
    "rs": "2026-01-01",
    "status": {"status_list": {"idx": 123456, "uri": "https://qt.example.gov.cn/status/1"}},
}


def typical_permit_token(key: ec.EllipticCurvePrivateKey | None = None) -> str:
    """An ES256 compact JWS shaped like a residence permit: 11-character kid (the thumbprint's
    first 8 bytes), a 22-character jti (128 random bits), minified UTF-8 JSON claims, and a
    64-byte raw signature."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    jti = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
    claims = {"iss": PERMIT_CLAIMS["iss"], "jti": jti, **PERMIT_CLAIMS}
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return jwt.api_jws.encode(
        payload, key, algorithm="ES256", headers={"kid": "AbCdEfGhIjK", "typ": "rp-credential+jwt"}
    )
