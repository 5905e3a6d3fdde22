import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc.jwk import ECKey, OKPKey

from govcred.core.exceptions import ConfigError, KeyStoreError, VerificationError
from govcred.core.keys import (
    KeySet,
    SigningKey,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    jwk_thumbprint,
    jwks_document,
    public_jwk,
    public_key_from_jwk,
    short_kid,
)
from tests.core.jws_forge import ISSUER, NOW, clock

# RFC 7638 §3.1: the RSA key of RFC 7517 appendix A.1 and its thumbprint.
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXj"
    "BZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb"
    "9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF4"
    "4-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

# RFC 7517 appendix A.1, the EC public key.
EC_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
    "use": "enc",
    "kid": "1",
}


def sha256_b64url(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


# -- generation and JWK ---------------------------------------------------------------------


def test_generate_private_key_per_algorithm():
    assert isinstance(generate_private_key("ES256"), ec.EllipticCurvePrivateKey)
    assert isinstance(generate_private_key("ES256").curve, ec.SECP256R1)
    assert isinstance(generate_private_key("EdDSA"), ed25519.Ed25519PrivateKey)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_no_generated_kid_reads_as_a_command_line_option(alg):
    # One base64url kid in 64 would begin with "-"; among 640 keys, about ten would without the
    # redraw (the chance of none is 4 in 100,000), and `govcred keys revoke -x…` would fail.
    kids = [public_jwk(generate_private_key(alg))["kid"] for _ in range(640)]
    assert not [kid for kid in kids if kid.startswith("-")]


@pytest.mark.parametrize("alg", ["RS256", "HS256", "none", "es256", "Ed25519", ""])
def test_generate_private_key_refuses_other_algorithms(alg):
    with pytest.raises(ConfigError):
        generate_private_key(alg)


def test_public_jwk_es256_has_public_members_only():
    jwk = public_jwk(generate_private_key("ES256"))
    assert set(jwk) == {"kty", "crv", "x", "y", "alg", "use", "kid"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert len(jwk["x"]) == len(jwk["y"]) == 43
    assert jwk["kid"] == short_kid(jwk_thumbprint(jwk))
    assert len(jwk["kid"]) == 11


def test_public_jwk_eddsa_has_public_members_only():
    key = generate_private_key("EdDSA")
    jwk = public_jwk(key)
    assert set(jwk) == {"kty", "crv", "x", "alg", "use", "kid"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert public_jwk(key.public_key()) == jwk


def test_public_jwk_refuses_other_curves():
    with pytest.raises(KeyStoreError, match="P-256"):
        public_jwk(ec.generate_private_key(ec.SECP384R1()))


# -- thumbprints and kid --------------------------------------------------------------------


def test_thumbprint_matches_rfc7638_example():
    assert jwk_thumbprint(RFC7638_KEY) == RFC7638_THUMBPRINT


def test_thumbprint_of_ec_key_computed_by_hand():
    # Required members only, in lexicographic order, no whitespace (RFC 7638 §3.2, §3.3).
    by_hand = (
        '{"crv":"P-256","kty":"EC","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",'
        '"y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}'
    )
    assert jwk_thumbprint(EC_KEY) == sha256_b64url(by_hand)
    # and an independent implementation agrees
    assert jwk_thumbprint(EC_KEY) == ECKey.import_key(EC_KEY).thumbprint()


def test_thumbprint_of_generated_okp_key_agrees_with_joserfc():
    jwk = public_jwk(generate_private_key("EdDSA"))
    by_hand = '{"crv":"Ed25519","kty":"OKP","x":"%s"}' % jwk["x"]
    assert jwk_thumbprint(jwk) == sha256_b64url(by_hand) == OKPKey.import_key(jwk).thumbprint()


def test_thumbprint_ignores_optional_members_and_their_order():
    reordered = {"y": EC_KEY["y"], "x": EC_KEY["x"], "kty": "EC", "crv": "P-256"}
    assert jwk_thumbprint(reordered) == jwk_thumbprint({**EC_KEY, "alg": "ES256", "use": "sig"})


@pytest.mark.parametrize(
    "jwk", [{"kty": "EC", "crv": "P-256", "x": "abc"}, {"kty": "XYZ"}, {}, {"kty": "EC", "crv": 1, "x": "a", "y": "b"}]
)
def test_thumbprint_refuses_incomplete_keys(jwk):
    with pytest.raises(KeyStoreError):
        jwk_thumbprint(jwk)


def test_short_kid_is_first_8_bytes_of_the_thumbprint():
    digest = base64.urlsafe_b64decode(RFC7638_THUMBPRINT + "=")
    expected = base64.urlsafe_b64encode(digest[:8]).rstrip(b"=").decode()
    assert short_kid(RFC7638_THUMBPRINT) == expected
    assert len(expected) == 11
    # not merely the first 11 characters: the 11th carries only 4 bits of the digest
    assert short_kid(RFC7638_THUMBPRINT)[:10] == RFC7638_THUMBPRINT[:10]


@pytest.mark.parametrize("bad", ["", "abc", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X=", "!" * 43])
def test_short_kid_refuses_non_thumbprints(bad):
    with pytest.raises(KeyStoreError):
        short_kid(bad)


# -- private keys at rest -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_encrypted_private_key_round_trips(alg):
    key = generate_private_key(alg)
    pem = encrypt_private_key(key, "青田-passphrase-2026")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    restored = decrypt_private_key(pem, "青田-passphrase-2026")
    assert public_jwk(restored) == public_jwk(key)
    message = b"signed after restore"
    if alg == "ES256":
        key.public_key().verify(restored.sign(message, ec.ECDSA(hashes.SHA256())), message, ec.ECDSA(hashes.SHA256()))
    else:
        key.public_key().verify(restored.sign(message), message)


def test_wrong_passphrase_is_a_clear_key_store_error():
    pem = encrypt_private_key(generate_private_key("ES256"), "right")
    with pytest.raises(KeyStoreError, match="passphrase is wrong"):
        decrypt_private_key(pem, "wrong")


def test_damaged_key_file_is_a_key_store_error():
    with pytest.raises(KeyStoreError):
        decrypt_private_key(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "x")


def test_empty_passphrase_is_refused():
    with pytest.raises(KeyStoreError):
        encrypt_private_key(generate_private_key("EdDSA"), "")


# -- strict JWK loading ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_public_key_from_jwk_round_trips(alg):
    key = generate_private_key(alg)
    loaded = public_key_from_jwk(public_jwk(key))
    assert public_jwk(loaded) == public_jwk(key)


def test_public_key_from_rfc_ec_example():
    assert isinstance(public_key_from_jwk(EC_KEY), ec.EllipticCurvePublicKey)


def _ec_jwk():
    return public_jwk(generate_private_key("ES256"))


def _flip_y(jwk):
    y = int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "="), "big") ^ 1
    return {**jwk, "y": base64.urlsafe_b64encode(y.to_bytes(32, "big")).rstrip(b"=").decode()}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda j: {**j, "d": "AAAA"}, "private member"),
        (lambda j: {**j, "kty": "RSA"}, "only EC P-256"),
        (lambda j: {**j, "kty": "oct", "k": "c2VjcmV0"}, "private member"),
        (lambda j: {**j, "crv": "P-384"}, "only EC P-256"),
        (lambda j: {**j, "crv": "secp256k1"}, "only EC P-256"),
        (lambda j: {**j, "kty": "OKP"}, "only EC P-256"),
        (lambda j: {k: v for k, v in j.items() if k != "y"}, "'y'"),
        (lambda j: {**j, "x": j["x"][:42]}, "'x'"),
        (lambda j: {**j, "x": j["x"] + "A"}, "'x'"),
        (lambda j: {**j, "x": j["x"] + "="}, "'x'"),
        (lambda j: {**j, "x": 12345}, "'x'"),
        (_flip_y, "not on the P-256 curve"),
        (lambda j: {**j, "x": "_" * 43}, "32 bytes|not P-256 field|canonical"),
    ],
)
def test_public_key_from_jwk_is_strict(mutate, message):
    with pytest.raises(KeyStoreError, match=message):
        public_key_from_jwk(mutate(_ec_jwk()))


