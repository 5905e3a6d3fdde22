"""The verification library: one call, one :class:`Answer`, never an exception.

Order of checks: read the input (QR text, bare token, or an image) -> the token's kind from
its ``typ`` -> the issuer must be trusted -> :func:`govcred.core.tokens.verify_token` with that
issuer's pinned keys (signature, header, time) -> the issuer's scope (divisions, credential
types) -> the status list entry -> for a presentation, its first use (a ``jti`` never seen by
any process of this service) -> the benefit asked about. A benefit plugin can only narrow: it
is asked only after every core check passed, and
its ``True`` never turns a failed check into a valid answer.

``valid`` means every check passed, including the benefit when one was asked about (a
credential that does not cover it answers ``valid: false`` with BENEFIT_NOT_COVERED).
Holder data (masked name, masked ID, county) is returned only from verified claims.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from govcred.core.claims import COUNTY, CREDENTIAL_ID, ID_MASKED, NAME_MASKED, STATUS
from govcred.core.clock import FixedClock
from govcred.core.exceptions import VerificationError
from govcred.core.outages import outage_kind
from govcred.core.plugins import collect_credential_types
from govcred.core.qr import decode_image, token_from_scan
from govcred.core.tokens import (
    CREDENTIAL,
    MAX_PRESENTATION_LEEWAY_SECONDS,
    PRESENTATION,
    unverified_kid,
    verify_token,
)
from govcred.verifier.replay import MemoryReplayCache
from govcred.verifier.statuslist import INVALID, SUSPENDED, VALID

log = logging.getLogger("govcred.verifier")

KINDS = {CREDENTIAL: "credential", PRESENTATION: "presentation"}
ASSURANCE = {"credential": "static", "presentation": "live"}
#: A full mainland ID number; a masked one never matches (security-checklist Q-08).
FULL_ID = re.compile(r"\d{17}[\dXx]")
_ID_CHARS = 18
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF")
_MAX_SHOWN_CHARS = 32
BENEFIT_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass
class Answer:
    valid: bool
    reasons: list[str]
    kind: str | None
    holder: dict[str, str] | None
    county: str | None
    benefit: dict[str, Any] | None
    checked_at: str
    #: for the verification log and tests only; never part of :meth:`as_json`
    credential_id: str | None = field(default=None, repr=False)
    detail: str = ""

    @property
    def assurance(self) -> str | None:
        """What the answer proves about the person showing it: ``live`` for a presentation made
        in the last minute, ``static`` for the permit's own QR (a printout or a downloaded
        image proves the permit, not who holds it: check the ID card)."""
        return ASSURANCE.get(self.kind)

    def as_json(self) -> dict[str, Any]:
        """Exactly what a verifier institution receives."""
        return {
            "valid": self.valid,
            "reasons": list(self.reasons),
            "kind": self.kind,
            "assurance": self.assurance,
            "holder": self.holder,
            "county": self.county,
            "benefit": self.benefit,
            "checked_at": self.checked_at,
        }


class Verifier:
    """Verifies against a :class:`~verifier.cache.TrustCache` (or anything with ``issuers``,
    ``keyset(iss)``, ``check_scope(claims)``, ``status_list(uri, iss)``, ``now()`` and ``clock``)."""

    def __init__(self, trust, *, pm=None, leeway: int = 60, audience: str | None = None, replay=None):
        self.trust = trust
        self.pm = pm
        self.leeway = leeway
        #: where used presentation jtis are remembered (shared by every process in a service)
        self.replay = replay if replay is not None else MemoryReplayCache()
        self.clock = trust.clock  # one clock for the token times and the list ages
        self.audience = audience

    def verify_text(self, data: Any, *, benefit: str | None = None) -> Answer:
        now = self.trust.now()
        checked_at = _checked_at(int(now))
        benefit_answer = {"code": benefit, "qualifies": False} if benefit else None
        answer = Answer(False, [], None, None, None, benefit_answer, checked_at)
        try:
            token = token_of(data)
            kind, claims = self._verify(token)
            answer.kind = KINDS[kind]
            answer.credential_id = claims.get(CREDENTIAL_ID) if kind == PRESENTATION else claims.get("jti")
            answer.holder, answer.county = _holder(claims)
            self._check_status(claims)
            if kind == PRESENTATION:
                self._check_first_use(claims, now)
        except VerificationError as exc:
            answer.reasons, answer.detail = [exc.reason], exc.detail
            if exc.reason == "EXPIRED" and exc.detail != "KEY_RETIRED":
                status = self._status_of_expired(token)
                if status is not None:
                    # A permit lapses at its anniversary and the sweep then suspends it: the
                    # status says why (未按期签注 / 已吊销), which "expired" alone does not.
                    answer.reasons = [status, "EXPIRED"]
            return answer
        except Exception:  # the library answers, it never raises
            log.exception("verification failed unexpectedly")
            answer.reasons, answer.detail = ["MALFORMED"], "INTERNAL"
            return answer
        if benefit:
            qualifies = self._benefit(claims, benefit)
            answer.benefit = {"code": benefit, "qualifies": qualifies}
            if not qualifies:
                answer.reasons = ["BENEFIT_NOT_COVERED"]
                return answer
        answer.valid = True
        return answer

    def _verify(self, token: str) -> tuple[str, dict[str, Any]]:
        """Verify as a credential, or as a presentation when its ``typ`` says so: a ``typ``
        mismatch is found from the header alone, before any signature work."""
        keys = self.trust.keyset(self._issuer_of(token))
        try:
            kind = CREDENTIAL
            verified = self._verify_as(token, kind, keys)
        except VerificationError as exc:
            if exc.reason != "WRONG_TYPE" or exc.detail != "TYP_MISMATCH":
                raise
            kind = PRESENTATION
            try:
                verified = self._verify_as(token, kind, keys)
            except VerificationError as again:
                if again.reason == "WRONG_TYPE":
                    raise VerificationError("WRONG_TYPE", "NOT_A_CREDENTIAL_OR_PRESENTATION") from None
                raise
        claims = verified.claims
        self.trust.check_scope(claims)
        if kind == PRESENTATION:
            if not isinstance(claims.get(CREDENTIAL_ID), str) or not claims[CREDENTIAL_ID]:
                raise VerificationError("MALFORMED", "CID_MISSING")
            if "aud" in claims and claims["aud"] != self.audience:
                # a presentation made for someone else (e.g. only to read the verification log)
                raise VerificationError("MALFORMED", "AUD_MISMATCH")
        return kind, claims

    def _check_first_use(self, claims: dict[str, Any], now: float) -> None:
        """Last of the checks, so that only a presentation that would verify is used up."""
        until = claims["exp"] + min(self.leeway, MAX_PRESENTATION_LEEWAY_SECONDS)
        try:
            first = self.replay.first_use(claims["iss"], claims["jti"], until=until, now=now)
        except Exception as exc:  # the shared cache is unreachable or full: cannot tell, so never "valid"
            if kind := outage_kind(exc):  # expected, and passes: one line, no traceback
                log.warning("replay cache unavailable: %s (%s)", kind, type(exc).__name__)
            else:
                log.exception("replay cache unavailable")
            raise VerificationError("STATUS_UNAVAILABLE", "REPLAY_CACHE_UNAVAILABLE") from None
        if not first:
            raise VerificationError("PRESENTATION_REPLAYED", "JTI_SEEN")

    def _status_of_expired(self, token: str) -> str | None:
        """SUSPENDED or REVOKED for an expired credential whose list entry says so, else None.

        The token is verified again in full (signature, header, claims) on a clock stopped
        just before its ``exp``; nothing about an unverified token is ever reported."""
        try:
            exp = json.loads(_b64_segment(token, 1)).get("exp")
            if type(exp) is not int:
                return None
            claims = self._verify_as(
                token,
                CREDENTIAL,
                self.trust.keyset(self._issuer_of(token)),
                clock=FixedClock(dt.datetime.fromtimestamp(exp - 1, dt.UTC)),
            ).claims
            self._check_status(claims)
        except VerificationError as exc:
            return exc.reason if exc.reason in ("SUSPENDED", "REVOKED") else None
        except Exception:  # anything odd: the plain EXPIRED answer stands
            return None
        return None

    def _issuer_of(self, token: str) -> str | None:
        """Which trusted issuer's keys to try: by the header's kid (cheap), else by the ``iss``
        the payload claims (so an unknown kid of an untrusted issuer says UNKNOWN_ISSUER)."""
        kid = unverified_kid(token)
        if kid is not None:
            iss = self.trust.issuer_of_kid(kid)
            if iss is not None:
                return iss
        return claimed_issuer(token)

    def _verify_as(self, token: str, kind: str, keys, *, clock=None):
        return verify_token(
            token, kind, keys, issuers=self.trust.issuers, clock=clock or self.clock, leeway=self.leeway
        )

    def _check_status(self, claims: dict[str, Any]) -> None:
        reference = claims.get(STATUS)
        body = reference.get("status_list") if isinstance(reference, dict) else None
        idx = body.get("idx") if isinstance(body, dict) else None
        uri = body.get("uri") if isinstance(body, dict) else None
        if type(idx) is not int or idx < 0 or not isinstance(uri, str):
            raise VerificationError("MALFORMED", "STATUS_CLAIM_INVALID")
        value = self.trust.status_list(uri, claims["iss"]).value_at(idx)
        if value == VALID:
            return
        if value == INVALID:
            raise VerificationError("REVOKED", "STATUS_INVALID")
        if value == SUSPENDED:
            raise VerificationError("SUSPENDED", "STATUS_SUSPENDED")
        raise VerificationError("STATUS_UNAVAILABLE", f"STATUS_VALUE_{value}")

    @functools.cached_property
    def _credential_types(self):
        """The benefit plugins' credential types, collected once (they answer benefit questions)."""
        return collect_credential_types(self.pm)

    @functools.cached_property
    def known_benefits(self) -> dict[str, str]:
        """The benefit codes the loaded plugins' credential types answer for, with their labels
        (collected once: the API asks on every request that names a benefit)."""
        return {} if self.pm is None else self._credential_types.benefits()

    def unknown_benefit(self, benefit: str) -> str | None:
        """Why ``benefit`` is no code here, naming the codes there are; None when it is one. A
        misspelt code would answer "does not qualify", as if it were the holder's fault."""
        known = self.known_benefits
        if benefit in known:
            return None
        choices = "、".join(f"{code}（{label}）" for code, label in sorted(known.items()))
        return f"不认识的权益代码 {benefit}；可选：{choices or '（本核验服务未启用权益插件）'}"

    def _benefit(self, claims: dict[str, Any], benefit: str) -> bool:
        if self.pm is None or not BENEFIT_CODE.fullmatch(benefit):
            return False
        try:
            return self._credential_types.benefit_check(claims, benefit) is True
        except Exception:  # a broken plugin narrows to "no", it never widens
            log.exception("benefit plugin failed for %s", benefit)
            return False


