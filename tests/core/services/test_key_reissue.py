"""Re-issuing the permits a compromised key signed (SQLite and PostgreSQL): after ``keys revoke``
a real verifier refuses the old tokens by name and accepts the new ones, the holder is texted
and the province gets the new record, a second run does nothing, a run that crashed half-way
finishes when run again, and the resident's e-permit page shows the new QR."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import Conflict
from govcred.core.hookspecs import hookimpl
from govcred.core.orm import audit_log, credentials
from govcred.core.qr import decode_image
from govcred.core.services.credential_status import change_status
from govcred.core.services.key_reissue import reissue_signed_by
from govcred.core.web import create_app
from tests.core.permits import beijing, issue_permit, list_status, make_officer, token_claims
from tests.core.web.pages.test_resident_pages import login_resident

SUSPENDED_BITS = 2


def _admin(rt) -> Principal:
    return Principal("officer", "cli:test", "admin", "管理员", factor_at=rt.clock.now())


def _verify(rt, tmp_path, token) -> tuple[bool, list[str]]:
    """What a verifier answers, trusting the issuer's JWKS and status lists as published now."""
    from govcred.testing import make_pm
    from govcred.verifier.cache import TrustCache
    from govcred.verifier.check import Verifier
    from tests.verifier.issuers import publish, trust_of

    cache = TrustCache(trust_of(publish(rt, tmp_path / "published")), clock=rt.clock)
    assert cache.refresh() == []
    answer = Verifier(cache, pm=make_pm()).verify_text(token)
    return answer.valid, answer.reasons


def _versions(rt, permit_no) -> list[tuple[int, str, str]]:
    with rt.uow(readonly=True) as uow:
        rows = uow.session.execute(
            sa.select(credentials.c.version, credentials.c.status, credentials.c.kid)
            .where(credentials.c.permit_no == permit_no)
            .order_by(credentials.c.version)
        )
        return [tuple(r) for r in rows]


def _newest(rt, permit_no):
    with rt.uow(readonly=True) as uow:
        return uow.credentials.versions(permit_no)[0]


def _audit_count(rt) -> int:
    with rt.uow(readonly=True) as uow:
        return uow.session.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()


@pytest.fixture
def permits(runtime, clock):
    """Three permits under the first key: one valid, one suspended by an officer, one revoked."""
    clock.set(beijing(2026, 11, 30))
    rt = runtime
    valid, suspended, revoked = (issue_permit(rt, owner_phone=f"1390000006{i}") for i in range(3))
    officer = make_officer(rt, "reviewer")
    change_status(rt.collaborators, suspended.id, "suspended", reason="核查居住地址", principal=officer)
    change_status(rt.collaborators, revoked.id, "revoked", reason="以欺骗手段取得", principal=officer)
    clock.advance(seconds=3600)
    return valid, suspended, revoked


def test_reissue_after_revocation_gives_holders_permits_that_verify(runtime, permits, outbox_inspector, tmp_path):
    rt = runtime
    valid, suspended, revoked = permits
    old_kid = valid.kid
    revocation = rt.keystore.revoke(old_kid, reason="签名服务器被入侵")
    assert revocation.credentials_affected == 2
    assert _verify(rt, tmp_path, valid.token) == (False, ["KEY_REVOKED"])  # the holder's permit fails

    rt.clock.advance(seconds=2 * 86400)  # re-issued two days later: the validity does not move
    report = reissue_signed_by(rt.collaborators, _admin(rt), old_kid)
    new_kid = revocation.replaced_by
    assert report.signed_with == new_kid and len(report.reissued) == 2 and report.transactions == 1
    assert {r["permit_no"] for r in report.reissued} == {valid.permit_no, suspended.permit_no}

    # same permit, claims and validity; a new version, jti and status slot, signed with the new key
    renewed = _newest(rt, valid.permit_no)
    assert (renewed.version, renewed.kid, renewed.status) == (2, new_kid, "valid")
    assert renewed.id != valid.id and renewed.expires_at == valid.expires_at
    claims, before = token_claims(rt, renewed), dict(valid.claims)
    assert claims["jti"] == renewed.id and claims["exp"] == before["exp"]
    assert claims["status"] != before["status"]
    unchanged = {k: v for k, v in before.items() if k not in ("jti", "iat", "status")}
    assert {k: claims[k] for k in unchanged} == unchanged
    assert _versions(rt, valid.permit_no) == [(1, "superseded", old_kid), (2, "valid", new_kid)]

    # the suspended permit stays suspended (same reason), on the list too; the revoked one is left alone
    kept = _newest(rt, suspended.permit_no)
    assert (kept.version, kept.status, kept.status_reason) == (2, "suspended", "核查居住地址")
    assert list_status(rt, kept) == SUSPENDED_BITS
    assert _versions(rt, revoked.permit_no) == [(1, "revoked", old_kid)]

    # a real verifier: the new tokens answer as the permits are, the old ones KEY_REVOKED
    assert _verify(rt, tmp_path, renewed.token) == (True, [])
    assert _verify(rt, tmp_path, kept.token) == (False, ["SUSPENDED"])
    assert _verify(rt, tmp_path, valid.token) == (False, ["KEY_REVOKED"])
    assert _verify(rt, tmp_path, suspended.token) == (False, ["KEY_REVOKED"])

    # the holder is texted once per permit, in Chinese, one segment; the province gets both records
    texts = outbox_inspector.rows("sms", event_type="sms.reissued")
    assert len(texts) == 2 and {r["payload"]["template"] for r in texts} == {"permit_reissued"}
    assert {r["payload"]["params"]["permit_no"] for r in texts} == {valid.permit_no, suspended.permit_no}
    pushed = [
        (m.payload["event"], m.payload["record"]["ZZBS"], m.payload["record"]["ZZZT"], m.payload["record"]["ZZYXQQSRQ"])
        for m in outbox_inspector.messages("provincial_push")
        if m.payload["record"]["ZZBH"] == valid.permit_no
    ]
    (old_event, old_id, old_status, old_from), (new_event, new_id, new_status, new_from) = pushed[-2:]
    assert old_from == new_from == "2026-11-30"  # the validity the platform holds did not move
    assert (old_event, old_status, new_event, new_status) == ("superseded", "superseded", "issued", "valid")
    assert old_id != new_id  # the GB/T 36904 identifier names the version

    # audited: one entry per new credential, naming the old one and the revoked key
    with rt.uow(readonly=True) as uow:
        entries = uow.session.execute(
            sa.select(audit_log.c.object_id, audit_log.c.details).where(audit_log.c.action == "credential.reissued")
        ).all()
    assert {e.object_id for e in entries} == {renewed.id, kept.id}
    assert all(e.details["revoked_kid"] == old_kid for e in entries)

    # a second run finds nothing to do and writes nothing
    rows, audited = len(outbox_inspector.rows()), _audit_count(rt)
    again = reissue_signed_by(rt.collaborators, _admin(rt), old_kid)
    assert again.reissued == [] and again.transactions == 0
    assert (len(outbox_inspector.rows()), _audit_count(rt)) == (rows, audited)
    assert _versions(rt, valid.permit_no)[-1] == (2, "valid", new_kid)