def test_public_key_from_jwk_names_every_problem_at_once():
    jwk = {**_ec_jwk(), "d": "AAAA", "x": "short", "y": None}
    with pytest.raises(KeyStoreError) as info:
        public_key_from_jwk(jwk)
    assert "private member" in info.value.message
    assert "'x'" in info.value.message and "'y'" in info.value.message


def test_public_key_from_okp_jwk_refuses_private_key_and_bad_length():
    jwk = public_jwk(generate_private_key("EdDSA"))
    with pytest.raises(KeyStoreError, match="private member"):
        public_key_from_jwk({**jwk, "d": jwk["x"]})
    with pytest.raises(KeyStoreError, match="'x'"):
        public_key_from_jwk({**jwk, "x": jwk["x"][:-2]})
    with pytest.raises(KeyStoreError, match="only EC P-256"):
        public_key_from_jwk({**jwk, "crv": "X25519"})


def test_public_key_from_jwk_refuses_non_objects():
    with pytest.raises(KeyStoreError):
        public_key_from_jwk(["kty", "EC"])


# -- signing keys, JWKS and key sets --------------------------------------------------------


def test_signing_key_generate_fills_identity_and_hides_private_key():
    key = SigningKey.generate("ES256", clock=clock(), development=True)
    assert key.kid == key.public_jwk["kid"] and key.alg == "ES256"
    assert key.created_at == NOW and key.development
    assert key.not_after_signing is None and key.verify_until is None
    assert "private_key" not in repr(key)


