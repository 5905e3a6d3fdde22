"""Core emits a notification at every event a holder hears about, with the documented payload,
inside the event's transaction -- heard by a real plugin that records them (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from govcred.core.accounts.login_codes import send_login_code
from govcred.core.hookspecs import hookimpl
from govcred.core.notifications import KINDS, Notification, application_ref
from govcred.core.services import decisions, intake
from govcred.core.services.credential_status import change_status
from govcred.core.services.lifecycle import cancel_permit, replace_permit, request_endorsement, set_reminders
from govcred.core.services.sweep import run_sweep
from govcred.testing import signed_in
from tests.core.permits import beijing, issue_permit, make_officer
from tests.core.workflow_helpers import document, import_records, officer, resident, upload

PHONE = "13800138000"


class Heard:
    """Records every notification and queues nothing itself."""

    def __init__(self):
        self.notifications: list[Notification] = []

    @hookimpl
    def govcred_notify(self, notification, outbox):
        assert outbox is not None  # called inside the write transaction
        self.notifications.append(notification)

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notifications]

    def take(self) -> list[Notification]:
        taken, self.notifications = self.notifications, []
        return taken


@pytest.fixture
def heard(settings, clock):
    from govcred.testing import make_runtime

    plugin = Heard()
    rt = make_runtime(settings, clock, extra_plugins=[(plugin, "heard")])
    rt.keystore.ensure_key()
    yield rt, plugin
    rt.close()


def test_intake_and_decisions(heard):
    rt, plugin = heard
    alice = resident(rt, PHONE)
    reviewer = officer(rt, "reviewer", "reviewer1")
    import_records(rt)
    deps = rt.collaborators
    app = intake.submit_application(deps, document([upload(rt, alice)]), principal=alice, channel="online")
    [accepted] = plugin.take()
    assert accepted.kind == "accepted" and accepted.phone == PHONE
    assert (accepted.application_id, accepted.application_ref) == (app.id, application_ref(app.id))
    assert accepted.deadline == app.deadline and accepted.occurred_at == app.accepted_at
    assert accepted.application_kind == "first_issue"

    decisions.decide(deps, app.id, approve=True, principal=signed_in(reviewer, rt.clock))
    approved, issued = plugin.take()
    assert approved.kind == "approved" and approved.permit_no and approved.phone == PHONE
    assert issued.kind == "issued" and (issued.permit_no, issued.version) == (approved.permit_no, 1)

    bob = resident(rt, "13900139000")
    other = intake.submit_application(
        deps, document([upload(rt, bob)], id_number="330102199001011237"), principal=bob, channel="online"
    )
    plugin.take()
    decisions.decide(
        deps, other.id, approve=False, principal=signed_in(reviewer, rt.clock), officer_reasons=["材料照片模糊"]
    )
    [rejected] = plugin.take()
    assert rejected.kind == "rejected" and rejected.officer_reasons == ("材料照片模糊",)
    assert all(f.blocking for f in rejected.findings)


def test_status_changes_endorsement_replacement_and_cancellation(heard, clock):
    rt, plugin = heard
    reviewer, clerk = make_officer(rt, "reviewer"), make_officer(rt, "clerk")
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    plugin.take()
    for status, reason in (("suspended", "居住地址变更，待核实"), ("valid", "核实无误，恢复使用")):
        change_status(rt.collaborators, permit.id, status, reason=reason, principal=signed_in(reviewer, rt.clock))
    suspended, reinstated = plugin.take()
    assert (suspended.kind, suspended.old_status, suspended.reason) == ("suspended", "valid", "居住地址变更，待核实")
    assert (reinstated.kind, reinstated.permit_no, reinstated.credential_id) == (
        "reinstated",
        permit.permit_no,
        permit.id,
    )
    assert suspended.phone == PHONE and suspended.application_id == permit.application_id

    clock.set(beijing(2027, 2, 10))
    endorsed = request_endorsement(rt.collaborators, permit.permit_no, signed_in(clerk, rt.clock), "window").credential
    assert [(n.kind, n.application_kind) for n in plugin.take()] == [
        ("superseded", "first_issue"),
        ("approved", "endorsement"),
        ("issued", "endorsement"),
    ]

    new = replace_permit(rt.collaborators, endorsed.permit_no, signed_in(clerk, rt.clock), "window", reason="lost")
    kinds = plugin.take()
    assert [n.kind for n in kinds] == ["replaced", "replaced", "approved", "issued"]  # both live versions
    assert kinds[-1].permit_no == new.permit_no != permit.permit_no

    cancel_permit(rt.collaborators, new.permit_no, signed_in(reviewer, rt.clock), reason="local_hukou")
    [cancelled] = plugin.take()
    assert cancelled.kind == "cancelled" and cancelled.permit_no == new.permit_no


def test_the_sweep_suspends_and_reminds(heard, clock):
    rt, plugin = heard
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    set_reminders(
        rt.collaborators, permit.permit_no, make_officer(rt, "clerk"), ["endorsement_due", "after_suspension"]
    )
    plugin.take()
    clock.set(beijing(2027, 2, 3, 22, 0))  # the window is open; 22:00 is night in Beijing
    report = run_sweep(rt.collaborators)
    [due] = plugin.take()
    assert (due.kind, due.reminder, due.window) == (
        "reminder",
        "endorsement_due",
        (dt.date(2027, 2, 1), dt.date(2027, 2, 28)),
    )
    assert due.not_before == beijing(2027, 2, 4, 8, 0) and due.phone == PHONE
    assert report.reminders == 1  # counted because a plugin (the SMS gateway) queued it

    clock.set(permit.expires_at + dt.timedelta(minutes=1))
    run_sweep(rt.collaborators)
    [suspended] = plugin.take()
    assert (suspended.kind, suspended.old_status, suspended.permit_no) == ("suspended", "valid", permit.permit_no)
    clock.set(permit.expires_at + dt.timedelta(days=1, hours=2))
    run_sweep(rt.collaborators)
    assert [(n.kind, n.reminder, n.window) for n in plugin.take()] == [("reminder", "after_suspension", None)]


def test_a_login_code(heard):
    rt, plugin = heard
    send_login_code(rt.collaborators, PHONE, ip="192.0.2.1")
    [code] = plugin.take()
    assert code.kind == "login_code" and code.phone == PHONE and len(code.code) == 6 and code.code_id
    assert code.application_id is None


def test_an_unknown_kind_is_refused():
    assert "login_code" in KINDS and "reminder" in KINDS
    with pytest.raises(ValueError, match="unknown notification kind"):
        Notification("promotion", phone=PHONE, occurred_at=None)
