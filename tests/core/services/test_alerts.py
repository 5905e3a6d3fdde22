"""The officers' morning alert lists exactly what is due today and what is overdue, once a
working day from 08:00 (make-up working days included), and escalates each application that
passed its deadline once to each administrator (FixedClock)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from govcred.core.exceptions import ValidationError
from govcred.core.notifications import application_ref
from govcred.core.orm import outbox
from govcred.core.services.alerts import send_alerts, set_officer_phone
from tests.core.permits import make_officer
from tests.core.report_fixture import _application, _decide, bj

MONDAY = bj(10, 12, 9)  # 2026-10-12, a working day; 10-10 (Sat) was a make-up working day


@pytest.fixture
def cases(runtime, clock):
    reviewer = make_officer(runtime, "reviewer")
    with runtime.uow() as uow:
        apps = {
            "T": _application(runtime, uow, "online", bj(9, 30, 9)),  # due 10-09: overdue
            "P": _application(runtime, uow, "online", bj(10, 8, 9)),  # due 10-10 (make-up day): overdue
            "Q": _application(runtime, uow, "window", bj(10, 9, 9)),  # due 10-12: today
            "R": _application(runtime, uow, "online", bj(10, 12, 8, 30)),  # due 10-14
            "S": _application(runtime, uow, "online", bj(10, 8, 10)),  # overdue, but decided
        }
        _decide(uow, apps["S"], reviewer.id, True, bj(10, 9, 15))
        uow.commit()
    ids = {k: a.id for k, a in apps.items()}
    for role, name, phone in (
        ("reviewer", "reviewer-a", "13900000001"),
        ("admin", "chief", "13900000002"),
        ("clerk", "window-clerk", "13900000003"),
        ("reviewer", "reviewer-no-phone", None),
    ):
        from govcred.core.accounts.officers import create_officer

        with runtime.uow() as uow:
            create_officer(
                uow, username=name, display_name=name, role=role, password="a long test password 1", now=clock.now()
            )
            uow.commit()
        if phone:
            set_officer_phone(runtime.collaborators, name, phone, actor="test")
    clock.set(MONDAY)
    return ids


def _rows(runtime, event: str) -> list[dict]:
    with runtime.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(outbox.c.aggregate_id, outbox.c.payload, outbox.c.dedupe_key)
                .where(outbox.c.event_type == event)
                .order_by(outbox.c.aggregate_id, outbox.c.dedupe_key)
            ).mappings()
        ]


def test_the_morning_digest_lists_exactly_what_is_due_and_overdue(runtime, cases):
    run = send_alerts(runtime.collaborators)
    ref = {k: application_ref(v) for k, v in cases.items()}
    assert run.digest_sent and run.date == dt.date(2026, 10, 12)
    assert run.overdue == [ref["T"], ref["P"]]  # earliest deadline first
    assert run.due_today == [ref["Q"]]
    assert run.digests_queued == 2 and run.escalations_queued == 2  # reviewer-a and chief; T and P to chief

    digests = _rows(runtime, "sms.officer_digest")
    assert len(digests) == 2
    assert {d["payload"]["template"] for d in digests} == {"officer_digest"}
    params = digests[0]["payload"]["params"]
    # as many references as the 35-character template variable holds, overdue first
    assert params == {"due": "1", "overdue": "2", "refs": f"（{ref['T']}、{ref['P']}等）"}
    assert all("1390000000" not in str(d["payload"]) for d in digests)  # the phone travels encrypted
    escalations = _rows(runtime, "sms.deadline_passed")
    assert sorted(e["payload"]["params"]["ref"] for e in escalations) == sorted([ref["T"], ref["P"]])

    again = send_alerts(runtime.collaborators)  # a second process or run the same morning
    assert again.digests_queued == 0 and again.escalations_queued == 0
    assert len(_rows(runtime, "sms.officer_digest")) == 2


def test_no_digest_before_eight_or_on_a_rest_day_but_on_a_make_up_day(runtime, cases, clock):
    clock.set(bj(10, 12, 7, 59))
    assert not send_alerts(runtime.collaborators).digest_sent
    clock.set(bj(10, 11, 9))  # Sunday
    assert not send_alerts(runtime.collaborators).digest_sent
    clock.set(bj(10, 10, 9))  # Saturday, a make-up working day
    run = send_alerts(runtime.collaborators)
    assert run.digest_sent and run.digests_queued == 2
    assert _rows(runtime, "sms.officer_digest")[0]["dedupe_key"].endswith("2026-10-10")


def test_an_officer_phone_is_checked(runtime, cases):
    with pytest.raises(ValidationError):
        set_officer_phone(runtime.collaborators, "chief", "12345", actor="test")


def test_a_bad_phone_for_an_unknown_officer_names_both(runtime, cases):
    """It named the phone only; fixed, the next try then said the officer does not exist."""
    with pytest.raises(ValidationError) as refused:
        set_officer_phone(runtime.collaborators, "nosuch", "12345", actor="test")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("phone", "PHONE_INVALID"),
        ("username", "OFFICER_NOT_FOUND"),
    ]


def test_the_command_line_runs_it(runtime, cases, govcred_cli):
    import json

    out = json.loads(govcred_cli("alerts", "send", "--json").output)
    assert out["digest"] is True and out["digests_queued"] == 2 and len(out["overdue"]) == 2
    assert govcred_cli("officer", "contact", "chief", "--phone", "13900000009").exit_code == 0
