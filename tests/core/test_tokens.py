import base64
import datetime as dt
import importlib.metadata
import importlib.util
import json
import warnings

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey

from govcred.core.clock import FixedClock
from govcred.core.exceptions import KeyStoreError, ValidationError, VerificationError
from govcred.core.keys import KeySet, SigningKey, jwks_document
from govcred.core.tokens import (
    CREDENTIAL,
    KINDS,
    PRESENTATION,
    STATUS_LIST,
    TRUST_LIST,
    DecodedJws,
    VerifiedToken,
    der_signature,
    issue_token,
    peek_unverified_issuer,
    verify_token,
)
from tests.core.jws_forge import (
    ISSUER,
    NOW,
    NOW_TS,
    P256_ORDER,
    clock,
    credential_claims,
    forge,
    header_for,
    key_and_set,
    presentation_claims,
    status_list_claims,
    trust_list_claims,
)

CLAIMS_FOR = {
    CREDENTIAL: credential_claims,
    PRESENTATION: presentation_claims,
    STATUS_LIST: status_list_claims,
    TRUST_LIST: trust_list_claims,
}
#: What each kind requires besides iss, iat and exp.
OWN_REQUIRED = {
    CREDENTIAL: ("jti",),
    PRESENTATION: ("jti",),
    STATUS_LIST: ("sub", "ttl", "status_list"),
    TRUST_LIST: ("version", "issuers"),
}


def segments(token: str) -> list[bytes]:
    return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]


def reason_of(token, kind=CREDENTIAL, keys=None, **kwargs) -> tuple[str, str]:
    with pytest.raises(VerificationError) as info:
        verify_token(token, kind, keys, clock=kwargs.pop("clock", clock()), **kwargs)
    return info.value.reason, info.value.detail


@pytest.fixture(params=["ES256", "EdDSA"])
def signer(request):
    return key_and_set(request.param)


# -- issuing --------------------------------------------------------------------------------


def test_kind_constants_are_the_typ_values():
    assert (CREDENTIAL, PRESENTATION, STATUS_LIST, TRUST_LIST) == (
        "rp-credential+jwt",
        "rp-presentation+jwt",
        "statuslist+jwt",
        "rp-trust-list+jwt",
    )


def test_issued_header_is_exactly_alg_typ_kid_in_compact_utf8_json(signer):
    key, _ = signer
    token = issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    header, payload, signature = segments(token)
    assert header == json.dumps({"alg": key.alg, "typ": CREDENTIAL, "kid": key.kid}, separators=(",", ":")).encode()
    assert "张*明".encode() in payload and b"\\u" not in payload and b" " not in payload
    assert len(signature) == 64


def test_issue_sets_iat_from_the_clock_when_absent(signer):
    key, keys = signer
    token = issue_token(CREDENTIAL, credential_claims(iat=None), key, clock=clock())
    assert json.loads(segments(token)[1])["iat"] == NOW_TS
    assert verify_token(token, CREDENTIAL, keys, clock=clock()).claims["iat"] == NOW_TS


def test_issue_keeps_given_iat_and_does_not_modify_callers_claims(signer):
    key, _ = signer
    claims = credential_claims(iat=None)
    issue_token(CREDENTIAL, claims, key, clock=clock())
    assert "iat" not in claims


@pytest.mark.parametrize("kind", KINDS)
def test_issue_names_every_missing_claim(signer, kind):
    key, _ = signer
    with pytest.raises(ValidationError) as info:
        issue_token(kind, {"iat": "yesterday"}, key, clock=clock())
    fields = {(e.field, e.code) for e in info.value.errors}
    missing = {"iss", "exp", *OWN_REQUIRED[kind]}
    assert {(name, "REQUIRED") for name in missing} <= fields
    assert ("iat", "NOT_A_TIME") in fields


def test_issue_refuses_long_presentations(signer):
    key, _ = signer
    with pytest.raises(ValidationError) as info:
        issue_token(PRESENTATION, presentation_claims(exp=NOW_TS + 61), key, clock=clock())
    assert info.value.errors[0].code == "LIFETIME_TOO_LONG"


