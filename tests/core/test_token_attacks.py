"""Crafted attack tokens against verify_token (security-checklist §1, J-01 … J-11).

Where a check is about the header, the attack token carries a VALID signature by the issuer's
own key over the malicious header, so only the header check can be what rejects it.
"""

import base64
import builtins
import hashlib
import hmac
import json
import random
import socket

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from govcred.core import tokens
from govcred.core.exceptions import VerificationError
from govcred.core.keys import SigningKey, public_jwk
from govcred.core.tokens import CREDENTIAL, PRESENTATION, verify_token
from tests.core.jws_forge import (
    ISSUER,
    P256_ORDER,
    b64,
    clock,
    credential_claims,
    forge,
    header_for,
    key_and_set,
    raw_signature,
    status_list_claims,
)


@pytest.fixture
def es256():
    return key_and_set("ES256")


@pytest.fixture(params=["ES256", "EdDSA"])
def signer(request):
    return key_and_set(request.param)


def rejected(token, keys, kind=CREDENTIAL, **kwargs) -> tuple[str, str]:
    with pytest.raises(VerificationError) as info:
        verify_token(token, kind, keys, clock=clock(), **kwargs)
    return info.value.reason, info.value.detail


@pytest.fixture
def no_io(monkeypatch):
    """Any outbound connection or file open during verification fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"I/O attempted during verification: {args!r}")

    def guard(call):
        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        monkeypatch.setattr(builtins, "open", refuse)
        try:
            with pytest.raises(VerificationError) as info:
                call()
        finally:
            monkeypatch.undo()
        assert attempts == []
        return info.value.reason, info.value.detail

    return guard


@pytest.fixture
def spies(monkeypatch):
    """Records calls to the signature verifier, base64 decoding and JSON parsing."""
    calls = {"verify": 0, "b64": [], "json": []}
    real_verify, real_b64, real_json = tokens._verify_signature, tokens._b64decode, tokens._parse_json

    def verify(*args):
        calls["verify"] += 1
        return real_verify(*args)

    def b64decode(segment):
        calls["b64"].append(segment)
        return real_b64(segment)

    def parse_json(raw, part):
        calls["json"].append(part)
        return real_json(raw, part)

    monkeypatch.setattr(tokens, "_verify_signature", verify)
    monkeypatch.setattr(tokens, "_b64decode", b64decode)
    monkeypatch.setattr(tokens, "_parse_json", parse_json)
    return calls


# -- J-01 / J-02: algorithm allow-list and key confusion ------------------------------------


def test_alg_none_with_empty_signature(es256):
    key, keys = es256
    token = (
        f"{b64(json.dumps({'alg': 'none', 'typ': CREDENTIAL, 'kid': key.kid}).encode())}."
        f"{b64(json.dumps(credential_claims()).encode())}."
    )
    assert rejected(token, keys) == ("SIGNATURE_INVALID", "ALG_NOT_ALLOWED")


@pytest.mark.parametrize(
    "alg",
    [
        "none",
        "None",
        "NONE",
        "nOnE",
        "HS256",
        "HS384",
        "HS512",
        "RS256",
        "PS256",
        "ES384",
        "ES512",
        "ES256K",
        "Ed25519",
        "Ed448",
        "es256",
        "eddsa",
        "ES256 ",
        "",
        None,
        0,
        ["ES256"],
        {"alg": "ES256"},
    ],
)
def test_only_the_fixed_algorithms_are_allowed(es256, alg, spies):
    key, keys = es256
    token = forge({"alg": alg, "typ": CREDENTIAL, "kid": key.kid}, credential_claims(), key)
    assert rejected(token, keys) == ("SIGNATURE_INVALID", "ALG_NOT_ALLOWED")
    assert spies["verify"] == 0


def _public_key_encodings(key: SigningKey) -> dict[str, bytes]:
    public = key.private_key.public_key()
    return {
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "raw point": public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
        "jwk json": json.dumps(public_jwk(public)).encode(),
        "jwk json compact": json.dumps(public_jwk(public), separators=(",", ":")).encode(),
    }


@pytest.mark.parametrize("encoding", ["pem", "der", "openssh", "raw point", "jwk json", "jwk json compact"])
def test_hs256_signed_with_the_public_key_is_refused(es256, encoding, spies):
    key, keys = es256
    secret = _public_key_encodings(key)[encoding]
    header = {"alg": "HS256", "typ": CREDENTIAL, "kid": key.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(credential_claims()).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assert rejected(f"{signing_input}.{b64(mac)}", keys) == ("SIGNATURE_INVALID", "ALG_NOT_ALLOWED")
    assert spies["verify"] == 0


def test_header_alg_must_match_the_keys_alg():
    # An attacker's Ed25519 signature labelled EdDSA, under the kid of the issuer's ES256 key.
    key, keys = key_and_set("ES256")
    attacker = SigningKey.generate("EdDSA")
    token = forge({"alg": "EdDSA", "typ": CREDENTIAL, "kid": key.kid}, credential_claims(), attacker)
    assert rejected(token, keys) == ("SIGNATURE_INVALID", "ALG_KEY_MISMATCH")


def test_signature_by_another_key_under_the_issuers_kid(signer):
    key, keys = signer
    attacker = SigningKey.generate(key.alg)
    token = forge(header_for(key, CREDENTIAL), credential_claims(), attacker)
    assert rejected(token, keys) == ("SIGNATURE_INVALID", "BAD_SIGNATURE")


# -- J-04 / J-05 / J-06 / J-09 / J-10: forbidden header members ----------------------------


@pytest.mark.parametrize(
    "name, value",
    [
        ("jku", "http://127.0.0.1:9/jwks.json"),
        ("x5u", "http://127.0.0.1:9/cert.pem"),
        ("x5c", ["MIIBszCCAVmgAwIBAgIUYQ=="]),
        ("x5t", "dGh1bWJwcmludA"),
        ("x5t#S256", "dGh1bWJwcmludA"),
        ("crit", ["exp"]),
        ("b64", False),
        ("b64", True),
        ("zip", "DEF"),
        ("cty", "JWT"),
    ],
)
def test_issuer_signed_token_with_forbidden_header_is_refused(signer, name, value, no_io):
    key, keys = signer
    token = forge(header_for(key, CREDENTIAL, **{name: value}), credential_claims(), key)
    assert no_io(lambda token=token: verify_token(token, CREDENTIAL, keys, clock=clock())) == (
        "MALFORMED",
        f"FORBIDDEN_HEADER:{name}",
    )


def test_a_forbidden_header_in_place_of_the_kid_is_named(es256):
    """Three members, like ours, but ``jku`` instead of ``kid``: the forbidden member is the
    reason, not the missing kid."""
    key, keys = es256
    token = forge({"alg": key.alg, "typ": CREDENTIAL, "jku": "https://evil.example/jwks"}, credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "FORBIDDEN_HEADER:jku")


def test_embedded_attacker_jwk_is_refused(es256, no_io):
    key, keys = es256
    attacker = SigningKey.generate("ES256")
    for kid in (attacker.kid, key.kid):
        header = {"alg": "ES256", "typ": CREDENTIAL, "kid": kid, "jwk": attacker.public_jwk}
        token = forge(header, credential_claims(), attacker)
        assert no_io(lambda token=token: verify_token(token, CREDENTIAL, keys, clock=clock())) == (
            "MALFORMED",
            "FORBIDDEN_HEADER:jwk",
        )


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["x-policy"], "x-policy": 1},
        {"crit": []},
        {"crit": ["alg"]},
        {"crit": ["x-absent"]},
        {"crit": "x-policy"},
    ],
)
def test_crit_variants_are_refused(es256, extra):
    key, keys = es256
    token = forge(header_for(key, CREDENTIAL, **extra), credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "FORBIDDEN_HEADER:crit")


def test_b64_false_is_refused_before_the_payload_is_decoded(es256, spies):
    key, keys = es256
    header = header_for(key, CREDENTIAL, b64=False)
    token = forge(header, credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "FORBIDDEN_HEADER:b64")
    payload_segment = token.split(".")[1].encode()
    assert payload_segment not in spies["b64"] and "PAYLOAD" not in spies["json"]
    assert spies["verify"] == 0


def test_b64_false_with_raw_payload_never_gets_past_the_alphabet_check(es256, spies):
    key, keys = es256
    header = header_for(key, CREDENTIAL, b64=False, crit=["b64"])
    payload = json.dumps(credential_claims())
    signing_input = f"{b64(json.dumps(header).encode())}.{payload}".encode()
    token = f"{signing_input.decode()}.{b64(raw_signature(key, signing_input))}"
    # the raw JSON's dots (in the issuer URL) break the segment count, its braces the alphabet
    assert rejected(token, keys) == ("MALFORMED", "SEGMENT_COUNT")
    no_dots = f"{b64(json.dumps(header).encode())}.{json.dumps({'jti': 'x'})}.{b64(bytes(64))}"
    assert rejected(no_dots, keys) == ("MALFORMED", "BAD_ALPHABET")
    assert spies == {"verify": 0, "b64": [], "json": []}


def test_nested_jwt_with_cty_is_refused(es256):
    key, keys = es256
    attacker = SigningKey.generate("ES256")
    inner = forge(header_for(attacker, CREDENTIAL), credential_claims(nm="攻*者"), attacker)
    outer = forge(header_for(key, CREDENTIAL, cty="JWT"), inner.encode(), key)
    assert rejected(outer, keys) == ("MALFORMED", "FORBIDDEN_HEADER:cty")


def test_unknown_header_members_are_refused(es256):
    key, keys = es256
    token = forge(header_for(key, CREDENTIAL, **{"x-foo": 1, "iss": ISSUER}), credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "UNEXPECTED_HEADER:iss,x-foo")


def test_unexpected_header_names_are_made_printable_in_the_detail(es256):
    key, keys = es256
    token = forge(header_for(key, CREDENTIAL, **{"a\nb": 1, "日": 2, "x" * 200: 3}), credential_claims(), key)
    reason, detail = rejected(token, keys)
    assert reason == "MALFORMED" and detail.startswith("UNEXPECTED_HEADER:a?b,")
    assert detail.isascii() and detail.isprintable() and len(detail) <= len("UNEXPECTED_HEADER:") + 100


# -- J-07: signature encoding and ECDSA scalar ranges ---------------------------------------


def _with_signature(token: str, signature: bytes) -> str:
    return token.rsplit(".", 1)[0] + "." + b64(signature)


def _scalars(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_der_encoded_signature_is_refused(es256):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    signing_input = token.rsplit(".", 1)[0].encode()
    der = key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    assert rejected(_with_signature(token, der), keys) == ("SIGNATURE_INVALID", "BAD_SIGNATURE_LENGTH")


@pytest.mark.parametrize("length", [0, 1, 32, 63, 65, 96, 128])
def test_signatures_of_other_lengths_are_refused(signer, length):
    key, keys = signer
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    good = base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    bad = (good * 2)[:length]
    assert rejected(_with_signature(token, bad), keys) == ("SIGNATURE_INVALID", "BAD_SIGNATURE_LENGTH")


@pytest.mark.parametrize(
    "r, s",
    [(0, 0), (0, 1), (1, 0), (P256_ORDER, 1), (1, P256_ORDER), (P256_ORDER + 1, 1), (2**256 - 1, 2**256 - 1)],
)
def test_ecdsa_scalars_out_of_range_are_refused(es256, r, s, spies):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    assert rejected(_with_signature(token, _scalars(r, s)), keys) == ("SIGNATURE_INVALID", "SCALAR_OUT_OF_RANGE")


def test_ecdsa_in_range_but_wrong_scalars_are_refused(es256):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    forged = _scalars(P256_ORDER - 1, random.Random(20261130).randrange(1, P256_ORDER))
    assert rejected(_with_signature(token, forged), keys) == ("SIGNATURE_INVALID", "BAD_SIGNATURE")
    # the smallest scalars are in range too: checked (and refused) by the curve, not the range
    assert rejected(_with_signature(token, _scalars(1, 1)), keys) == ("SIGNATURE_INVALID", "BAD_SIGNATURE")


def test_all_zero_eddsa_signature_is_refused():
    key, keys = key_and_set("EdDSA")
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    assert rejected(_with_signature(token, b"\0" * 64), keys) == ("SIGNATURE_INVALID", "BAD_SIGNATURE")


def test_malleated_ecdsa_signature_still_verifies_so_replay_checks_must_use_jti(es256):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    signature = base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    malleated = _with_signature(token, _scalars(r, P256_ORDER - s))
    assert malleated != token
    assert verify_token(malleated, CREDENTIAL, keys, clock=clock()).claims["jti"] == "cred-0001"


def test_non_canonical_signature_encoding_is_refused(signer):
    # 86 base64url characters carry 516 bits; the last 4 must be zero, else one signature has 16 spellings.
    key, keys = signer
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    twin = token[:-1] + alphabet[last | 1]
    assert base64.urlsafe_b64decode(twin.rsplit(".", 1)[1] + "==") == base64.urlsafe_b64decode(
        token.rsplit(".", 1)[1] + "=="
    )
    assert rejected(twin, keys) == ("SIGNATURE_INVALID", "NON_CANONICAL_ENCODING")


def test_der_is_never_accepted_even_when_it_happens_to_be_64_bytes(es256):
    # A DER SEQUENCE padded to 64 bytes is read as raw r||s, whose r is then out of range or wrong.
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    der = encode_dss_signature(1, 1).ljust(64, b"\0")
    assert rejected(_with_signature(token, der), keys)[0] == "SIGNATURE_INVALID"


# -- J-08: duplicate members ----------------------------------------------------------------


def _header_bytes(key, *pairs):
    return ("{" + ",".join(f'"{k}":{json.dumps(v)}' for k, v in pairs) + "}").encode()


@pytest.mark.parametrize(
    "pairs",
    [
        (("alg", "ES256"), ("alg", "none"), ("typ", CREDENTIAL)),
        (("alg", "none"), ("alg", "ES256"), ("typ", CREDENTIAL)),
        (("alg", "ES256"), ("typ", CREDENTIAL), ("typ", PRESENTATION)),
    ],
)
def test_duplicate_header_members_are_refused(es256, pairs, spies):
    key, keys = es256
    token = forge(_header_bytes(key, *pairs, ("kid", key.kid)), credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "DUPLICATE_MEMBER")
    assert spies["verify"] == 0


def test_duplicate_kid_in_header_is_refused(es256):
    key, keys = es256
    other = SigningKey.generate("ES256")
    raw = _header_bytes(key, ("alg", "ES256"), ("typ", CREDENTIAL), ("kid", other.kid), ("kid", key.kid))
    assert rejected(forge(raw, credential_claims(), key), keys) == ("MALFORMED", "DUPLICATE_MEMBER")


def _claims_json(body: str) -> bytes:
    base = json.dumps(credential_claims(), ensure_ascii=False)[1:-1]
    return ("{" + base + "," + body + "}").encode()


@pytest.mark.parametrize(
    "payload",
    [
        _claims_json('"sub":"alice","sub":"mallory"'),
        _claims_json(f'"exp":{10**10}'),
        ('{"iss":"%s","jti":"a","iat":1796000000,"exp":1,"exp":%d}' % (ISSUER, 10**10)).encode(),
        ('{"iss":"%s","jti":"a","iat":1796000000,"exp":%d,"exp":1}' % (ISSUER, 10**10)).encode(),
        _claims_json('"cnf":{"jwk":{"kty":"EC","x":"a","x":"b"}}'),
        _claims_json('"status":{"status_list":{"idx":1,"uri":"u","idx":2}}'),
        _claims_json('"ben":[{"a":1,"a":1}]'),
        _claims_json('"iss":"%s"' % ISSUER),
    ],
)
def test_duplicate_payload_members_are_refused_even_nested(signer, payload):
    key, keys = signer
    assert rejected(forge(header_for(key, CREDENTIAL), payload, key), keys) == ("MALFORMED", "DUPLICATE_MEMBER")


@pytest.mark.parametrize(
    "body",
    [
        '"sub":"alice","sub":"mallory"',
        '"exp":1',  # a second exp after the real one
        '"status":{"status_list":{"idx":1,"uri":"u","idx":2}}',
        '"ben":[{"a":1,"a":1}]',
        '"iss":"%s"' % ISSUER,  # the same value twice
    ],
)
def test_duplicate_members_in_compact_json_are_refused(signer, body):
    """Compact JSON, as issuers write it, is read by the fast parse (core/tokens.py): a duplicate
    member must still be refused there, not read as its last value."""
    key, keys = signer
    base = json.dumps(credential_claims(), ensure_ascii=False, separators=(",", ":"))[1:-1]
    payload = ("{" + base + "," + body + "}").encode()
    assert rejected(forge(header_for(key, CREDENTIAL), payload, key), keys) == ("MALFORMED", "DUPLICATE_MEMBER")


# -- J-09: size, segments, alphabet, depth --------------------------------------------------


def _padded_to(key, size: int) -> str:
    token = forge(header_for(key, CREDENTIAL), credential_claims(pad=""), key)
    pad = size - len(token)
    while True:
        token = forge(header_for(key, CREDENTIAL), credential_claims(pad="x" * pad), key)
        if len(token) == size:
            return token
        pad += 1 if len(token) < size else -1


def test_4097_byte_token_is_refused_before_any_decoding(es256, spies):
    key, keys = es256
    token = _padded_to(key, 4097)
    for form in (token, token.encode()):
        assert rejected(form, keys) == ("MALFORMED", "TOO_LARGE")
    assert spies == {"verify": 0, "b64": [], "json": []}


def test_4096_byte_token_is_within_the_cap(es256):
    key, keys = es256
    token = _padded_to(key, 4096)
    assert len(verify_token(token, CREDENTIAL, keys, clock=clock()).claims["pad"]) > 2700


def test_oversized_header_is_refused_before_decoding(es256, spies):
    key, keys = es256
    objects = "{" + '"a":[' + ",".join(["{}"] * 300) + "]}"
    token = forge(objects.encode(), credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "HEADER_TOO_LARGE")
    assert spies["b64"] == []
    assert verify_token(forge(header_for(key, CREDENTIAL), credential_claims(), key), CREDENTIAL, keys, clock=clock())


def test_status_lists_have_their_own_cap_checked_before_the_kind(es256, spies):
    # A status list travels over HTTP, not in a QR, so it may be larger; nothing else may.
    key, keys = es256
    lst = b64(bytes(range(256)) * 300)  # ~100 KiB, as a list with scattered revocations can be
    token = forge(header_for(key, tokens.STATUS_LIST), status_list_claims(status_list={"bits": 2, "lst": lst}), key)
    assert len(token) > 100_000
    assert verify_token(token, tokens.STATUS_LIST, keys, clock=clock()).claims["status_list"]["lst"] == lst
    assert rejected(token, keys, CREDENTIAL) == ("MALFORMED", "TOO_LARGE")
    assert rejected(token, keys, PRESENTATION) == ("MALFORMED", "TOO_LARGE")
    spies["b64"].clear()
    oversized = "a" * (tokens.MAX_TOKEN_BYTES_BY_KIND[tokens.STATUS_LIST] + 1)
    assert rejected(oversized, keys, tokens.STATUS_LIST) == ("MALFORMED", "TOO_LARGE")
    assert spies["b64"] == []


def test_megabyte_token_is_refused_cheaply(es256, spies):
    _, keys = es256
    assert rejected("a" * 2_600_000 + ".b.c", keys) == ("MALFORMED", "TOO_LARGE")
    assert spies["b64"] == []


def test_jwe_and_other_segment_counts_are_refused(es256, spies):
    key, keys = es256
    jwe = (  # RFC 7516 appendix A.1 shape: five segments
        "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
        "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe."
        "48V1_ALb6US04U3b."
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A."
        "XFBoMYUZodetZdvTiFvSkQ"
    )
    assert rejected(jwe, keys) == ("MALFORMED", "SEGMENT_COUNT")
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    for bad in (token.rsplit(".", 1)[0], token + ".x", token.replace(".", "", 1), "..", ".", ""):
        assert rejected(bad, keys)[0] == "MALFORMED"
    assert spies["b64"] == []


@pytest.mark.parametrize(
    "change",
    [
        lambda t: " " + t,
        lambda t: t + " ",
        lambda t: t + "\n",
        lambda t: "\t" + t,
        lambda t: t.replace(".", ". ", 1),
        lambda t: t[:20] + "\n" + t[20:],
        lambda t: t + "==",
        lambda t: t.replace(".", "=.", 1),
        lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t + "+",
        lambda t: t[:10] + "\0" + t[10:],
    ],
)
def test_whitespace_padding_and_foreign_characters_are_refused(es256, change, spies):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    for form in (change(token), change(token).encode()):
        assert rejected(form, keys) == ("MALFORMED", "BAD_ALPHABET")
    assert spies["b64"] == []


def test_non_ascii_and_non_text_inputs_are_refused(es256):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    assert rejected(token[:30] + "张" + token[31:], keys) == ("MALFORMED", "NOT_ASCII")
    assert rejected(token[:30] + "\uff21" + token[31:], keys) == ("MALFORMED", "NOT_ASCII")
    for value in (None, 42, bytearray(token.encode()), memoryview(token.encode()), [token], {"t": token}):
        assert rejected(value, keys) == ("MALFORMED", "NOT_TEXT")


def _nested(depth: int) -> dict:
    """``depth`` objects nested inside each other."""
    value: object = 1
    for _ in range(depth):
        value = {"n": value}
    return value


@pytest.mark.parametrize("depth", [9, 50])
def test_deep_payload_is_refused(es256, depth):
    key, keys = es256
    claims = credential_claims(deep=_nested(depth - 1))  # the claims object itself is one level
    assert rejected(forge(header_for(key, CREDENTIAL), claims, key), keys) == ("MALFORMED", "TOO_DEEP")


def test_payload_at_the_depth_limit_is_accepted(es256):
    key, keys = es256
    token = forge(header_for(key, CREDENTIAL), credential_claims(deep=[_nested(6)]), key)  # 1 + 1 + 6 = 8
    assert verify_token(token, CREDENTIAL, keys, clock=clock()).claims["deep"] == [_nested(6)]
    # brackets inside strings do not count as nesting
    token = forge(header_for(key, CREDENTIAL), credential_claims(nm="[{" * 20, deep=[_nested(6)]), key)
    assert verify_token(token, CREDENTIAL, keys, clock=clock()).claims["nm"] == "[{" * 20


def test_deep_header_is_refused_before_the_signature(es256, spies):
    key, keys = es256
    token = forge(header_for(key, CREDENTIAL, x=_nested(50)), credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "TOO_DEEP")
    assert spies["verify"] == 0


def test_json_nesting_beyond_the_parsers_recursion_limit_is_refused(es256):
    key, keys = es256
    payload = b"[" * 1400 + b"]" * 1400
    token = forge(header_for(key, CREDENTIAL), payload, key)
    assert len(token) <= 4096
    assert rejected(token, keys) == ("MALFORMED", "TOO_DEEP")


@pytest.mark.parametrize(
    "payload, detail",
    [
        (b"[1,2]", "PAYLOAD_NOT_OBJECT"),
        (b'"iss"', "PAYLOAD_NOT_OBJECT"),
        (b"null", "PAYLOAD_NOT_OBJECT"),
        (b"\xff\xfe{}", "PAYLOAD_NOT_JSON"),
        ("\ufeff{}".encode(), "PAYLOAD_NOT_JSON"),
        (b'{"exp":NaN}', "PAYLOAD_NOT_JSON"),
        (b'{"exp":Infinity}', "PAYLOAD_NOT_JSON"),
        (b'{"iss":"a"', "PAYLOAD_NOT_JSON"),
        (b'{"a":1} {"b":2}', "PAYLOAD_NOT_JSON"),
        ('{"iss":"a"}'.encode("utf-16"), "PAYLOAD_NOT_JSON"),
        (b'{"exp":' + b"9" * 5000 + b"}", "TOO_LARGE"),
    ],
)
def test_payload_that_is_not_a_json_object_is_refused(es256, payload, detail):
    key, keys = es256
    assert rejected(forge(header_for(key, CREDENTIAL), payload, key), keys) == ("MALFORMED", detail)


def test_huge_numbers_in_time_claims_do_not_crash(es256):
    key, keys = es256
    payload = ('{"iss":"%s","jti":"a","iat":1796000000,"exp":%s}' % (ISSUER, "9" * 1000)).encode()
    assert verify_token(forge(header_for(key, CREDENTIAL), payload, key), CREDENTIAL, keys, clock=clock())
    payload = ('{"iss":"%s","jti":"a","iat":-%s,"exp":1e400}' % (ISSUER, "9" * 1000)).encode()
    assert rejected(forge(header_for(key, CREDENTIAL), payload, key), keys) == ("MALFORMED", "BAD_CLAIM:exp")


@pytest.mark.parametrize("header, detail", [(b"[]", "HEADER_NOT_OBJECT"), (b"{", "HEADER_NOT_JSON")])
def test_header_that_is_not_a_json_object_is_refused(es256, header, detail):
    key, keys = es256
    assert rejected(forge(header, credential_claims(), key), keys) == ("MALFORMED", detail)


def test_segment_of_impossible_base64_length_is_refused(es256):
    key, keys = es256
    token = tokens.issue_token(CREDENTIAL, credential_claims(), key, clock=clock())
    header, payload, signature = token.split(".")
    assert rejected(f"{header}.{payload}A.{signature}", keys)[0] in {"MALFORMED", "SIGNATURE_INVALID"}
    assert rejected(f"{header[: len(header) - len(header) % 4]}A.{payload}.{signature}", keys) == (
        "MALFORMED",
        "BAD_BASE64",
    )


# -- J-03: kid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid, detail",
    [
        ("../../../../dev/null", "BAD_KID"),
        ("1' UNION SELECT 'x'--", "BAD_KID"),
        ("http://127.0.0.1:9/k", "BAD_KID"),
        ("file:///etc/passwd", "BAD_KID"),
        ("", "BAD_KID"),
        ("a" * 65, "BAD_KID"),
        ("kid\n", "BAD_KID"),
        ("ｋｉｄ", "BAD_KID"),
        (7, "BAD_KID"),
        (["a"], "BAD_KID"),
        (None, "BAD_KID"),
    ],
)
def test_hostile_kids_are_refused_without_io(es256, kid, detail, no_io, spies):
    key, keys = es256
    token = forge({"alg": "ES256", "typ": CREDENTIAL, "kid": kid}, credential_claims(), key)
    assert no_io(lambda: verify_token(token, CREDENTIAL, keys, clock=clock())) == ("MALFORMED", detail)
    assert spies["verify"] == 0


def test_ten_kilobyte_kid_is_refused_by_the_size_cap_without_io(es256, no_io, spies):
    key, keys = es256
    token = forge({"alg": "ES256", "typ": CREDENTIAL, "kid": "A" * 10240}, credential_claims(), key)
    assert no_io(lambda: verify_token(token, CREDENTIAL, keys, clock=clock())) == ("MALFORMED", "TOO_LARGE")
    assert spies["b64"] == []


def test_missing_kid_is_refused(es256):
    key, keys = es256
    token = forge({"alg": "ES256", "typ": CREDENTIAL}, credential_claims(), key)
    assert rejected(token, keys) == ("MALFORMED", "KID_MISSING")


def test_ten_thousand_random_unknown_kids_cause_no_io(es256, no_io, spies):
    key, keys = es256
    rng = random.Random(331121)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    payload = b64(json.dumps(credential_claims()).encode())
    tokens_ = []
    for _ in range(10_000):
        kid = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))
        header = b64(json.dumps({"alg": "ES256", "typ": CREDENTIAL, "kid": kid}).encode())
        tokens_.append(f"{header}.{payload}.{b64(bytes(64))}")

    def verify_all():
        for token in tokens_:
            try:
                verify_token(token, CREDENTIAL, keys, clock=clock())
            except VerificationError as exc:
                assert (exc.reason, exc.detail) == ("UNKNOWN_KID", "NOT_IN_KEYSET")
        raise VerificationError("UNKNOWN_KID", "ALL_REFUSED")

    assert no_io(verify_all) == ("UNKNOWN_KID", "ALL_REFUSED")
    assert spies["verify"] == 0