@functools.lru_cache(maxsize=4)
def _checked_at(second: int) -> str:
    # formatting a datetime costs more than some checks; answers within a second share it
    return dt.datetime.fromtimestamp(second, dt.UTC).isoformat()


def token_of(data: Any) -> str:
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if data.startswith(_IMAGE_MAGIC):
            return decode_image(data)
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise VerificationError("MALFORMED", "NOT_TEXT") from None
    return token_from_scan(data)


_ISS_MEMBER = re.compile(rb'"iss"\s*:\s*"([^"\\]{1,512})"')


def _b64_segment(token: str, index: int) -> bytes:
    """One segment of a compact JWS, decoded leniently (b"" when impossible): for picking keys
    only, never for a decision."""
    try:
        segment = token.split(".", 2)[index]
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (IndexError, ValueError):
        return b""


def claimed_issuer(token: str) -> str | None:
    """The ``iss`` the token claims, read WITHOUT verifying: it only picks the key set.

    A plain search in the decoded payload is enough for that (and cheaper than a JSON parse):
    verify_token then parses strictly and requires ``iss`` to equal the key set's issuer, so
    a payload that fools this search can only end in a rejection.
    """
    found = _ISS_MEMBER.search(_b64_segment(token, 1))
    if found is None:
        return None
    try:
        return found[1].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _shown(value: Any) -> str:
    return value[:_MAX_SHOWN_CHARS] if isinstance(value, str) else ""


def _holds_full_id(text: str) -> bool:
    # a text shorter than a number cannot hold one: a masked name never needs the search
    return len(text) >= _ID_CHARS and FULL_ID.search(text) is not None


def _holder(claims: dict[str, Any]) -> tuple[dict[str, str], str]:
    name, id_masked = _shown(claims.get(NAME_MASKED)), _shown(claims.get(ID_MASKED))
    if _holds_full_id(id_masked) or _holds_full_id(name):
        # the issuer must mask; a verifier never passes a full number on
        raise VerificationError("MALFORMED", "UNMASKED_ID")
    return {"name_masked": name, "id_masked": id_masked}, _shown(claims.get(COUNTY))