def test_issue_refuses_unknown_kind_and_retired_key():
    key = SigningKey.generate("ES256", clock=clock(), not_after_signing=NOW - dt.timedelta(seconds=1))
    with pytest.raises(ValueError):
        issue_token("JWT", credential_claims(), key, clock=clock())
    with pytest.raises(KeyStoreError, match="stopped signing"):
        issue_token(CREDENTIAL, credential_claims(), key, clock=clock())


def test_issue_refuses_tokens_over_the_size_cap(signer):
    key, _ = signer
    with pytest.raises(ValidationError) as info:
        issue_token(CREDENTIAL, credential_claims(pad="x" * 4000), key, clock=clock())
    assert info.value.errors[0].code == "TOO_LARGE"


# -- verifying: the happy path --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_for_every_kind(signer, kind):
    key, keys = signer
    claims = CLAIMS_FOR[kind]()
    token = issue_token(kind, claims, key, clock=clock())
    for form in (token, token.encode("ascii")):
        verified = verify_token(form, kind, keys, issuers={ISSUER}, clock=clock())
        assert verified == VerifiedToken(
            header={"alg": key.alg, "typ": kind, "kid": key.kid}, claims=claims, kind=kind, kid=key.kid
        )


@pytest.mark.parametrize("typ", ["RP-Credential+JWT", "application/rp-credential+jwt", "Application/RP-CREDENTIAL+jwt"])
def test_typ_is_compared_case_insensitively_without_application_prefix(typ):
    key, keys = key_and_set()
    token = forge(header_for(key, typ), credential_claims(), key)
    assert verify_token(token, CREDENTIAL, keys, clock=clock()).claims["jti"] == "cred-0001"


@pytest.mark.parametrize(
    "typ",
    [
        "JWT",
        "jwt",
        "application/jwt",
        "rp-credential",
        "x-rp-credential+jwt",
        "rp-credential+jwt2",
        "rp-credential+jwt; charset=utf-8",
        " rp-credential+jwt",
        "application/application/rp-credential+jwt",
        "rp-credential+jws",
        "vc+sd-jwt",
        "",
        ["rp-credential+jwt"],
        None,
        1,
    ],
)
def test_near_miss_typ_values_are_wrong_type(typ):
    key, keys = key_and_set()
    token = forge(header_for(key, typ), credential_claims(), key)
    assert reason_of(token, CREDENTIAL, keys) == ("WRONG_TYPE", "TYP_MISMATCH")


def test_type_matrix_only_the_diagonal_passes(signer):
    key, keys = signer
    for issued_as in KINDS:
        token = issue_token(issued_as, CLAIMS_FOR[issued_as](), key, clock=clock())
        for expected in KINDS:
            if expected == issued_as:
                assert verify_token(token, expected, keys, clock=clock()).kind == expected
            else:
                assert reason_of(token, expected, keys) == ("WRONG_TYPE", "TYP_MISMATCH")


def test_missing_typ_is_wrong_type():
    key, keys = key_and_set()
    token = forge({"alg": "ES256", "kid": key.kid}, credential_claims(), key)
    assert reason_of(token, CREDENTIAL, keys) == ("WRONG_TYPE", "TYP_MISSING")


def test_verify_refuses_unknown_kind_and_leeway_over_60():
    key, keys = key_and_set()
    token = issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    with pytest.raises(ValueError):
        verify_token(token, "JWT", keys, clock=clock())
    with pytest.raises(ValueError, match="leeway"):
        verify_token(token, CREDENTIAL, keys, clock=clock(), leeway=61)
    with pytest.raises(ValueError, match="leeway"):
        verify_token(token, CREDENTIAL, keys, clock=clock(), leeway=-1)


def test_real_clock_is_the_default():
    key, keys = key_and_set()
    real_now = int(dt.datetime.now(dt.UTC).timestamp())
    token = issue_token(CREDENTIAL, credential_claims(iat=None, nbf=None, exp=real_now + 60), key)
    assert abs(verify_token(token, CREDENTIAL, keys).claims["iat"] - real_now) <= 5
    an_hour_later = FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert reason_of(token, CREDENTIAL, keys, clock=an_hour_later)[0] == "EXPIRED"


# -- claims: presence, issuer, time, audience -----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_missing_required_claims_are_malformed(kind):
    key, keys = key_and_set()
    claims = CLAIMS_FOR[kind]()
    for name in ("iss", "iat", "exp") + OWN_REQUIRED[kind]:
        token = forge(header_for(key, kind), {k: v for k, v in claims.items() if k != name}, key)
        assert reason_of(token, kind, keys) == ("MALFORMED", f"MISSING_CLAIM:{name}")


