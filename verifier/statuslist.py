"""Reading a signed Token Status List on the verifier side (draft-ietf-oauth-status-list).

The list is verified and inflated ONCE when it is fetched; a verification only reads two bits.
Inflation is bounded (security-checklist Q-04): a ``lst`` that would inflate past
``MAX_LIST_BYTES`` is refused without allocating more than that.

Anything wrong with a list makes the answer STATUS_UNAVAILABLE (the verifier cannot tell the
status), including an index outside the list: the credential is signed and well-formed, it is
the list that does not cover it, and "cannot confirm" is never "valid".
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass

from govcred.core.exceptions import VerificationError
from govcred.core.keys import KeySet
from govcred.core.tokens import STATUS_LIST, verify_token

#: 2 bits x 16,777,216 entries; a bigger list is not one govcred or a sane issuer publishes.
MAX_LIST_BYTES = 4 * 1024 * 1024
ALLOWED_BITS = (1, 2, 4, 8)
#: Status values (draft §7.1).
VALID, INVALID, SUSPENDED = 0, 1, 2


def _unavailable(detail: str) -> VerificationError:
    return VerificationError("STATUS_UNAVAILABLE", detail)


@dataclass(frozen=True)
class StatusList:
    uri: str
    issuer: str
    bits: int
    raw: bytes
    iat: float
    exp: float
    ttl: int
    #: the key that signed the list: a list signed by a key revoked since is dropped
    kid: str = ""

    @property
    def size(self) -> int:
        return len(self.raw) * 8 // self.bits

    def value_at(self, idx: int) -> int:
        if not 0 <= idx < self.size:
            raise _unavailable("INDEX_OUT_OF_RANGE")
        per_byte = 8 // self.bits
        return (self.raw[idx // per_byte] >> ((idx % per_byte) * self.bits)) & ((1 << self.bits) - 1)


def inflate_bounded(lst: str, max_bytes: int = MAX_LIST_BYTES) -> bytes:
    """base64url-decode and inflate ``lst``, refusing more than ``max_bytes`` of output."""
    if not isinstance(lst, str) or not lst or "=" in lst:
        raise _unavailable("LST_NOT_BASE64URL")
    try:
        compressed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
    except (binascii.Error, ValueError):
        raise _unavailable("LST_NOT_BASE64URL") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, max_bytes)
    except zlib.error:
        raise _unavailable("LST_NOT_ZLIB") from None
    if inflater.unconsumed_tail:
        raise _unavailable("LST_TOO_LARGE")
    if not inflater.eof or inflater.unused_data:
        raise _unavailable("LST_NOT_ZLIB")
    return raw


def parse_status_list(token: str | bytes, keys: KeySet, uri: str, *, clock=None, leeway: int = 60) -> StatusList:
    """Verify a ``statuslist+jwt`` of ``keys.issuer`` whose ``sub`` must be ``uri``; inflate it."""
    try:
        verified = verify_token(token, STATUS_LIST, keys, clock=clock, leeway=leeway)
    except VerificationError as exc:
        raise _unavailable(f"LIST_{exc.reason}:{exc.detail}") from None
    claims = verified.claims
    if claims["sub"] != uri:
        raise _unavailable("LIST_SUB_MISMATCH")
    body = claims["status_list"]
    if not isinstance(body, dict):
        raise _unavailable("LIST_BODY_INVALID")
    bits = body.get("bits")
    if type(bits) is not int or bits not in ALLOWED_BITS:
        raise _unavailable("LIST_BITS_INVALID")
    ttl = claims["ttl"]
    if type(ttl) is not int or ttl <= 0:
        raise _unavailable("LIST_TTL_INVALID")
    raw = inflate_bounded(body.get("lst"))
    return StatusList(uri, claims["iss"], bits, raw, float(claims["iat"]), float(claims["exp"]), ttl, verified.kid)
