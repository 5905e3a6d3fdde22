"""The key store shared by every process of one issuer: a rotation or a revocation made by one
runtime is what every other runtime on the same database signs with next, without a restart;
a revoked key leaves the JWKS for its ``revoked_keys``, audited with its reason."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa

from govcred.core.exceptions import Conflict, NotFound, ValidationError, VerificationError
from govcred.core.keys import KeySet
from govcred.core.orm import audit_log
from govcred.core.presentation import issue_presentation
from govcred.core.services.decisions import decide
from govcred.core.tokens import CREDENTIAL, PRESENTATION, STATUS_LIST, verify_token
from govcred.testing import make_runtime
from tests.core.credential_rows import make_credential
from tests.core.workflow_helpers import officer, rule_clean_applications


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


@pytest.fixture
def other(runtime, govcred_plugins):
    """A second issuer process: its own runtime, engine and key store on the same database."""
    rt = make_runtime(runtime.settings, runtime.clock, plugins=govcred_plugins)
    yield rt
    rt.close()


def test_a_rotation_elsewhere_reaches_credentials_presentations_and_status_lists(runtime, other):
    first = make_credential(runtime)
    old_kid = first.kid
    list_id = first.status_list_id
    assert kid_of(runtime.status_list_publisher.current(list_id).token) == old_kid  # and now cached
    assert kid_of(issue_presentation(runtime.collaborators, first)) == old_kid

    runtime.clock.advance(seconds=60)
    new_kid = other.keystore.rotate(actor="test").kid

    # the first runtime was not restarted: each of its signatures is made with the new key
    second = make_credential(runtime)
    presentation = issue_presentation(runtime.collaborators, first)
    status_list = runtime.status_list_publisher.current(list_id).token
    assert {second.kid, kid_of(second.token), kid_of(presentation), kid_of(status_list)} == {new_kid}

    # and a verifier with the published keys accepts both generations
    keys = KeySet.from_jwks(runtime.keystore.jwks(), runtime.settings.issuer, thumbprint_kids=True)
    for token, kind in ((first.token, CREDENTIAL), (second.token, CREDENTIAL), (presentation, PRESENTATION)):
        assert verify_token(token, kind, keys, clock=runtime.clock).kid in (old_kid, new_kid)
    verify_token(status_list, STATUS_LIST, keys, clock=runtime.clock)


def test_a_decision_signs_with_the_key_another_process_rotated_in_or_revoked_out(runtime, other):
    # the deciding runtime holds its key from an earlier decision and checks it inside the
    # decision's own transaction: a change made elsewhere is seen there, and the decision signs
    # with the new key (nothing of the attempt with the old one is written)
    reviewer = officer(runtime, "reviewer", "rotation-reviewer")
    first, second, third = rule_clean_applications(runtime, 3, first=700)
    old_kid = runtime.collaborators.keys.active_key().kid
    assert _credential_of(runtime, first, reviewer).kid == old_kid

    runtime.clock.advance(seconds=60)
    rotated = other.keystore.rotate(actor="test").kid
    assert _credential_of(runtime, second, reviewer).kid == rotated

    runtime.clock.advance(seconds=60)
    replaced_by = other.keystore.revoke(rotated, reason="私钥文件在备份盘丢失", actor="cli").replaced_by
    assert _credential_of(runtime, third, reviewer).kid == replaced_by


def _credential_of(rt, app_id, reviewer):
    credential_id = decide(rt.collaborators, app_id, approve=True, principal=reviewer).credential_id
    with rt.uow(readonly=True) as uow:
        credential = uow.credentials.get(credential_id)
    assert kid_of(credential.token) == credential.kid
    return credential


def test_the_retired_key_is_published_with_the_time_it_stopped_signing(runtime, other):
    old_kid = runtime.keystore.active_key().kid
    runtime.clock.advance(seconds=30)
    new_kid = other.keystore.rotate().kid
    published = {k["kid"]: k for k in runtime.keystore.jwks()["keys"]}
    assert published[old_kid]["retired_at"] == int(runtime.clock.now().timestamp())
    assert "retired_at" not in published[new_kid]
    assert "revoked_keys" not in runtime.keystore.jwks()


def test_revoking_the_active_key_puts_a_new_one_in_its_place_for_every_process(runtime, other):
    credential = make_credential(runtime)
    kid = credential.kid
    runtime.clock.advance(seconds=5)

    done = other.keystore.revoke(kid, reason="私钥文件在备份盘丢失", actor="cli")

    assert done.kid == kid and done.replaced_by not in (None, kid) and done.credentials_affected == 1
    assert runtime.keystore.active_key().kid == done.replaced_by
    jwks = runtime.keystore.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [done.replaced_by]
    at = int(runtime.clock.now().timestamp())
    assert jwks["revoked_keys"] == [{"kid": kid, "revoked_at": at, "reason": "compromised"}]
    # the reason given is kept and audited, not published
    info = {k.kid: k for k in runtime.keystore.list()}[kid]
    assert info.revocation_reason == "私钥文件在备份盘丢失" and info.revoked_at == runtime.clock.now()
    assert not info.active
    with runtime.engine.connect() as conn:
        row = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.object_id, audit_log.c.details).where(
                audit_log.c.action == "key.revoked"
            )
        ).one()
    assert row.actor == "cli" and row.object_id == kid
    assert row.details == {
        "compromised": True,
        "reason": "私钥文件在备份盘丢失",
        "replaced_by": done.replaced_by,
        "credentials_affected": 1,
    }

    # a verifier holding the new JWKS refuses the key's credential by name
    keys = KeySet.from_jwks(jwks, runtime.settings.issuer, thumbprint_kids=True)
    with pytest.raises(VerificationError) as refused:
        verify_token(credential.token, CREDENTIAL, keys, clock=runtime.clock)
    assert (refused.value.reason, refused.value.detail) == ("KEY_REVOKED", "KEY_COMPROMISED")


def test_revoking_a_retired_key_leaves_the_active_one_signing(runtime):
    old_kid = runtime.keystore.active_key().kid
    new_kid = runtime.keystore.rotate().kid
    done = runtime.keystore.revoke(old_kid, reason="泄露")
    assert done.replaced_by is None and done.credentials_affected == 0
    assert runtime.keystore.active_key().kid == new_kid
    assert [k["kid"] for k in runtime.keystore.jwks()["keys"]] == [new_kid]


def test_revocation_refusals_name_what_is_wrong(runtime):
    kid = runtime.keystore.active_key().kid
    with pytest.raises(NotFound) as missing:
        runtime.keystore.revoke("NoSuchKid00", reason="泄露")
    assert missing.value.code == "KEY_NOT_FOUND" and "NoSuchKid00" in missing.value.message
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as no_reason:
            runtime.keystore.revoke(kid, reason=blank)
        assert [e.field for e in no_reason.value.errors] == ["reason"]
    with pytest.raises(ValidationError):
        runtime.keystore.revoke(kid, reason="长" * 501)
    runtime.keystore.revoke(kid, reason="泄露")
    with pytest.raises(Conflict) as twice:
        runtime.keystore.revoke(kid, reason="泄露")
    assert twice.value.code == "KEY_ALREADY_REVOKED"
    # nothing half-done: exactly one revocation, one replacement key
    assert [k.kid for k in runtime.keystore.list() if k.revoked_at is not None] == [kid]
    assert len([k for k in runtime.keystore.list() if k.active]) == 1