@pytest.mark.parametrize(
    "name, value",
    [
        ("iss", 1),
        ("iss", ""),
        ("jti", None),
        ("jti", ["a"]),
        ("exp", "2027-01-01"),
        ("exp", True),
        ("iat", None),
        ("nbf", {"t": 1}),
        ("sub", 5),
    ],
)
def test_claims_of_the_wrong_type_are_malformed(name, value):
    key, keys = key_and_set()
    claims = credential_claims()
    claims[name] = value
    token = forge(header_for(key, CREDENTIAL), claims, key)
    assert reason_of(token, CREDENTIAL, keys) == ("MALFORMED", f"BAD_CLAIM:{name}")


@pytest.mark.parametrize(
    "iss",
    [
        ISSUER[:-1],
        ISSUER + "/",
        ISSUER.upper(),
        "HTTPS://qingtian.example.gov.cn",
        ISSUER + " ",
        "https",
        ISSUER + "/x",
        "x" + ISSUER,
    ],
)
def test_issuer_is_compared_as_an_exact_string(iss):
    key, keys = key_and_set()
    token = forge(header_for(key, CREDENTIAL), credential_claims(iss=iss), key)
    assert reason_of(token, CREDENTIAL, keys, issuers={ISSUER}) == ("UNKNOWN_ISSUER", "ISSUER_NOT_TRUSTED")


def test_issuer_must_own_the_key_set_even_without_an_issuer_list():
    key, _ = key_and_set()
    other_issuer_keys = KeySet.from_jwks(jwks_document([key]), "https://other.example.gov.cn")
    token = issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    assert reason_of(token, CREDENTIAL, other_issuer_keys) == ("UNKNOWN_ISSUER", "ISSUER_KEYSET_MISMATCH")
    assert reason_of(token, CREDENTIAL, other_issuer_keys, issuers={ISSUER, "https://other.example.gov.cn"}) == (
        "UNKNOWN_ISSUER",
        "ISSUER_KEYSET_MISMATCH",
    )


def test_expired_and_the_leeway_edge():
    key, keys = key_and_set()
    token = issue_token(CREDENTIAL, credential_claims(iat=NOW_TS - 1000, nbf=None, exp=NOW_TS - 10), key, clock=clock())
    # exp = now-10 with leeway 30 is accepted: pinned so that any change of leeway shows up in review
    assert verify_token(token, CREDENTIAL, keys, clock=clock(), leeway=30)
    assert reason_of(token, CREDENTIAL, keys, leeway=0) == ("EXPIRED", "EXP_PASSED")
    assert reason_of(token, CREDENTIAL, keys, leeway=10) == ("EXPIRED", "EXP_PASSED")  # now == exp + leeway
    assert verify_token(token, CREDENTIAL, keys, clock=clock(), leeway=11)  # one second inside
    assert reason_of(token, CREDENTIAL, keys, clock=clock_after(60)) == ("EXPIRED", "EXP_PASSED")


def clock_after(seconds):
    later = clock()
    later.advance(seconds=seconds)
    return later


def test_exp_one_second_ago_is_expired_with_no_leeway():
    key, keys = key_and_set()
    token = issue_token(CREDENTIAL, credential_claims(iat=NOW_TS - 100, nbf=None, exp=NOW_TS - 1), key, clock=clock())
    assert reason_of(token, CREDENTIAL, keys, leeway=0) == ("EXPIRED", "EXP_PASSED")


def test_nbf_in_the_future_and_its_leeway_edge():
    key, keys = key_and_set()
    token = forge(header_for(key, CREDENTIAL), credential_claims(nbf=NOW_TS + 600), key)
    assert reason_of(token, CREDENTIAL, keys) == ("NOT_YET_VALID", "NBF_IN_FUTURE")
    edge = forge(header_for(key, CREDENTIAL), credential_claims(nbf=NOW_TS + 60), key)
    assert verify_token(edge, CREDENTIAL, keys, clock=clock(), leeway=60)
    assert reason_of(edge, CREDENTIAL, keys, leeway=59) == ("NOT_YET_VALID", "NBF_IN_FUTURE")