def test_a_run_that_crashed_half_way_finishes_when_run_again(runtime, permits, outbox_inspector):
    rt = runtime
    valid, suspended, _revoked = permits
    rt.keystore.revoke(valid.kid, reason="密钥备份外泄")
    first, second = sorted([valid, suspended], key=lambda c: c.id)

    class CrashOnSecond:
        @hookimpl
        def govcred_credential_issued(self, credential, outbox):
            if credential.permit_no == second.permit_no:
                raise RuntimeError("the process died here")

    crash = CrashOnSecond()
    rt.pm.register(crash)
    try:
        with pytest.raises(RuntimeError):
            reissue_signed_by(rt.collaborators, _admin(rt), valid.kid, chunk=1)
    finally:
        rt.pm.unregister(crash)
    # the first chunk was committed whole, the second not at all
    status_now = {valid.permit_no: "valid", suspended.permit_no: "suspended"}
    assert [v[1] for v in _versions(rt, first.permit_no)] == ["superseded", status_now[first.permit_no]]
    assert len(_versions(rt, second.permit_no)) == 1 and _versions(rt, second.permit_no)[0][1] != "superseded"
    assert len(outbox_inspector.rows("sms", event_type="sms.reissued")) == 1

    resumed = reissue_signed_by(rt.collaborators, _admin(rt), valid.kid, chunk=1)
    assert [r["permit_no"] for r in resumed.reissued] == [second.permit_no]
    assert len(outbox_inspector.rows("sms", event_type="sms.reissued")) == 2


def test_only_a_revoked_key_is_reissued_for_and_only_by_an_admin(runtime, permits):
    from govcred.core.exceptions import PermissionDenied

    rt = runtime
    valid = permits[0]
    with pytest.raises(Conflict) as refused:
        reissue_signed_by(rt.collaborators, _admin(rt), valid.kid)
    assert refused.value.code == "KEY_NOT_REVOKED"
    rt.keystore.revoke(valid.kid, reason="泄露")
    with pytest.raises(PermissionDenied):
        reissue_signed_by(rt.collaborators, make_officer(rt, "reviewer"), valid.kid)
    assert _versions(rt, valid.permit_no)[-1][0] == 1


def test_the_residents_page_shows_the_new_qr(runtime, permits):
    rt = runtime
    valid = permits[0]
    rt.keystore.revoke(valid.kid, reason="泄露")
    reissue_signed_by(rt.collaborators, _admin(rt), valid.kid)
    renewed = _newest(rt, valid.permit_no)

    client = create_app(runtime=rt).test_client()
    login_resident(client, rt, "13900000060")
    old_page = client.get(f"/resident/permits/{valid.id}")  # a bookmark of the old version
    assert old_page.status_code == 302 and old_page.headers["Location"].endswith(f"/resident/permits/{renewed.id}")
    html = client.get(f"/resident/permits/{renewed.id}").get_data(as_text=True)
    assert f"/resident/permits/{renewed.id}/qr.png" in html and "因安全原因重新签发" in html
    png = client.get(f"/resident/permits/{renewed.id}/qr.png")
    assert png.status_code == 200 and decode_image(png.data) == renewed.token
    # the old version cannot be shown any more
    assert client.get(f"/resident/permits/{valid.id}/presentation.png").status_code == 409
