"""Key rotation and compromise end to end: the issuer served on 127.0.0.1, its administrator
running ``govcred keys rotate`` and ``govcred keys revoke --compromised`` from another process
(another runtime on the same database), and a verifier that learns of each from one refresh of
the issuer's JWKS, while the served issuer, never restarted, signs with the new key."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from govcred.core.cli import AppContext, build_cli
from govcred.core.keys import SigningKey, decrypt_private_key
from govcred.core.keystore import passphrase_for
from govcred.core.presentation import issue_presentation
from govcred.core.tokens import CREDENTIAL
from govcred.core.web import create_app
from govcred.testing import make_runtime
from govcred.verifier.cache import TrustCache, fetch_source
from govcred.verifier.check import Verifier
from govcred.verifier.trust import parse_trust
from tests.core.credential_rows import make_credential
from tests.core.jws_forge import forge
from tests.verifier.test_refresh_http import Served


@pytest.fixture
def admin(sqlite_runtime, govcred_plugins):
    """``admin(*args)``: the ``govcred`` command in a process of its own (its own runtime and
    engine on the issuer's database), as the administrator runs it next to the server."""
    rt = make_runtime(sqlite_runtime.settings, sqlite_runtime.clock, plugins=govcred_plugins)
    command = build_cli(rt.pm)

    def invoke(*args):
        context = AppContext(str(rt.settings.data_dir))
        context.settings, context.runtime = rt.settings, rt
        result = CliRunner().invoke(command, ["--data-dir", str(rt.settings.data_dir), *args], obj=context)
        assert result.exit_code == 0, result.output
        return result.output

    invoke.runtime = rt
    yield invoke
    rt.close()


@pytest.fixture
def served(sqlite_runtime):
    server = Served(create_app(sqlite_runtime))
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture
def verifier(sqlite_runtime, served):
    iss = sqlite_runtime.settings.issuer
    trust = parse_trust(
        {"issuer": [{"iss": iss, "jwks": iss + "/.well-known/jwks.json", "status_lists": iss + "/status"}]}
    )
    # the issuer's public URL is served on 127.0.0.1 here
    cache = TrustCache(trust, clock=sqlite_runtime.clock, fetch=lambda url: fetch_source(url.replace(iss, served)))
    return Verifier(cache)


def answer(verifier, token):
    result = verifier.verify_text(token)
    return "valid" if result.valid else (result.reasons[0], result.detail)


def old_signing_key(rt, kid) -> SigningKey:
    """The private key of ``kid`` as whoever stole it holds it."""
    (row,) = [r for r in _rows(rt) if r["kid"] == kid]
    private = decrypt_private_key(row["private_pem_enc"], passphrase_for(rt.settings)[0])
    return SigningKey.from_private_key(private, created_at=row["created_at"])


def _rows(rt):
    with rt.uow(readonly=True) as uow:
        return uow.signing_keys.all()


def test_rotation_then_compromise_reach_the_verifier_within_one_refresh(sqlite_runtime, admin, verifier):
    rt = sqlite_runtime
    first = make_credential(rt)
    shown = issue_presentation(rt.collaborators, first)
    assert verifier.trust.refresh() == []
    assert answer(verifier, first.token) == answer(verifier, shown) == "valid"
    uri = first.claims["status"]["status_list"]["uri"]

    # -- rotation: old credentials stay valid, the running issuer signs with the new key
    rt.clock.advance(seconds=120)
    new_kid = admin("keys", "rotate").split(": ")[1].split()[0]
    assert verifier.trust.refresh() == []
    second = make_credential(rt)
    assert second.kid == new_kid != first.kid
    assert verifier.trust.held_list(uri).status_list.kid == new_kid  # the list was signed again
    assert answer(verifier, first.token) == answer(verifier, second.token) == "valid"
    assert answer(verifier, issue_presentation(rt.collaborators, first)) == "valid"

    # whoever holds the retired key cannot date a new token after its retirement
    stolen = old_signing_key(rt, first.kid)
    rt.clock.advance(seconds=120)
    now = int(rt.clock.now().timestamp())
    forged = forge(
        {"alg": "ES256", "typ": CREDENTIAL, "kid": first.kid}, {**first.claims, "iat": now, "nbf": now}, stolen
    )
    assert answer(verifier, forged) == ("SIGNATURE_INVALID", "SIGNED_AFTER_KEY_RETIRED")

    # -- compromise of the retired key: refused by name after one refresh, and nothing else is
    out = json.loads(admin("keys", "revoke", first.kid, "--compromised", "--reason", "旧服务器硬盘失窃", "--json"))
    assert out["replaced_by"] is None and out["credentials_affected"] == 1
    assert answer(verifier, first.token) == "valid"  # the verifier has not refreshed yet
    assert verifier.trust.refresh() == []
    assert answer(verifier, first.token) == ("KEY_REVOKED", "KEY_COMPROMISED")
    assert answer(verifier, shown) == ("KEY_REVOKED", "KEY_COMPROMISED")
    backdated = forge({"alg": "ES256", "typ": CREDENTIAL, "kid": first.kid}, first.claims, stolen)
    assert answer(verifier, backdated) == ("KEY_REVOKED", "KEY_COMPROMISED")
    assert answer(verifier, second.token) == "valid"

    # -- compromise of the active key: a new key takes over at once in the served process
    out = json.loads(admin("keys", "revoke", new_kid, "--compromised", "--reason", "签名服务器被入侵", "--json"))
    newest = out["replaced_by"]
    assert newest not in (None, first.kid, new_kid)
    assert verifier.trust.refresh() == []
    third = make_credential(rt)
    assert third.kid == newest
    assert answer(verifier, second.token) == ("KEY_REVOKED", "KEY_COMPROMISED")
    assert answer(verifier, third.token) == "valid"
    # the list the compromised key had signed was dropped and fetched again, signed by the new key
    assert verifier.trust.held_list(uri).status_list.kid == newest
    assert answer(verifier, issue_presentation(rt.collaborators, third)) == "valid"


def test_revoking_reissues_the_holders_permits_and_the_served_issuer_publishes_them(sqlite_runtime, admin, verifier):
    """`keys revoke --compromised` (another process) signs the permits in use again: after one
    refresh the verifier refuses the old token by name and accepts the new version's."""
    rt = sqlite_runtime
    held = make_credential(rt)
    assert verifier.trust.refresh() == [] and answer(verifier, held.token) == "valid"
    rt.clock.advance(seconds=60)
    out = json.loads(admin("keys", "revoke", held.kid, "--compromised", "--reason", "签名服务器被入侵", "--json"))
    assert out["credentials_affected"] == 1 and out["reissued"]["reissued"] == 1 and out["follow_up"] is None
    with rt.uow(readonly=True) as uow:
        newest = uow.credentials.versions(held.permit_no)[0]
    assert (newest.version, newest.kid) == (2, out["replaced_by"])
    assert verifier.trust.refresh() == []
    assert answer(verifier, held.token) == ("KEY_REVOKED", "KEY_COMPROMISED")
    assert answer(verifier, newest.token) == "valid"
    assert answer(verifier, issue_presentation(rt.collaborators, newest)) == "valid"
