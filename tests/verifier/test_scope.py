"""Issuer scope: a trusted issuer's key vouches only for the divisions and credential types
its trust entry names; anything else it signs answers ISSUER_OUT_OF_SCOPE."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from govcred.core.clock import FixedClock
from govcred.core.exceptions import ConfigError
from govcred.verifier.cache import TrustCache
from govcred.verifier.check import Verifier
from govcred.verifier.trust import parse_trust
from tests.core.credential_rows import make_credential
from tests.verifier.foreign import ForeignIssuer
from tests.verifier.issuers import publish, trust_of

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
LIANDU = "https://ld.example.gov.cn"


def scoped(entry, divisions, types=("zj-rp",)):
    return dataclasses.replace(entry, divisions=tuple(divisions), credential_types=tuple(types))


def verifier_of(entry, clock) -> Verifier:
    cache = TrustCache(trust_of(entry, plugins=()), clock=clock)
    cache.refresh()
    return Verifier(cache)


@pytest.mark.parametrize(
    "county, ct, reasons",
    [
        ("331102", "zj-rp", []),
        ("110101", "zj-rp", ["ISSUER_OUT_OF_SCOPE"]),  # Beijing, signed by a Lishui district's key
        ("3311", "zj-rp", ["ISSUER_OUT_OF_SCOPE"]),  # shorter than the prefix
        ("331102", "other-permit", ["ISSUER_OUT_OF_SCOPE"]),
    ],
)
def test_a_credential_outside_its_issuers_scope_is_refused(tmp_path, county, ct, reasons):
    issuer = ForeignIssuer(LIANDU, "joserfc", "ES256", "default")
    now = int(NOW.timestamp())
    verifier = verifier_of(scoped(issuer.publish(tmp_path, now), ["331102"]), FixedClock(NOW))
    answer = verifier.verify_text(issuer.credential(now, county=county, ct=ct))
    assert (answer.valid, answer.reasons) == (not reasons, reasons)
    if reasons:  # nothing an out-of-scope token says is passed on
        assert (answer.holder, answer.county) == (None, None)


def test_a_county_prefix_covers_its_counties_and_a_missing_county_is_out(tmp_path):
    issuer = ForeignIssuer(LIANDU, "jwcrypto", "EdDSA", "uuid")
    now = int(NOW.timestamp())
    verifier = verifier_of(scoped(issuer.publish(tmp_path, now), ["3311", "3301"]), FixedClock(NOW))
    assert verifier.verify_text(issuer.credential(now, county="330106")).valid
    assert verifier.verify_text(issuer.credential(now, county=None)).reasons == ["ISSUER_OUT_OF_SCOPE"]


def test_govcreds_own_permit_and_its_presentation_within_and_outside_scope(sqlite_runtime, tmp_path):
    from govcred.core.presentation import issue_presentation

    rt = sqlite_runtime
    cred = make_credential(rt)  # Qingtian, 331121
    entry = publish(rt, tmp_path)
    presentation = issue_presentation(rt.collaborators, cred)
    inside = verifier_of(scoped(entry, ["331121"]), rt.clock)
    assert inside.verify_text(cred.token).valid and inside.verify_text(presentation).valid
    outside = verifier_of(scoped(entry, ["331102"]), rt.clock)
    for token in (cred.token, presentation):
        assert outside.verify_text(token).reasons == ["ISSUER_OUT_OF_SCOPE"]


def test_scope_in_the_trust_file_and_its_mistakes_named(tmp_path):
    entry = {"iss": "https://qt.example.gov.cn", "jwks": "qt.json"}
    trust = parse_trust({"issuer": [{**entry, "divisions": ["331121"], "credential_types": ["zj-rp"]}]}, tmp_path)
    assert (trust.issuers[0].divisions, trust.issuers[0].credential_types) == (("331121",), ("zj-rp",))
    with pytest.raises(ConfigError) as info:
        parse_trust({"issuer": [{**entry, "divisions": ["33112", "abc"], "credential_types": []}]}, tmp_path)
    text = " | ".join(info.value.details["problems"])
    assert "divisions 应为非空列表，每项是 2、4 或 6 位的行政区划代码前缀" in text
    assert "credential_types 应为非空列表" in text