def test_iat_in_the_future_and_its_leeway_edge():
    key, keys = key_and_set()
    token = forge(header_for(key, CREDENTIAL), credential_claims(iat=NOW_TS + 3600, nbf=None), key)
    assert reason_of(token, CREDENTIAL, keys) == ("NOT_YET_VALID", "IAT_IN_FUTURE")
    edge = forge(header_for(key, CREDENTIAL), credential_claims(iat=NOW_TS + 60, nbf=None), key)
    assert verify_token(edge, CREDENTIAL, keys, clock=clock(), leeway=60)
    assert reason_of(edge, CREDENTIAL, keys, leeway=59) == ("NOT_YET_VALID", "IAT_IN_FUTURE")


def test_exp_not_after_iat_is_malformed():
    key, keys = key_and_set()
    token = forge(header_for(key, CREDENTIAL), credential_claims(exp=NOW_TS), key)
    assert reason_of(token, CREDENTIAL, keys) == ("MALFORMED", "EXP_NOT_AFTER_IAT")


def test_presentation_lifetime_is_at_most_60_seconds():
    key, keys = key_and_set()
    ok = forge(header_for(key, PRESENTATION), presentation_claims(exp=NOW_TS + 60), key)
    assert verify_token(ok, PRESENTATION, keys, clock=clock())
    for lifetime in (61, 3600):
        token = forge(header_for(key, PRESENTATION), presentation_claims(exp=NOW_TS + lifetime), key)
        assert reason_of(token, PRESENTATION, keys) == ("MALFORMED", "LIFETIME_TOO_LONG")


def test_audience_must_be_the_single_expected_string():
    key, keys = key_and_set()
    own = "school-33112101"

    def check(aud):
        token = forge(header_for(key, PRESENTATION), presentation_claims(aud=aud), key)
        return reason_of(token, PRESENTATION, keys, audience=own)

    assert (
        verify_token(
            forge(header_for(key, PRESENTATION), presentation_claims(), key),
            PRESENTATION,
            keys,
            clock=clock(),
            audience=own,
        ).claims["aud"]
        == own
    )
    assert check(["other", own]) == ("MALFORMED", "AUD_NOT_STRING")
    assert check([own]) == ("MALFORMED", "AUD_NOT_STRING")
    assert check("hospital-1") == ("MALFORMED", "AUD_MISMATCH")
    assert check(own.upper()) == ("MALFORMED", "AUD_MISMATCH")
    assert check(None) == ("MALFORMED", "AUD_MISSING")


def test_retired_key_verifies_until_verify_until_then_not():
    key = SigningKey.generate("ES256", clock=clock(), verify_until=NOW + dt.timedelta(days=1))
    keys = KeySet.from_jwks(jwks_document([key]), ISSUER)
    token = issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    assert verify_token(token, CREDENTIAL, keys, clock=clock())
    assert reason_of(token, CREDENTIAL, keys, clock=clock_after(86400 + 1)) == ("EXPIRED", "KEY_RETIRED")


def test_a_token_signed_after_its_keys_retirement_is_refused_beyond_the_leeway():
    """The issuer stops signing with a key when it retires it; a later iat means someone else
    signs with it. The verifier's leeway covers a process that read the key just before."""
    key = SigningKey.generate("ES256", clock=clock())
    jwk = {**key.public_jwk, "retired_at": NOW_TS}
    keys = KeySet.from_jwks({"keys": [jwk]}, ISSUER)
    later = clock_after(3600)

    def signed_at(iat):
        return forge(header_for(key, CREDENTIAL), credential_claims(iat=iat, nbf=iat), key)

    assert verify_token(signed_at(NOW_TS - 86400), CREDENTIAL, keys, clock=later)  # before: still valid
    assert verify_token(signed_at(NOW_TS + 60), CREDENTIAL, keys, clock=later, leeway=60)
    late = signed_at(NOW_TS + 61)
    assert reason_of(late, CREDENTIAL, keys, clock=later, leeway=60) == (
        "SIGNATURE_INVALID",
        "SIGNED_AFTER_KEY_RETIRED",
    )
    assert reason_of(signed_at(NOW_TS + 1), CREDENTIAL, keys, clock=later, leeway=0)[1] == "SIGNED_AFTER_KEY_RETIRED"


# -- interop with independent JOSE libraries ------------------------------------------------


