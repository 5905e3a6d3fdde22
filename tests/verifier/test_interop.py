"""Mutual recognition: credentials of an issuer whose keys, JWKS, status list and tokens were
made by joserfc or jwcrypto (their own default kid, or a UUID kid) verify like govcred's own."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from govcred.core.clock import FixedClock
from govcred.verifier.cache import TrustCache
from govcred.verifier.check import Verifier
from tests.verifier.foreign import ALGORITHMS, KID_STYLES, LIBRARIES, ForeignIssuer
from tests.verifier.issuers import trust_of

LIANDU = "https://ld.example.gov.cn"
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)

# joserfc warns that RFC 9864 deprecates the name "EdDSA"; it is still the alg govcred's profile
# (and every Ed25519 JOSE stack deployed today) writes.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

CASES = list(itertools.product(LIBRARIES, ALGORITHMS, KID_STYLES))


def verifier_of(*entries) -> Verifier:
    cache = TrustCache(trust_of(*entries, plugins=()), clock=FixedClock(NOW))
    assert cache.refresh() == []
    return Verifier(cache)


@pytest.mark.parametrize("library, alg, kid_style", CASES)
def test_a_foreign_issuers_credential_verifies(tmp_path, library, alg, kid_style):
    issuer = ForeignIssuer(LIANDU, library, alg, kid_style)
    now = int(NOW.timestamp())
    if kid_style == "default":  # the library's own choice: the full RFC 7638 thumbprint
        assert len(issuer.kid) == 43
    verifier = verifier_of(issuer.publish(tmp_path, now, values={5: 1}))
    answer = verifier.verify_text(issuer.credential(now))
    assert (answer.valid, answer.reasons, answer.kind, answer.county) == (True, [], "credential", "331102")
    assert answer.holder == {"name_masked": "李*华", "id_masked": "3311**********2345"}
    revoked = verifier.verify_text(issuer.credential(now, idx=5))
    assert (revoked.valid, revoked.reasons) == (False, ["REVOKED"])


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_token_under_a_kid_the_foreign_jwks_does_not_hold_is_unknown_kid(tmp_path, library):
    issuer, stranger = ForeignIssuer(LIANDU, library, "ES256", "uuid"), ForeignIssuer(LIANDU, library, "ES256", "uuid")
    now = int(NOW.timestamp())
    answer = verifier_of(issuer.publish(tmp_path, now)).verify_text(stranger.credential(now))
    assert (answer.valid, answer.reasons) == (False, ["UNKNOWN_KID"])


def test_a_foreign_kid_that_another_issuers_key_uses_does_not_borrow_its_trust(tmp_path):
    """Two issuers publishing the same kid: the header picks neither, the token's iss decides."""
    first = ForeignIssuer(LIANDU, "joserfc", "ES256", "uuid")
    second = ForeignIssuer("https://jy.example.gov.cn", "jwcrypto", "ES256", "uuid")
    from jwcrypto import jwk

    second._key = jwk.JWK(**{**second._key.export(as_dict=True), "kid": first.kid})
    second.kid = first.kid
    second.jwks = {"keys": [second._key.export_public(as_dict=True)]}
    now = int(NOW.timestamp())
    verifier = verifier_of(first.publish(tmp_path / "a", now), second.publish(tmp_path / "b", now))
    assert verifier.verify_text(first.credential(now)).valid
    assert verifier.verify_text(second.credential(now)).valid
    forged = second.credential(now, iss=LIANDU)  # second's key claiming to be first
    assert verifier.verify_text(forged).reasons == ["SIGNATURE_INVALID"]
