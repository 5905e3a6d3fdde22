"""The permit after issue: issue -> endorsement -> missed anniversary -> suspended -> late
endorsement -> valid with a new residence start, on a controllable clock (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationError, VerificationError
from govcred.core.hookspecs import hookimpl
from govcred.core.orm import audit_log, credentials, decisions, outbox
from govcred.core.services.lifecycle import cancel_permit, permit_view, replace_permit, request_endorsement
from govcred.core.services.sweep import run_sweep
from govcred.testing import signed_in
from tests.core.permits import beijing, issue_permit, list_status, make_officer, token_claims

SUSPENDED_BITS, VALID_BITS, INVALID_BITS = 2, 0, 1


@pytest.fixture
def clerk(runtime):
    return make_officer(runtime, "clerk")


@pytest.fixture
def reviewer(runtime):
    return make_officer(runtime, "reviewer")


def _holder(rt, credential) -> Principal:
    return Principal("resident", credential.owner_id)


def _versions(rt, permit_no) -> list[str]:
    """The statuses of a permit's versions, oldest first."""
    with rt.uow(readonly=True) as uow:
        return list(
            uow.session.execute(
                sa.select(credentials.c.status)
                .where(credentials.c.permit_no == permit_no)
                .order_by(credentials.c.version)
            ).scalars()
        )


def _verify(rt, tmp_path, token) -> tuple[bool, list[str]]:
    """What a verifier answers (verifier library, the issuer's JWKS and status lists as published now)."""
    from govcred.testing import make_pm
    from govcred.verifier.cache import TrustCache
    from govcred.verifier.check import Verifier
    from tests.verifier.issuers import publish, trust_of

    cache = TrustCache(trust_of(publish(rt, tmp_path / "published")), clock=rt.clock)
    cache.refresh()
    answer = Verifier(cache, pm=make_pm()).verify_text(token)
    return answer.valid, answer.reasons