def _joserfc_key(key: SigningKey, private: bool):
    cls = ECKey if key.alg == "ES256" else OKPKey
    return cls.import_key(key.private_key if private else key.public_jwk)


def test_issued_tokens_verify_with_joserfc_and_pyjwt(signer):
    key, _ = signer
    claims = credential_claims(iat=None, nbf=None, exp=None) | {"exp": int(NOW.timestamp()) + 10**8}
    token = issue_token(CREDENTIAL, claims, key, clock=clock())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that RFC 9864 deprecates the name EdDSA
        decoded = jose_jwt.decode(token, _joserfc_key(key, private=False), algorithms=[key.alg])
    assert decoded.header == {"alg": key.alg, "typ": CREDENTIAL, "kid": key.kid}
    assert decoded.claims["nm"] == "张*明"
    by_pyjwt = pyjwt.decode(
        token,
        key.private_key.public_key(),
        algorithms=[key.alg],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert by_pyjwt == decoded.claims


def test_tokens_made_by_joserfc_verify(signer):
    key, keys = signer
    header = {"alg": key.alg, "typ": PRESENTATION, "kid": key.kid}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = jose_jwt.encode(header, presentation_claims(), _joserfc_key(key, private=True), algorithms=[key.alg])
    verified = verify_token(token, PRESENTATION, keys, issuers={ISSUER}, clock=clock(), audience="school-33112101")
    assert verified.claims == presentation_claims()


def test_tokens_made_by_pyjwt_verify(signer):
    key, keys = signer
    token = pyjwt.encode(
        credential_claims(), key.private_key, algorithm=key.alg, headers={"typ": CREDENTIAL, "kid": key.kid}
    )
    assert verify_token(token, CREDENTIAL, keys, clock=clock()).claims == credential_claims()


def test_jose_dependency_floors_and_bans():
    # J-14: PyJWT below 2.15.1 has the key-confusion and crit advisories; python-jose is banned.
    version = tuple(int(part) for part in importlib.metadata.version("pyjwt").split(".")[:3])
    assert version >= (2, 15, 1)
    assert importlib.util.find_spec("jose") is None


# -- peek -----------------------------------------------------------------------------------


def test_peek_unverified_issuer_reads_iss_without_checking_anything():
    key, _ = key_and_set()
    claims = credential_claims(iss="https://evil.example")
    forged = forge(header_for(key, CREDENTIAL), claims, key, signature=b"\0" * 64)
    assert peek_unverified_issuer(forged) == "https://evil.example"
    assert peek_unverified_issuer(issue_token(CREDENTIAL, credential_claims(), key, clock=clock())) == ISSUER


@pytest.mark.parametrize("token", ["", "a.b.c", "x" * 5000, 42, None, "a.b", forge({"alg": "ES256"}, [1], None, b"s")])
def test_peek_unverified_issuer_returns_none_for_garbage(token):
    assert peek_unverified_issuer(token) is None


def test_peek_returns_none_for_non_string_iss():
    key, _ = key_and_set()
    assert peek_unverified_issuer(forge(header_for(key, CREDENTIAL), credential_claims(iss=7), key)) is None


# -- property: nothing but VerificationError ------------------------------------------------

_PROPERTY_KEY, _PROPERTY_KEYS = key_and_set()
_VALID = issue_token(CREDENTIAL, credential_claims(), _PROPERTY_KEY, clock=clock())
_b64_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=200)


def _only_verification_errors(token) -> None:
    try:
        verify_token(token, CREDENTIAL, _PROPERTY_KEYS, clock=clock())
    except VerificationError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=5000), st.binary(max_size=5000)))
def test_arbitrary_input_only_raises_verification_error(data):
    _only_verification_errors(data)
    peek_unverified_issuer(data)


@settings(max_examples=300, deadline=None)
@given(_b64_text, _b64_text, _b64_text)
def test_arbitrary_three_segment_tokens_only_raise_verification_error(a, b, c):
    _only_verification_errors(f"{a}.{b}.{c}")


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=30,
    ),
    st.sampled_from(["header", "payload"]),
)
def test_validly_signed_arbitrary_json_only_raises_verification_error(value, where):
    header, payload = header_for(_PROPERTY_KEY, CREDENTIAL), credential_claims()
    raw = json.dumps(value).encode()
    token = forge(raw, payload, _PROPERTY_KEY) if where == "header" else forge(header, raw, _PROPERTY_KEY)
    _only_verification_errors(token)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(_VALID) - 1), st.characters(codec="ascii"))
