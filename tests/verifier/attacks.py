"""The foundation's token attacks (security-checklist J-01 … J-13), rebuilt around a REAL
credential of a trusted issuer so they can be sent through the verifier's HTTP endpoint.
Each is (name, token, the reason code the verifier must answer)."""

from __future__ import annotations

import hashlib
import hmac
import json

from cryptography.hazmat.primitives import serialization

from govcred.core.keys import SigningKey
from tests.core.jws_forge import P256_ORDER, b64, forge, header_for


def _hs256(header: dict, claims: dict, secret: bytes) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def attack_tokens(key: SigningKey, claims: dict, now: int) -> list[tuple[str, str, str]]:
    cred = "rp-credential+jwt"
    head = header_for(key, cred)
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = b64(json.dumps(claims).encode())
    attacker = SigningKey.generate("ES256")
    return [
        # the empty signature segment already fails the QR/JWS framing
        ("alg none", f"{b64(json.dumps({'alg': 'none', 'typ': cred}).encode())}.{payload}.", "MALFORMED"),
        (
            "alg none, junk signature",
            f"{b64(json.dumps({'alg': 'none', 'typ': cred, 'kid': key.kid}).encode())}.{payload}.AAAA",
            "SIGNATURE_INVALID",
        ),
        (
            "HS256 with the public PEM",
            _hs256({"alg": "HS256", "typ": cred, "kid": key.kid}, claims, pem),
            "SIGNATURE_INVALID",
        ),
        (
            "HS256 with the public JWK",
            _hs256({"alg": "HS256", "typ": cred, "kid": key.kid}, claims, json.dumps(key.public_jwk).encode()),
            "SIGNATURE_INVALID",
        ),
        (
            "embedded attacker jwk",
            forge({**header_for(attacker, cred), "kid": key.kid, "jwk": attacker.public_jwk}, claims, attacker),
            "MALFORMED",
        ),
        ("issuer-signed with jku", forge({**head, "jku": "http://127.0.0.1:9/k"}, claims, key), "MALFORMED"),
        ("crit", forge({**head, "crit": ["x-policy"], "x-policy": 1}, claims, key), "MALFORMED"),
        ("b64 false", forge({**head, "b64": False, "crit": ["b64"]}, claims, key), "MALFORMED"),
        ("zip", forge({**head, "zip": "DEF"}, claims, key), "MALFORMED"),
        ("cty nested", forge({**head, "cty": "JWT"}, claims, key), "MALFORMED"),
        ("kid traversal", forge({**head, "kid": "../../../../dev/null"}, claims, key), "MALFORMED"),
        ("kid sql", forge({**head, "kid": "1' UNION SELECT 'x'--"}, claims, key), "MALFORMED"),
        ("unknown kid", forge({**head, "kid": "AAAAAAAAAAA"}, claims, key), "UNKNOWN_KID"),
        ("attacker key", forge(header_for(attacker, cred), claims, attacker), "UNKNOWN_KID"),
        ("zero signature", forge(head, claims, key, signature=bytes(64)), "SIGNATURE_INVALID"),
        (
            "r = n",
            forge(head, claims, key, signature=P256_ORDER.to_bytes(32, "big") + (1).to_bytes(32, "big")),
            "SIGNATURE_INVALID",
        ),
        ("63-byte signature", forge(head, claims, key, signature=bytes(63)), "SIGNATURE_INVALID"),
        (
            "tampered claims",
            forge(head, claims, key).rsplit(".", 2)[0]
            + "."
            + b64(json.dumps({**claims, "ben": 2047}).encode())
            + "."
            + forge(head, claims, key).rsplit(".", 1)[1],
            "SIGNATURE_INVALID",
        ),
        (
            "duplicate member",
            forge(head, json.dumps(claims)[:-1].encode() + b',"n":"\\u674e*\\u56db"}', key),
            "MALFORMED",
        ),
        ("oversized", forge(head, {**claims, "pad": "x" * 5000}, key), "MALFORMED"),
        ("status list typ", forge(header_for(key, "statuslist+jwt"), claims, key), "WRONG_TYPE"),
        ("no typ", forge({"alg": key.alg, "kid": key.kid}, claims, key), "WRONG_TYPE"),
        (
            "expired",
            forge(head, {**claims, "iat": now - 400 * 86400, "nbf": now - 400 * 86400, "exp": now - 61}, key),
            "EXPIRED",
        ),
        ("not yet valid", forge(head, {**claims, "nbf": now + 600}, key), "NOT_YET_VALID"),
        ("iss prefix", forge(head, {**claims, "iss": claims["iss"][:-1]}, key), "UNKNOWN_ISSUER"),
        ("missing exp", forge(head, {k: v for k, v in claims.items() if k != "exp"}, key), "MALFORMED"),
        ("deep json", forge(head, {**claims, "x": json.loads("[" * 20 + "]" * 20)}, key), "MALFORMED"),
    ]