def test_jwks_document_publishes_public_keys_with_verify_until():
    import datetime as dt

    old = SigningKey.generate("ES256", clock=clock(), verify_until=NOW + dt.timedelta(days=400))
    new = SigningKey.generate("ES256", clock=clock())
    doc = jwks_document([old, new])
    assert [k["kid"] for k in doc["keys"]] == [old.kid, new.kid]
    assert doc["keys"][0]["verify_until"] == int((NOW + dt.timedelta(days=400)).timestamp())
    assert "verify_until" not in doc["keys"][1]
    assert all("d" not in k for k in doc["keys"])
    keys = KeySet.from_jwks(doc, ISSUER)
    assert keys.get(old.kid).verify_until == doc["keys"][0]["verify_until"]
    assert keys.get(new.kid).alg == "ES256" and len(keys) == 2


def test_key_set_lookup_of_unknown_kid():
    key = SigningKey.generate("EdDSA")
    keys = KeySet.from_jwks(jwks_document([key]), ISSUER)
    assert isinstance(keys.get(key.kid).public_key, ed25519.Ed25519PublicKey)
    with pytest.raises(VerificationError) as info:
        keys.get("AAAAAAAAAAA")
    assert info.value.reason == "UNKNOWN_KID"


def test_key_set_derives_alg_when_jwks_omits_it():
    jwk = dict(SigningKey.generate("ES256").public_jwk)
    del jwk["alg"], jwk["use"]
    assert KeySet.from_jwks({"keys": [jwk]}, ISSUER).get(jwk["kid"]).alg == "ES256"


def test_key_set_rejects_whole_jwks_naming_every_bad_key():
    good = SigningKey.generate("ES256").public_jwk
    other = SigningKey.generate("EdDSA").public_jwk
    jwks = {
        "keys": [
            good,
            {**other, "kid": "../../dev/null"},
            {**good, "alg": "EdDSA"},
            {**other, "use": "enc"},
            {**other, "verify_until": "tomorrow"},
            good,
        ]
    }
    with pytest.raises(KeyStoreError) as info:
        KeySet.from_jwks(jwks, ISSUER)
    message = info.value.message
    for expected in (
        "key 1:",
        "must be 1 to 64 characters",
        "key 2:",
        "does not match",
        "key 3:",
        "use must be",
        "key 4:",
        "verify_until",
        "key 5: duplicate kid",
    ):
        assert expected in message
    assert "key 0" not in message


def test_another_issuers_kid_is_opaque_and_a_key_without_one_is_known_by_its_thumbprint():
    es, ed = SigningKey.generate("ES256").public_jwk, SigningKey.generate("EdDSA").public_jwk
    uuid_kid = "0b5e2f4c-8d1a-4b7e-9c3f-6a2d1e0f9b8c"
    bare = {k: v for k, v in ed.items() if k != "kid"}
    keys = KeySet.from_jwks({"keys": [{**es, "kid": uuid_kid}, bare]}, ISSUER)
    assert keys.get(uuid_kid).alg == "ES256"
    assert keys.get(jwk_thumbprint(ed)).alg == "EdDSA"


