"""Reminders the holder chose: queued by the sweep once per permit and lapse date, daytime only
(SQLite and PostgreSQL): a permit signed again is not reminded again, an endorsement starts a
new cycle, and the upgrade from per-version keys re-sends nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.accounts.officers import Principal
from govcred.core.clock import BEIJING, next_daytime
from govcred.core.exceptions import NotFound, ValidationError
from govcred.core.migrate import current_heads, script_heads
from govcred.core.orm import outbox
from govcred.core.services.key_reissue import reissue_signed_by
from govcred.core.services.lifecycle import request_endorsement, set_reminders
from govcred.core.services.sweep import run_sweep
from tests.core.permits import beijing, issue_permit


@pytest.mark.parametrize(
    "local, expected",
    [
        ((7, 59), (0, 8, 0)),
        ((8, 0), (0, 8, 0)),
        ((19, 59), (0, 19, 59)),
        ((20, 0), (1, 8, 0)),
        ((23, 30), (1, 8, 0)),
        ((0, 10), (0, 8, 0)),
    ],
)
def test_next_daytime_slot_is_between_08_and_20_beijing(local, expected):
    at = beijing(2027, 2, 1, *local)
    days, hour, minute = expected
    assert next_daytime(at).astimezone(BEIJING) == beijing(2027, 2, 1 + days, hour, minute)


def _reminders(rt):
    with rt.uow(readonly=True) as uow:
        return [
            dict(r)
            for r in uow.session.execute(
                sa.select(outbox.c.event_type, outbox.c.payload, outbox.c.next_attempt_at, outbox.c.channel)
                .where(outbox.c.event_type.like("sms.reminder.%"))
                .order_by(outbox.c.created_at)
            ).mappings()
        ]


def test_chosen_reminders_are_queued_once_and_only_for_the_daytime(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    holder = Principal("resident", permit.owner_id)
    assert set_reminders(
        rt.collaborators, permit.permit_no, holder, ["after_suspension", "endorsement_due", "week_before"]
    ) == ["endorsement_due", "week_before", "after_suspension"]

    clock.set(beijing(2027, 1, 31, 12, 0))  # the window opens tomorrow
    assert run_sweep(rt.collaborators).reminders == 0

    clock.set(beijing(2027, 2, 1, 23, 30))  # opened, but it is night in Beijing
    assert run_sweep(rt.collaborators).reminders == 1
    [due] = _reminders(rt)
    assert due["channel"] == "sms" and due["event_type"] == "sms.reminder.endorsement_due"
    assert due["payload"]["template"] == "endorsement_due"
    assert due["payload"]["params"] == {"permit_no": permit.permit_no, "end": "2027年2月28日"}
    assert "13800138000" not in str(due["payload"])
    assert due["next_attempt_at"].astimezone(BEIJING) == beijing(2027, 2, 2, 8, 0)
    assert run_sweep(rt.collaborators).reminders == 0  # deduplicated per permit and lapse date

    clock.set(beijing(2027, 2, 22, 10, 0))  # a week before the anniversary, in the daytime
    assert run_sweep(rt.collaborators).reminders == 1
    week = _reminders(rt)[-1]
    assert week["event_type"] == "sms.reminder.week_before"
    assert week["next_attempt_at"] == clock.now()

    clock.set(beijing(2027, 3, 2, 0, 30))  # lapsed: suspended, the day-after reminder is not due yet
    report = run_sweep(rt.collaborators)
    assert (report.suspended, report.reminders) == (1, 0)
    clock.set(beijing(2027, 3, 3, 6, 0))
    assert run_sweep(rt.collaborators).reminders == 1
    after = _reminders(rt)[-1]
    assert after["event_type"] == "sms.reminder.after_suspension"
    assert after["payload"] == {
        "template": "permit_suspended",
        "params": {"permit_no": permit.permit_no},
        "_secret": after["payload"]["_secret"],
    }
    assert after["next_attempt_at"].astimezone(BEIJING) == beijing(2027, 3, 3, 8, 0)
    assert run_sweep(rt.collaborators).reminders == 0
    for row in _reminders(rt):
        assert 8 <= row["next_attempt_at"].astimezone(BEIJING).hour < 20


def test_without_a_choice_only_the_window_reminder_is_sent(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    issue_permit(rt)
    clock.set(beijing(2027, 2, 25, 10, 0))
    run_sweep(rt.collaborators)
    clock.set(beijing(2027, 3, 3, 10, 0))
    run_sweep(rt.collaborators)
    assert [r["event_type"] for r in _reminders(rt)] == ["sms.reminder.endorsement_due"]


def test_no_reminders_at_all_when_the_holder_turned_them_off(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    set_reminders(rt.collaborators, permit.permit_no, Principal("resident", permit.owner_id), [])
    clock.set(beijing(2027, 2, 25, 10, 0))
    assert run_sweep(rt.collaborators).reminders == 0


def test_reminder_choice_is_checked_and_scoped(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    with pytest.raises(ValidationError) as invalid:
        set_reminders(
            rt.collaborators,
            permit.permit_no,
            Principal("resident", permit.owner_id),
            ["daily", "endorsement_due", "x"],
        )
    assert [e.field for e in invalid.value.errors] == ["reminders[0]", "reminders[2]"]
    with pytest.raises(NotFound):
        set_reminders(rt.collaborators, permit.permit_no, Principal("resident", "another-holder"), ["week_before"])


def _keys(rt) -> list[str]:
    with rt.uow(readonly=True) as uow:
        return list(
            uow.session.execute(
                sa.select(outbox.c.dedupe_key).where(outbox.c.event_type.like("sms.reminder.%")).order_by(outbox.c.id)
            ).scalars()
        )


def _sign_again(rt, permit):
    """What ``keys revoke --compromised`` does: the key goes, its permits are signed again."""
    rt.keystore.revoke(permit.kid, reason="签名服务器被入侵")
    admin = Principal("officer", "cli:test", "admin", "管理员", factor_at=rt.clock.now())
    report = reissue_signed_by(rt.collaborators, admin, permit.kid)
    assert permit.permit_no in {r["permit_no"] for r in report.reissued}
    with rt.uow(readonly=True) as uow:
        renewed = uow.credentials.versions(permit.permit_no)[0]
    assert (renewed.version, renewed.expires_at) == (permit.version + 1, permit.expires_at)
    return renewed


def test_a_permit_signed_again_is_not_reminded_again(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    set_reminders(
        rt.collaborators, permit.permit_no, Principal("resident", permit.owner_id), ["endorsement_due", "week_before"]
    )
    clock.set(beijing(2027, 2, 3, 10, 0))  # the window is open
    assert run_sweep(rt.collaborators).reminders == 1

    clock.advance(seconds=3600)
    _sign_again(rt, permit)
    clock.advance(seconds=3600)
    assert run_sweep(rt.collaborators).reminders == 0  # version 2 lapses the same day: no second SMS
    clock.set(beijing(2027, 2, 22, 10, 0))  # the week-before reminder is still sent, once
    assert run_sweep(rt.collaborators).reminders == 1
    assert run_sweep(rt.collaborators).reminders == 0
    assert [r["event_type"] for r in _reminders(rt)] == ["sms.reminder.endorsement_due", "sms.reminder.week_before"]


def test_an_endorsement_starts_a_new_reminder_cycle(runtime, clock):
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permit = issue_permit(rt)
    holder = Principal("resident", permit.owner_id)
    clock.set(beijing(2027, 2, 3, 10, 0))
    assert run_sweep(rt.collaborators).reminders == 1

    clock.set(beijing(2027, 2, 10, 10, 0))
    endorsed = request_endorsement(rt.collaborators, permit.permit_no, holder, "online").credential
    assert endorsed.expires_at.astimezone(BEIJING).date().isoformat() == "2028-03-01"
    clock.advance(seconds=3600)
    assert run_sweep(rt.collaborators).reminders == 0  # the new window opens next year

    clock.set(beijing(2028, 2, 1, 10, 0))
    assert run_sweep(rt.collaborators).reminders == 1
    assert run_sweep(rt.collaborators).reminders == 0
    first, second = _reminders(rt)
    assert first["payload"]["params"] == {"permit_no": permit.permit_no, "end": "2027年2月28日"}
    assert second["payload"]["params"] == {"permit_no": permit.permit_no, "end": "2028年2月29日"}


def test_upgrade_from_per_version_keys_sends_nothing_again(runtime, clock, govcred_cli):
    """A populated database taken back to sms_0001 holds the keys the old code wrote (per
    version); upgraded again, the sweep, a re-signed version included, queues nothing."""
    rt = runtime
    clock.set(beijing(2026, 3, 1))
    permits = [issue_permit(rt, owner_phone=f"1390000007{i}") for i in range(3)]
    clock.set(beijing(2027, 2, 3, 10, 0))
    assert run_sweep(rt.collaborators).reminders == 3
    dated = sorted(_keys(rt))
    assert dated == sorted(f"reminder:{p.permit_no}:2027-03-01:endorsement_due" for p in permits)

    down = govcred_cli("db", "downgrade", "sms_0001", "--yes")
    assert down.exit_code == 0, down.output
    assert "sms_0001" in current_heads(rt.engine, rt.pm)
    assert sorted(_keys(rt)) == sorted(f"reminder:{p.permit_no}:1:endorsement_due" for p in permits)

    up = govcred_cli("db", "upgrade")
    assert up.exit_code == 0, up.output
    assert current_heads(rt.engine, rt.pm) == script_heads(rt.engine, rt.pm)
    assert sorted(_keys(rt)) == dated
    clock.advance(seconds=3600)
    assert run_sweep(rt.collaborators).reminders == 0
    _sign_again(rt, permits[0])  # signs all three: they share the key
    assert run_sweep(rt.collaborators).reminders == 0
    assert len(_reminders(rt)) == 3