def test_issue_endorse_miss_suspend_late_endorse(runtime, clock, clerk, tmp_path):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    first = issue_permit(rt)
    assert first.expires_at == dt.datetime(2027, 3, 1, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    original_rs = first.claims["rs"]
    holder = _holder(rt, first)

    # before the window: refused, and told the window
    clock.set(beijing(2027, 1, 15))
    with pytest.raises(Conflict) as refused:
        request_endorsement(rt.collaborators, first.permit_no, holder, "online")
    assert refused.value.code == "OUTSIDE_ENDORSEMENT_WINDOW"
    assert "签注办理期为 2027年2月1日至2027年2月28日" in refused.value.message

    # inside the window: version 2, same permit, next anniversary; version 1 still verifies
    clock.set(beijing(2027, 2, 10))
    endorsed = request_endorsement(rt.collaborators, first.permit_no, holder, "online")
    second = endorsed.credential
    assert not endorsed.late
    assert (second.permit_no, second.version) == (first.permit_no, 2)
    assert second.id != first.id
    assert token_claims(rt, second)["exp"] == int(dt.datetime(2028, 3, 1, 15, 59, 59, tzinfo=dt.UTC).timestamp())
    assert token_claims(rt, second)["rs"] == original_rs
    assert token_claims(rt, first)["jti"] == first.id  # the old token is still within its exp
    assert list_status(rt, first) == VALID_BITS
    assert _versions(rt, first.permit_no) == ["superseded", "valid"]

    assert _verify(rt, tmp_path, first.token) == (True, [])
    assert _verify(rt, tmp_path, second.token) == (True, [])

    # the 2028 anniversary passes without endorsement: the sweep suspends version 2 the
    # moment the permit lapses; a verifier answers SUSPENDED, and once the token's exp is
    # past its leeway too, SUSPENDED first and then EXPIRED
    clock.set(second.expires_at + dt.timedelta(seconds=30))
    report = run_sweep(rt.collaborators)
    assert report.suspended == 1 and report.suspended_permits == [first.permit_no]
    assert list_status(rt, second) == SUSPENDED_BITS
    assert _verify(rt, tmp_path, second.token) == (False, ["SUSPENDED"])
    clock.set(beijing(2028, 3, 2, 1, 0))
    assert run_sweep(rt.collaborators).suspended == 0
    assert list_status(rt, second) == SUSPENDED_BITS
    with pytest.raises(VerificationError) as expired:
        token_claims(rt, second)
    assert expired.value.reason == "EXPIRED"
    assert _verify(rt, tmp_path, second.token) == (False, ["SUSPENDED", "EXPIRED"])
    view = permit_view(rt.collaborators, first.permit_no, holder)
    assert view["status"] == "suspended" and view["lapsed"]

    # late endorsement: version 3, valid, residence years restart on the endorsement day
    clock.set(beijing(2028, 3, 10))
    late = request_endorsement(rt.collaborators, first.permit_no, signed_in(clerk, rt.clock), "window")
    third = late.credential
    assert late.late and third.version == 3 and third.status == "valid"
    assert third.residence_start == dt.date(2028, 3, 10)
    claims = token_claims(rt, third)
    assert claims["rs"] == "2028-03-10"
    assert claims["exp"] == int(dt.datetime(2029, 3, 1, 15, 59, 59, tzinfo=dt.UTC).timestamp())
    assert list_status(rt, third) == VALID_BITS
    assert _verify(rt, tmp_path, third.token) == (True, [])
    assert _versions(rt, first.permit_no) == ["superseded", "superseded", "valid"]
    with rt.uow(readonly=True) as uow:
        endorsed_audit = (
            uow.session.execute(
                sa.select(audit_log.c.details).where(audit_log.c.action == "permit.endorsed").order_by(audit_log.c.seq)
            )
            .scalars()
            .all()
        )
    assert [d["late"] for d in endorsed_audit] == [False, True]
    assert endorsed_audit[-1]["residence_start"] == "2028-03-10"
    with rt.uow(readonly=True) as uow:
        pushed = uow.session.execute(
            sa.select(outbox.c.payload)
            .where(outbox.c.event_type == "push.issued", outbox.c.aggregate_id == first.permit_no)
            .order_by(outbox.c.aggregate_seq.desc())
            .limit(1)
        ).scalar_one()
    assert pushed["record"]["KZ_JZQSRQ"] == "2028-03-10" and pushed["record"]["ZZZT"] == "valid"
    assert pushed["record"]["ZZYXQJZRQ"] == "2029-03-01"
    view = permit_view(rt.collaborators, first.permit_no, clerk)
    assert view["status"] == "valid" and view["residence_start"] == "2028-03-10"
    assert view["endorsement_window"]["start"] == "2029-02-01" and not view["endorsement_window"]["open"]
    assert [h["version"] for h in view["history"]] == [3, 2, 1]


def test_sweep_twice_changes_nothing_the_second_time(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permits = [issue_permit(rt) for _ in range(5)]
    clock.set(beijing(2026, 4, 1))
    later = issue_permit(rt)  # lapses a month later: untouched by this sweep
    clock.set(beijing(2027, 3, 2, 0, 30))

    def snapshot():
        with rt.uow(readonly=True) as uow:
            s = uow.session
            return (
                sorted(
                    s.execute(sa.select(credentials.c.id, credentials.c.status, credentials.c.status_changed_at)).all()
                ),
                s.execute(sa.select(sa.func.count()).select_from(outbox)).scalar(),
                s.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar(),
                s.execute(sa.text("SELECT count(*), coalesce(sum(revision), 0) FROM status_lists")).one(),
                s.execute(sa.text("SELECT count(*) FROM lifecycle_sweeps")).scalar(),
            )

    first_run = run_sweep(rt.collaborators, batch=2)
    assert first_run.suspended == 5 and first_run.batches >= 3
    assert sorted(first_run.suspended_permits) == sorted(p.permit_no for p in permits)
    after_first = snapshot()
    second_run = run_sweep(rt.collaborators, batch=2)
    assert (second_run.suspended, second_run.reminders, second_run.run_id) == (0, 0, None)
    assert snapshot() == after_first
    assert _versions(rt, later.permit_no) == ["valid"]
    with rt.uow(readonly=True) as uow:
        row = uow.session.execute(sa.text("SELECT suspended, phase, finished_at FROM lifecycle_sweeps")).one()
        suspended_audit = (
            uow.session.execute(sa.select(audit_log.c.details).where(audit_log.c.action == "credential.suspended"))
            .scalars()
            .all()
        )
    assert row[0] == 5 and row[1] == "done" and row[2] is not None
    assert sorted(p for entry in suspended_audit for p in entry["permit_nos"]) == sorted(p.permit_no for p in permits)
    assert [len(e["credentials"]) for e in suspended_audit] == [2, 2, 1]  # one entry per batch of 2


def test_sweep_queues_the_suspension_sms_through_the_outbox(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    clock.set(beijing(2027, 3, 2, 9, 0))
    run_sweep(rt.collaborators)
    with rt.uow(readonly=True) as uow:
        rows = uow.session.execute(
            sa.select(outbox.c.channel, outbox.c.payload).where(outbox.c.event_type == "sms.suspended")
        ).all()
    assert len(rows) == 1 and rows[0].channel == "sms"
    assert rows[0].payload["params"] == {"permit_no": permit.permit_no}
    assert "13800138000" not in str(rows[0].payload)


def test_endorsement_refused_with_every_reason_when_no_condition_holds(runtime, clock, clerk):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    clock.set(beijing(2027, 2, 10))
    ended = [
        {
            "kind": "employment",
            "proof": "labor_contract",
            "employer": "青田某贸易有限公司",
            "employer_uscc": "91331121MA2H111104",
            "division": "331121",
            "since": "2025-01-01",
            "until": "2026-12-31",
            "attachments": ["att-1"],
        },
        {
            "kind": "residence",
            "proof": "registered_rental_contract",
            "division": "330102",
            "since": "2025-01-01",
            "until": None,
            "attachments": ["att-2"],
        },
    ]
    with pytest.raises(Conflict) as refused:
        request_endorsement(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window", conditions=ended)
    assert refused.value.code == "ENDORSEMENT_REFUSED"
    codes = [f["code"] for f in refused.value.details["findings"]]
    assert {"NO_QUALIFYING_CONDITION", "CONDITION_NOT_CURRENT", "CONDITION_OUTSIDE_COUNTY"} <= set(codes)
    assert _versions(rt, permit.permit_no) == ["valid"]
    with rt.uow(readonly=True) as uow:
        refusal = uow.session.execute(sa.select(decisions).where(decisions.c.approved.is_(False))).mappings().one()
        sms = uow.session.execute(sa.select(outbox.c.payload).where(outbox.c.event_type == "sms.rejected")).all()
    assert refusal["credential_id"] is None and len(sms) == 1
    assert sms[0].payload["template"] == "endorsement_not_granted"  # its own text: the permit still exists


def test_endorsement_bad_conditions_are_named_all_at_once(runtime, clock, clerk):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    clock.set(beijing(2027, 2, 10))
    with pytest.raises(ValidationError) as invalid:
        request_endorsement(
            rt.collaborators,
            permit.permit_no,
            signed_in(clerk, rt.clock),
            "window",
            conditions=[{"kind": "employment", "proof": "labor_contract"}],
        )
    assert len(invalid.value.errors) >= 2


def test_who_may_endorse(runtime, clock, reviewer):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    clock.set(beijing(2027, 2, 10))
    with pytest.raises(NotFound):
        request_endorsement(rt.collaborators, permit.permit_no, Principal("resident", "someone-else"), "online")
    with pytest.raises(PermissionDenied):
        request_endorsement(rt.collaborators, permit.permit_no, reviewer, "online")
    with pytest.raises(PermissionDenied):
        request_endorsement(
            rt.collaborators,
            permit.permit_no,
            Principal("officer", "r", "reviewer", factor_at=rt.clock.now()),
            "window",
        )


def test_officer_suspension_is_not_lifted_by_an_endorsement(runtime, clock, clerk, reviewer):
    from govcred.core.services.credential_status import change_status

    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    clock.set(beijing(2027, 2, 10))
    change_status(
        rt.collaborators, permit.id, "suspended", reason="居住地址待核实", principal=signed_in(reviewer, rt.clock)
    )
    with pytest.raises(Conflict) as refused:
        request_endorsement(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window")
    assert refused.value.code == "PERMIT_SUSPENDED_BY_OFFICER"
    clock.set(beijing(2027, 3, 5))  # lapsed meanwhile: still the officer's to lift
    with pytest.raises(Conflict) as still:
        request_endorsement(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window")
    assert still.value.code == "PERMIT_SUSPENDED_BY_OFFICER"
    assert run_sweep(rt.collaborators).suspended == 0  # and the sweep leaves it alone


class FailingIssue:
    """A plugin whose issuance hook fails: the replacement must leave nothing behind."""

    @hookimpl
    def govcred_credential_issued(self, credential, application, outbox):
        raise RuntimeError("push target refused the record")


def test_replacement_is_atomic(runtime, settings, clock, clerk):
    from govcred.testing import make_runtime

    rt = runtime
    clock.set(beijing(2026, 3, 1))
    failing = make_runtime(settings, clock, extra_plugins=[(FailingIssue(), "failing-issue")])
    try:
        permit = issue_permit(rt)
        clock.set(beijing(2026, 6, 1))
        with pytest.raises(RuntimeError):
            replace_permit(
                failing.collaborators, permit.permit_no, signed_in(clerk, failing.clock), "window", reason="lost"
            )
        assert _versions(rt, permit.permit_no) == ["valid"]
        with rt.uow(readonly=True) as uow:
            assert uow.session.execute(sa.select(sa.func.count()).select_from(credentials)).scalar() == 1
        assert list_status(rt, permit) == VALID_BITS

        new = replace_permit(rt.collaborators, permit.permit_no, _holder(rt, permit), "online", reason="lost")
        assert new.permit_no != permit.permit_no and new.version == 1
        assert new.expires_at == permit.expires_at and new.claims["rs"] == permit.claims["rs"]
        assert _versions(rt, permit.permit_no) == ["replaced"]
        assert list_status(rt, permit) == INVALID_BITS and list_status(rt, new) == VALID_BITS
        with pytest.raises(Conflict):
            replace_permit(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window", reason="damaged")
    finally:
        failing.close()


def test_replacement_reason_is_checked(runtime, clock, clerk):
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime)
    with pytest.raises(ValidationError) as invalid:
        replace_permit(
            runtime.collaborators, permit.permit_no, signed_in(clerk, runtime.clock), "window", reason="stolen"
        )
    assert invalid.value.errors[0].field == "reason"


def test_cancellation_invalidates_every_live_version(runtime, clock, clerk, reviewer):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    clock.set(beijing(2027, 2, 10))
    second = request_endorsement(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window").credential
    assert list_status(rt, permit) == VALID_BITS
    with pytest.raises(ValidationError) as invalid:
        cancel_permit(rt.collaborators, permit.permit_no, signed_in(reviewer, rt.clock), reason="moved", note="x" * 300)
    assert [e.field for e in invalid.value.errors] == ["reason", "note"]
    with pytest.raises(PermissionDenied):
        cancel_permit(rt.collaborators, permit.permit_no, clerk, reason="local_hukou")
    cancelled = cancel_permit(
        rt.collaborators,
        permit.permit_no,
        signed_in(reviewer, rt.clock),
        reason="local_hukou",
        note="2027年2月落户青田",
    )
    assert cancelled.id == second.id and cancelled.status == "cancelled"
    assert "本地常住户口" in cancelled.status_reason
    assert _versions(rt, permit.permit_no) == ["cancelled", "cancelled"]
    assert list_status(rt, permit) == INVALID_BITS and list_status(rt, second) == INVALID_BITS
    with pytest.raises(Conflict):
        request_endorsement(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window")


class FailsOnThirdSuspension:
    """A plugin that fails while the sweep's second batch is under way."""

    def __init__(self):
        self.calls = 0

    @hookimpl
    def govcred_credential_status_changed(self, credential, application, old_status, new_status, reason, outbox):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("disk full")


def test_a_failed_batch_leaves_the_committed_batches_and_their_checkpoint(runtime, settings, clock):
    from govcred.testing import make_runtime

    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permits = [issue_permit(rt) for _ in range(4)]
    clock.set(beijing(2027, 3, 2, 9, 0))
    failing = make_runtime(settings, clock, extra_plugins=[(FailsOnThirdSuspension(), "fails-third")])
    try:
        with pytest.raises(RuntimeError):
            run_sweep(failing.collaborators, batch=2)
    finally:
        failing.close()
    with rt.uow(readonly=True) as uow:
        statuses = uow.session.execute(sa.select(credentials.c.status)).scalars().all()
        checkpoint = uow.session.execute(sa.text("SELECT suspended, batches, phase FROM lifecycle_sweeps")).one()
    assert sorted(statuses) == ["suspended", "suspended", "valid", "valid"]
    assert tuple(checkpoint) == (2, 1, "suspend")  # the first batch, exactly as committed
    assert run_sweep(rt.collaborators, batch=2).suspended == 2
    assert all(s == "suspended" for s in _versions_of_all(rt, permits))


def _versions_of_all(rt, permits):
    return [status for p in permits for status in _versions(rt, p.permit_no)]


def test_serve_runs_the_sweep_in_a_thread(runtime, clock):
    import time

    from govcred.core.jobs import SWEEP, runs_of

    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(runtime)
    clock.set(beijing(2027, 3, 2, 9, 0))
    jobs = runtime.server_jobs(relay=False).start()
    try:
        deadline = time.monotonic() + 30
        while jobs.ran.get(SWEEP, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        jobs.stop()
    assert jobs.ran[SWEEP] == 1  # (the daily retention purge runs beside it: tests/core/test_retention.py)
    assert runs_of(runtime.job_place(), SWEEP) == 1
    assert _versions(runtime, permit.permit_no) == ["suspended"]
