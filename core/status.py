"""IETF Token Status List (draft-ietf-oauth-status-list), 2 bits per credential.

Values: 0 valid, 1 invalid (revoked, replaced, cancelled), 2 suspended. Each credential gets
an index chosen at random within its list (herd privacy; the draft and W3C BSL recommend
random, non-sequential allocation; :mod:`core.allocation` draws them) and never reused:
credentials are never deleted and ``(status_list_id, status_idx)`` is unique.
"""

from __future__ import annotations

import base64
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from govcred.core.exceptions import GovcredError
from govcred.core.models import STATUS_LIST_VALUE

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from govcred.core.clock import Clock
    from govcred.core.config import Settings
    from govcred.core.keystore import KeyStore
    from govcred.core.repository import StatusListRepository
    from govcred.core.unit_of_work import UnitOfWork

BITS = 2


def status_list_uri(issuer: str, list_id: str) -> str:
    return f"{issuer.rstrip('/')}/status/{list_id}"


# -- issuer side: the signed list ------------------------------------------------------------

#: A list token lives this many ``ttl`` periods, so a verifier whose refresh fails a few times
#: still holds a usable list, yet never one older than ``exp`` (it is then STATUS_UNAVAILABLE).
EXP_TTL_PERIODS = 4
#: Re-sign an unchanged list once less than this many ``ttl`` periods remain before its ``exp``,
#: so that a copy fetched just before re-signing is still good for a few refresh rounds.
RESIGN_TTL_PERIODS = 3


class UnknownStatusList(GovcredError):
    """No status list has this id."""

    code = "STATUS_LIST_NOT_FOUND"
    http_status = 404


def status_claim(issuer: str, list_id: str, idx: int) -> dict:
    """The ``status`` claim of a credential (draft-ietf-oauth-status-list §6.1)."""
    return {"status_list": {"idx": idx, "uri": status_list_uri(issuer, list_id)}}


def pack_statuses(size: int, values: dict[int, int] | list[tuple[int, int]]) -> bytes:
    """The uncompressed list: ``BITS`` bits per index, index i in byte i*BITS//8 starting at the
    least significant bit (draft §4.1). ``values`` holds only the non-zero entries."""
    if size % (8 // BITS):
        raise ValueError(f"a {BITS}-bit list size must be a multiple of {8 // BITS}")
    raw = bytearray(size * BITS // 8)
    per_byte = 8 // BITS
    mask = (1 << BITS) - 1
    items = values.items() if isinstance(values, dict) else values
    for idx, value in items:
        if not 0 <= idx < size:
            raise ValueError(f"index {idx} is outside the list of {size}")
        if not 0 <= value <= mask:
            raise ValueError(f"status value {value} does not fit in {BITS} bits")
        shift = (idx % per_byte) * BITS
        byte = raw[idx // per_byte] & ~(mask << shift)
        raw[idx // per_byte] = byte | (value << shift)
    return bytes(raw)


def encode_lst(raw: bytes) -> str:
    """``lst``: base64url (unpadded) of the zlib (RFC 1950) stream at level 9."""
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode("ascii")


def list_values(lists: StatusListRepository, list_id: str) -> tuple[int, int, dict[int, int]]:
    """``(size, revision, {idx: value})`` of one list; only credentials with a non-zero value are read."""
    header = lists.size_and_revision(list_id)
    if header is None:
        raise UnknownStatusList("未找到该状态列表")
    nonzero = [status for status, value in STATUS_LIST_VALUE.items() if value]
    rows = lists.indices_with_status(list_id, nonzero)
    size, revision = header
    return size, revision, {idx: STATUS_LIST_VALUE[status] for idx, status in rows}


@dataclass(frozen=True)
class SignedList:
    list_id: str
    revision: int
    token: str
    iat: int
    exp: int
    ttl: int
    #: the key that signed it: a list is signed again once another key is the active one
    kid: str = ""


class StatusListPublisher:
    """Signs status-list tokens for one issuer and keeps them per (list id, revision); the runtime
    holds one, so every request shares its cache.

    Serving a list is one indexed read of its revision and of the active kid while the cached
    token is current; the list is rebuilt and re-signed only when the revision moved, the token
    nears ``exp`` or another key signs now (rotated or revoked, maybe by another process).
    """

    def __init__(self, uow: Callable[..., UnitOfWork], settings: Settings, clock: Clock, keys: KeyStore):
        self._uow = uow
        self._settings = settings
        self._clock = clock
        self._keys = keys
        self._cache: dict[str, SignedList] = {}
        self._lock = threading.Lock()

    def current(self, list_id: str) -> SignedList:
        now = int(self._clock.now().timestamp())
        ttl = self._settings.status_list_ttl_seconds
        with self._uow(readonly=True) as uow:
            revision = uow.status_lists.revision(list_id)
            if revision is None:
                raise UnknownStatusList("未找到该状态列表")
            cached = self._cache.get(list_id)
            if (
                cached is not None
                and cached.revision == revision
                and now < cached.exp - RESIGN_TTL_PERIODS * ttl
                and cached.kid == uow.signing_keys.newest_active_kid()
            ):
                return cached
            size, revision, values = list_values(uow.status_lists, list_id)
        signed = self._sign(list_id, revision, pack_statuses(size, values), now, ttl)
        with self._lock:
            held = self._cache.get(list_id)
            if held is None or held.revision <= signed.revision:
                self._cache[list_id] = signed
        return signed

    def _sign(self, list_id: str, revision: int, raw: bytes, now: int, ttl: int) -> SignedList:
        from govcred.core.tokens import STATUS_LIST, issue_token

        settings = self._settings
        exp = now + EXP_TTL_PERIODS * ttl
        claims = {
            "iss": settings.issuer,
            "sub": status_list_uri(settings.issuer, list_id),
            "iat": now,
            "exp": exp,
            "ttl": ttl,
            "status_list": {"bits": BITS, "lst": encode_lst(raw)},
        }
        key = self._keys.active_key()
        token = issue_token(STATUS_LIST, claims, key, clock=self._clock)
        return SignedList(list_id, revision, token, now, exp, ttl, key.kid)