def test_single_character_mutations_of_a_valid_token_are_rejected(position, char):
    mutated = _VALID[:position] + char + _VALID[position + 1 :]
    try:
        verify_token(mutated, CREDENTIAL, _PROPERTY_KEYS, clock=clock())
    except VerificationError:
        return
    # Only a mutation that changes nothing may pass.
    assert mutated == _VALID


# -- issuing: what mutmut found unchecked -----------------------------------------------------


def test_issue_reports_each_bad_claim_with_its_field_code_and_message(signer):
    key, _ = signer
    with pytest.raises(ValidationError) as info:
        issue_token(CREDENTIAL, credential_claims(iss="", jti=7, exp=float("inf"), nbf=True), key, clock=clock())
    assert [e.as_dict() for e in info.value.errors] == [
        {"field": "iss", "code": "NOT_A_STRING", "message": "claim 'iss' must be a non-empty string"},
        {"field": "jti", "code": "NOT_A_STRING", "message": "claim 'jti' must be a non-empty string"},
        {"field": "exp", "code": "NOT_A_TIME", "message": "claim 'exp' must be seconds since the epoch"},
        {"field": "nbf", "code": "NOT_A_TIME", "message": "claim 'nbf' must be seconds since the epoch"},
    ]
    with pytest.raises(ValidationError) as info:
        issue_token(CREDENTIAL, credential_claims(exp=None), key, clock=clock())
    assert [e.as_dict() for e in info.value.errors] == [
        {"field": "exp", "code": "REQUIRED", "message": f"claim 'exp' is required in a {CREDENTIAL} token"}
    ]


def test_fractional_times_are_times_and_nan_is_no_json(signer):
    key, keys = signer
    token = issue_token(CREDENTIAL, credential_claims(iat=NOW_TS - 0.5), key, clock=clock())
    assert verify_token(token, CREDENTIAL, keys, clock=clock()).claims["iat"] == NOW_TS - 0.5
    with pytest.raises(ValueError, match="JSON"):
        issue_token(CREDENTIAL, credential_claims(score=float("nan")), key, clock=clock())


def test_a_presentation_may_live_exactly_60_seconds(signer):
    key, _ = signer
    issue_token(PRESENTATION, presentation_claims(exp=NOW_TS + 60), key, clock=clock())
    with pytest.raises(ValidationError) as info:
        issue_token(PRESENTATION, presentation_claims(exp=NOW_TS + 61), key, clock=clock())
    assert [e.as_dict() for e in info.value.errors] == [
        {"field": "exp", "code": "LIFETIME_TOO_LONG", "message": "a presentation lives at most 60 s"}
    ]


def test_a_presentations_leeway_is_at_most_30_seconds_whatever_the_verifier_allows(signer):
    key, keys = signer
    token = issue_token(PRESENTATION, presentation_claims(exp=NOW_TS + 60), key, clock=clock())
    late = FixedClock(NOW + dt.timedelta(seconds=89))
    assert verify_token(token, PRESENTATION, keys, clock=late, leeway=60).kind == PRESENTATION
    later = FixedClock(NOW + dt.timedelta(seconds=90))
    assert reason_of(token, PRESENTATION, keys, clock=later, leeway=60) == ("EXPIRED", "EXP_PASSED")


def test_a_key_signs_up_to_and_including_its_last_signing_instant():
    key = SigningKey.generate("ES256", clock=clock(), not_after_signing=NOW)
    issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    with pytest.raises(KeyStoreError, match="stopped signing"):
        issue_token(CREDENTIAL, credential_claims(), key, clock=FixedClock(NOW + dt.timedelta(seconds=1)))


def test_a_token_of_exactly_the_cap_is_issued_one_byte_more_is_not():
    key, keys = key_and_set("ES256")

    def sized(pad: str) -> int:
        try:
            return len(issue_token(CREDENTIAL, credential_claims(pad=pad), key, clock=clock()))
        except ValidationError as exc:
            [error] = exc.errors
            assert (error.field, error.code) == ("token", "TOO_LARGE")
            assert error.message == f"token is {error.message.split()[2]} bytes; the limit is 4096"
            return int(error.message.split()[2])

    # base64 skips one length in four: a two-byte character shifts the pad onto every length
    at_cap = next(pad for n in range(2700, 2900) for pad in ("x" * n, "x" * n + "é") if sized(pad) == 4096)
    verify_token(
        issue_token(CREDENTIAL, credential_claims(pad=at_cap), key, clock=clock()), CREDENTIAL, keys, clock=clock()
    )
    with pytest.raises(ValidationError):
        issue_token(CREDENTIAL, credential_claims(pad=at_cap + "xx"), key, clock=clock())


