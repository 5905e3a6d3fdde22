"""Page sessions at their own boundary: what a session speaks for, and when it ends.

The page tests (tests/core/web/pages/test_page_sessions.py) see the same rules through HTTP;
these pin the edges that a browser journey cannot tell apart (found by ``make mutate``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from govcred.core.accounts import sessions
from tests.core.web.pages.pagekit import add_officer


def start(rt, kind, subject_id, **kw):
    with rt.uow() as uow:
        session = sessions.start(uow, kind, subject_id, rt.clock.now(), **kw)
        uow.commit()
    return session


def load(rt, session_id):
    with rt.uow() as uow:
        session = sessions.load(uow, session_id, rt.clock.now())
        uow.commit()
    return session


def resume(rt, session_id):
    with rt.uow() as uow:
        session = sessions.resume(uow, session_id, rt.clock.now())
        uow.commit()
    return session


def officer_id(rt, username):
    with rt.uow(readonly=True) as uow:
        return uow.officers.by_username(username).id


def test_a_new_session_is_what_it_was_started_as(runtime):
    session = start(runtime, "resident", "resident-1", data={"step": "form"})
    assert (session.kind, session.subject_id, session.data) == ("resident", "resident-1", {"step": "form"})
    assert session.created_at == session.last_seen_at == runtime.clock.now()
    again = load(runtime, session.id)
    assert (again.kind, again.subject_id, again.data) == ("resident", "resident-1", {"step": "form"})


def test_an_unknown_kind_of_session_is_refused(runtime):
    with runtime.uow() as uow, pytest.raises(ValueError, match="unknown session kind"):
        sessions.start(uow, "visitor", "x", runtime.clock.now())


@pytest.mark.parametrize("kind, idle", [("officer", dt.timedelta(minutes=15)), ("resident", dt.timedelta(minutes=30))])
def test_an_idle_session_lives_to_its_limit_and_not_a_second_more(runtime, kind, idle):
    session = start(runtime, kind, f"{kind}-1")
    runtime.clock.advance(seconds=idle.total_seconds())
    assert load(runtime, session.id) is not None  # exactly the limit: still alive, and touched
    runtime.clock.advance(seconds=idle.total_seconds())
    assert load(runtime, session.id) is not None  # the touch restarted the idle clock
    runtime.clock.advance(seconds=idle.total_seconds() + 1)
    assert load(runtime, session.id) is None


def test_a_resumed_officer_session_speaks_for_the_officer_with_their_current_role_and_name(runtime):
    add_officer(runtime, "rev1", "reviewer")
    session = start(runtime, "officer", officer_id(runtime, "rev1"))
    principal = sessions.principal_of(resume(runtime, session.id))
    assert (principal.kind, principal.id, principal.role, principal.name) == (
        "officer",
        officer_id(runtime, "rev1"),
        "reviewer",
        "reviewer-rev1",
    )


def test_a_resident_session_speaks_for_the_resident_alone(runtime):
    session = start(runtime, "resident", "resident-9")
    principal = sessions.principal_of(resume(runtime, session.id))
    assert (principal.kind, principal.id, principal.role) == ("resident", "resident-9", "")


def test_a_revoked_session_is_gone_and_revoking_all_ends_every_session_of_the_subject(runtime):
    one, two, other = (
        start(runtime, "resident", "r-1"),
        start(runtime, "resident", "r-1"),
        start(runtime, "resident", "r-2"),
    )
    with runtime.uow() as uow:
        sessions.revoke(uow, one.id, runtime.clock.now())
        uow.commit()
    assert load(runtime, one.id) is None and load(runtime, two.id) is not None
    with runtime.uow() as uow:
        assert sessions.revoke_all(uow, "resident", "r-1", runtime.clock.now()) == 1  # one was left
        uow.commit()
    assert load(runtime, two.id) is None
    assert load(runtime, other.id) is not None


def test_save_data_keeps_what_the_page_stored_in_the_session(runtime):
    session = start(runtime, "resident", "r-1")
    session.data["draft"] = {"step": 2}
    with runtime.uow() as uow:
        sessions.save_data(uow, session)
        uow.commit()
    assert load(runtime, session.id).data == {"draft": {"step": 2}}