def test_govcreds_own_key_set_keeps_its_short_thumbprint_check():
    own = SigningKey.generate("ES256").public_jwk
    assert own["kid"] in KeySet.from_jwks({"keys": [own]}, ISSUER, thumbprint_kids=True)
    with pytest.raises(KeyStoreError, match="is not the key's short thumbprint"):
        KeySet.from_jwks({"keys": [{**own, "kid": "chosen-by-me"}]}, ISSUER, thumbprint_kids=True)


@pytest.mark.parametrize("kid", ["a" * 65, "", "kid with spaces", 7, "../../dev/null"])
def test_a_kid_outside_the_safe_syntax_is_named(kid):
    jwk = {**SigningKey.generate("ES256").public_jwk, "kid": kid}
    with pytest.raises(KeyStoreError, match="must be 1 to 64 characters"):
        KeySet.from_jwks({"keys": [jwk]}, ISSUER)


@pytest.mark.parametrize("jwks", [{}, {"keys": []}, {"keys": "x"}, [], None])
def test_key_set_rejects_empty_or_malformed_documents(jwks):
    with pytest.raises(KeyStoreError):
        KeySet.from_jwks(jwks, ISSUER)


def test_key_set_needs_an_issuer():
    with pytest.raises(KeyStoreError):
        KeySet.from_jwks(jwks_document([SigningKey.generate("ES256")]), "")


def test_public_jwk_checks_the_algorithm_the_caller_expects():
    key = generate_private_key("EdDSA")
    assert public_jwk(key, "EdDSA") == public_jwk(key)
    with pytest.raises(KeyStoreError, match="EdDSA key, not ES256"):
        public_jwk(key, "ES256")


# -- revoked and retired keys in a JWKS ------------------------------------------------------


def test_a_revoked_kid_is_refused_by_name_not_as_unknown():
    kept, revoked = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    jwks = {
        "keys": [kept.public_jwk],
        "revoked_keys": [{"kid": revoked.kid, "revoked_at": 1796000000, "reason": "compromised"}],
    }
    keys = KeySet.from_jwks(jwks, ISSUER)
    assert keys.kids() == [kept.kid] and [r.kid for r in keys.revoked()] == [revoked.kid]
    with pytest.raises(VerificationError) as refused:
        keys.get(revoked.kid)
    assert (refused.value.reason, refused.value.detail) == ("KEY_REVOKED", "KEY_COMPROMISED")
    with pytest.raises(VerificationError) as unknown:
        keys.get("NotRevoked0")
    assert unknown.value.reason == "UNKNOWN_KID"


def test_a_key_both_published_and_revoked_is_revoked():
    key = SigningKey.generate("ES256")
    jwks = {"keys": [key.public_jwk], "revoked_keys": [{"kid": key.kid, "revoked_at": 1796000000}]}
    keys = KeySet.from_jwks(jwks, ISSUER)
    assert key.kid not in keys
    with pytest.raises(VerificationError, match="KEY_REVOKED"):
        keys.get(key.kid)


def test_a_malformed_revocation_list_rejects_the_whole_jwks_naming_each_problem():
    """Skipping a bad entry would quietly accept a compromised key; the last good copy stays."""
    key = SigningKey.generate("ES256")
    jwks = {
        "keys": [{**key.public_jwk, "retired_at": "yesterday"}],
        "revoked_keys": [{"kid": "a b", "revoked_at": 1}, "kid", {"kid": "ok", "revoked_at": True, "reason": 3}],
    }
    with pytest.raises(KeyStoreError) as rejected:
        KeySet.from_jwks(jwks, ISSUER)
    message = rejected.value.message
    assert "key 0: retired_at must be a whole number of seconds" in message
    assert "revoked_keys 0: kid must be 1 to 64 characters" in message
    assert "revoked_keys 1: must be an object" in message
    assert "revoked_keys 2: revoked_at must be a whole number" in message and "reason must be a string" in message
    with pytest.raises(KeyStoreError, match="revoked_keys must be a list"):
        KeySet.from_jwks({"keys": [key.public_jwk], "revoked_keys": {}}, ISSUER)