def test_a_status_list_token_has_its_own_larger_cap(signer):
    key, keys = signer
    big = status_list_claims(pad="x" * 20_000)
    assert verify_token(issue_token(STATUS_LIST, big, key, clock=clock()), STATUS_LIST, keys, clock=clock())
    with pytest.raises(ValidationError):
        issue_token(STATUS_LIST, status_list_claims(pad="x" * 600_000), key, clock=clock())


def test_every_missing_claim_is_named_in_the_detail():
    key, keys = key_and_set("ES256")
    token = forge(header_for(key, CREDENTIAL), credential_claims(exp=None, jti=None), key)
    assert reason_of(token, keys=keys) == ("MALFORMED", "MISSING_CLAIM:exp,jti")


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_token_given_as_its_decoded_segments_verifies_as_its_text_and_is_refused_as_it(alg):
    # a GC2 scan hands verify_token the bytes it decoded; the answer must be the text's own
    key, keys = key_and_set(alg)
    token = issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    decoded = DecodedJws(*segments(token))
    assert decoded == token
    assert verify_token(decoded, CREDENTIAL, keys, clock=clock()) == verify_token(
        token, CREDENTIAL, keys, clock=clock()
    )
    header, payload, signature = segments(token)
    forged = DecodedJws(header, payload.replace(b"cred-0001", b"cred-0002"), signature)
    with pytest.raises(VerificationError) as refused:
        verify_token(forged, CREDENTIAL, keys, clock=clock())
    assert (refused.value.reason, refused.value.detail) == ("SIGNATURE_INVALID", "BAD_SIGNATURE")
    with pytest.raises(VerificationError) as wrong_kind:
        verify_token(decoded, PRESENTATION, keys, clock=clock())
    assert wrong_kind.value.reason == "WRONG_TYPE"


@pytest.mark.parametrize(
    "members",
    [
        '"big":%d' % 2**70,  # beyond 64 bits: an exact int, never a float
        '"neg":-%d' % 2**70,
        '"e":1e5,"f":1.5,"z":-0',
        '"s":"\\u738b\\/\\ud83d\\ude00"',  # escapes, an escaped slash, a surrogate pair
        '"n":"\u738b","deep":[[[[{"a":[1]}]]]]',
    ],
)
@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_every_json_form_of_a_payload_is_read_as_the_standard_parser_reads_it(signer, members, separators):
    """Whatever form an issuer's JSON takes, the verified claims are what :func:`json.loads`
    reads (the fast parse is used only where it cannot differ)."""
    key, keys = signer
    base = json.dumps(credential_claims(), ensure_ascii=False, separators=separators)[1:-1]
    payload = ("{" + base + separators[0] + members + "}").encode()
    claims = verify_token(forge(header_for(key, CREDENTIAL), payload, key), CREDENTIAL, keys, clock=clock()).claims
    expected = json.loads(payload)
    assert claims == expected
    assert {k: type(v) for k, v in claims.items()} == {k: type(v) for k, v in expected.items()}


@settings(max_examples=300, deadline=None)
@given(st.integers(1, P256_ORDER - 1), st.integers(1, P256_ORDER - 1))
def test_der_signature_is_what_cryptography_encodes(r, s):
    assert der_signature(r.to_bytes(32, "big"), s.to_bytes(32, "big")) == encode_dss_signature(r, s)


@pytest.mark.parametrize("r", [1, 0x7F, 0x80, 0xFF << 240, 1 << 255, P256_ORDER - 1])
def test_der_signature_at_the_edges_of_minimal_encoding(r):
    """Leading zero bytes dropped, a zero byte added before a high first bit."""
    assert der_signature(r.to_bytes(32, "big"), (P256_ORDER - r).to_bytes(32, "big")) == encode_dss_signature(
        r, P256_ORDER - r
    )
