"""Issuers that do not run govcred: their keys, JWKS, status lists and credentials are made by
joserfc or jwcrypto, with each library's own default kid (its RFC 7638 thumbprint) or a UUID.

Everything a verifier reads from them is what that library writes; only the claims follow
govcred's credential profile, as another county's system would to be mutually recognised."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from govcred.verifier.trust import TrustedIssuer

LIBRARIES = ("joserfc", "jwcrypto")
ALGORITHMS = ("ES256", "EdDSA")
KID_STYLES = ("default", "uuid")


def _pyca_key(alg: str):
    return ec.generate_private_key(ec.SECP256R1()) if alg == "ES256" else ed25519.Ed25519PrivateKey.generate()


@dataclass
class ForeignIssuer:
    iss: str
    library: str
    alg: str
    kid_style: str

    def __post_init__(self):
        uuid_kid = str(uuid.uuid4()) if self.kid_style == "uuid" else None
        if self.library == "joserfc":
            from joserfc.jwk import ECKey, OKPKey

            make = ECKey.generate_key if self.alg == "ES256" else OKPKey.generate_key
            curve = "P-256" if self.alg == "ES256" else "Ed25519"
            params = {"kid": uuid_kid} if uuid_kid else None
            # auto_kid: joserfc's own default, the key's full RFC 7638 thumbprint
            self._key = make(curve, parameters=params, auto_kid=uuid_kid is None)
            self.kid = self._key.kid
            self.jwks = {"keys": [self._key.as_dict(private=False)]}
        else:
            from jwcrypto import jwk

            # from_pyca: jwcrypto names an imported key by its full RFC 7638 thumbprint
            self._key = jwk.JWK.from_pyca(_pyca_key(self.alg))
            if uuid_kid:
                self._key = jwk.JWK(**{**self._key.export(as_dict=True), "kid": uuid_kid})
            self.kid = self._key.kid
            keyset = jwk.JWKSet()
            keyset.add(self._key)
            self.jwks = json.loads(keyset.export(private_keys=False))

    def sign(self, typ: str, claims: dict) -> str:
        header = {"alg": self.alg, "typ": typ, "kid": self.kid}
        payload = json.dumps(claims, ensure_ascii=False).encode("utf-8")
        if self.library == "joserfc":
            from joserfc import jws

            return jws.serialize_compact(header, payload, self._key, algorithms=[self.alg])
        from jwcrypto import jws

        signed = jws.JWS(payload)
        signed.add_signature(self._key, None, json.dumps(header))
        return signed.serialize(compact=True)

    def status_list(self, now: int, size: int = 1024, values: dict[int, int] | None = None) -> str:
        """A 2-bit Token Status List; ``values`` the non-zero entries."""
        raw = bytearray(size // 4)
        for idx, value in (values or {}).items():
            raw[idx // 4] |= value << ((idx % 4) * 2)
        lst = base64.urlsafe_b64encode(zlib.compress(bytes(raw))).rstrip(b"=").decode()
        claims = {
            "iss": self.iss,
            "sub": self.list_uri,
            "iat": now,
            "exp": now + 86400,
            "ttl": 3600,
            "status_list": {"bits": 2, "lst": lst},
        }
        return self.sign("statuslist+jwt", claims)

    @property
    def list_uri(self) -> str:
        return self.iss + "/status/1"

    def credential(self, now: int, *, idx: int = 3, county: str = "331102", ct: str = "zj-rp", **extra) -> str:
        claims = {
            "iss": self.iss,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + 300 * 86400,
            "ct": ct,
            "n": "李*华",
            "idm": "3311**********2345",
            "cty": county,
            "ben": 1,
            "status": {"status_list": {"idx": idx, "uri": self.list_uri}},
            **extra,
        }
        return self.sign("rp-credential+jwt", claims)

    def publish(self, directory: Path, now: int, **list_options) -> TrustedIssuer:
        """Its JWKS and status list as files, and the trust entry naming them."""
        directory.mkdir(parents=True, exist_ok=True)
        jwks, lst = directory / "foreign-jwks.json", directory / "foreign-status-1.jwt"
        jwks.write_text(json.dumps(self.jwks))
        lst.write_text(self.status_list(now, **list_options))
        return TrustedIssuer(self.iss, "丽水市莲都区公安分局", str(jwks), None, (str(lst),))
