"""The sign-in use cases at their own boundary (the pages and the API only translate HTTP to
these calls; tests/core/web covers them through HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from govcred.core.accounts import sessions, signin
from govcred.core.exceptions import AuthenticationRequired
from govcred.core.orm import audit_log
from tests.core.web.pages.pagekit import PASSWORD, add_officer, totp_code


def officer_sign_in(rt, username, password=PASSWORD, code="", replaces=None):
    return signin.sign_in_officer_page(rt.collaborators, username, password, code, ip="192.0.2.1", replaces=replaces)


def resumed(rt, session_id):
    with rt.uow() as uow:
        return sessions.resume(uow, session_id, rt.clock.now())


@pytest.mark.parametrize(
    "username, password, step",
    [
        ("rev1", "wrong password 1234", "password"),
        ("nobody", PASSWORD, "password"),  # an unknown account reads exactly like a wrong password
        ("rev1", PASSWORD, "totp"),  # right password, no TOTP code: a reviewer needs one
    ],
)
def test_a_refusal_names_the_step_that_failed(runtime, username, password, step):
    add_officer(runtime, "rev1", "reviewer")
    with pytest.raises(AuthenticationRequired) as refused:
        officer_sign_in(runtime, username, password)
    assert refused.value.details["step"] == step
    if step == "password":
        assert refused.value.message == "用户名或密码错误"


def test_sign_in_rotates_the_session_and_sign_out_ends_it(runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    first = officer_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert first.role == "reviewer" and resumed(runtime, first.session.id) is not None
    runtime.clock.advance(seconds=30)
    second = officer_sign_in(runtime, "rev1", code=totp_code(seed, runtime), replaces=first.session.id)
    assert resumed(runtime, first.session.id) is None  # the id the browser had is worthless now
    current = resumed(runtime, second.session.id)
    assert sessions.principal_of(current).role == "reviewer"
    signin.sign_out_page(runtime.collaborators, second.session.id, sessions.principal_of(current))
    assert resumed(runtime, second.session.id) is None


def test_a_disabled_officer_session_no_longer_resumes(runtime):
    add_officer(runtime, "clerk1", "clerk")  # a clerk an administrator exempted: the password only
    done = officer_sign_in(runtime, "clerk1")
    with runtime.uow() as uow:
        uow.officers.by_username("clerk1").active = False
        uow.commit()
    assert resumed(runtime, done.session.id) is None


def test_recent_sign_in_window_is_ten_minutes_inclusive(runtime):
    add_officer(runtime, "clerk1", "clerk")
    session = officer_sign_in(runtime, "clerk1").session
    start = runtime.clock.now()
    assert sessions.REAUTH_WITHIN == dt.timedelta(minutes=10)
    assert sessions.signed_in_recently(session, start + sessions.REAUTH_WITHIN)
    assert not sessions.signed_in_recently(session, start + sessions.REAUTH_WITHIN + dt.timedelta(seconds=1))
    assert not sessions.signed_in_recently(None, start)


def token_sign_in(rt, username, password=PASSWORD, code="", ip="192.0.2.1"):
    return signin.sign_in_officer_token(rt.collaborators, username, password, code, ip=ip)


def test_a_reviewer_without_a_current_totp_code_gets_no_api_token(runtime):
    """Issue 11 closed the gap this test used to pin: the API's token sign-in asked a reviewer
    for the password alone. Now it asks for the TOTP code exactly as the page log-in does."""
    seed = add_officer(runtime, "rev1", "reviewer")
    for code, expected in (
        ("", "TOTP_INVALID"),
        ("000000", "TOTP_INVALID"),
        (totp_code(seed, runtime, -2), "TOTP_INVALID"),
    ):
        with pytest.raises(AuthenticationRequired) as refused:
            token_sign_in(runtime, "rev1", code=code)
        assert (refused.value.code, refused.value.details["step"]) == (expected, "totp")
    issued = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert issued.role == "reviewer" and issued.token
    assert issued.factor_until == runtime.clock.now() + dt.timedelta(minutes=10)
    with pytest.raises(AuthenticationRequired) as replayed:  # the same code a second time
        token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert replayed.value.code == "TOTP_REPLAYED"


def test_every_role_needs_totp_unless_an_administrator_exempted_the_clerk(runtime):
    clerk_seed = add_officer(runtime, "clerk1", "clerk", with_totp=True)
    with pytest.raises(AuthenticationRequired) as refused:
        token_sign_in(runtime, "clerk1")
    assert refused.value.details["step"] == "totp"
    assert token_sign_in(runtime, "clerk1", code=totp_code(clerk_seed, runtime)).role == "clerk"
    add_officer(runtime, "clerk2", "clerk")  # exempted by name (pagekit), audited
    assert token_sign_in(runtime, "clerk2").role == "clerk"
    with runtime.engine.connect() as conn:
        exempted = conn.execute(
            sa.select(audit_log.c.details).where(audit_log.c.action == "officer.totp_exempted")
        ).scalar_one()
    assert exempted == {"reason": "窗口受理员暂无手机（测试）"}


def test_reviewers_and_admins_cannot_be_exempted(runtime):
    from govcred.core.accounts import totp
    from govcred.core.exceptions import ValidationError

    add_officer(runtime, "rev1", "reviewer")
    with runtime.uow() as uow, pytest.raises(ValidationError) as refused:
        totp.exempt(uow, uow.officers.by_username("rev1"), reason="")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("username", "TOTP_EXEMPTION_NOT_ALLOWED"),
        ("reason", "REASON_REQUIRED"),
    ]


def test_forty_wrong_passwords_on_the_api_then_the_right_one_is_refused(runtime):
    from govcred.core.exceptions import RateLimited

    seed = add_officer(runtime, "rev1", "reviewer")
    refusals = []
    for i in range(40):
        try:
            token_sign_in(runtime, "rev1", f"wrong password {i:04d}")
        except (AuthenticationRequired, RateLimited) as exc:
            refusals.append(type(exc).__name__)
    assert refusals == ["AuthenticationRequired"] * 10 + ["RateLimited"] * 30
    with pytest.raises(RateLimited) as throttled:
        token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert throttled.value.code == "LOGIN_THROTTLED" and throttled.value.details["retry_after"] == 900
    runtime.clock.advance(minutes=15, seconds=1)  # the window slides: no permanent lock-out
    assert token_sign_in(runtime, "rev1", code=totp_code(seed, runtime)).role == "reviewer"


def test_page_and_api_failures_count_together(runtime):
    from govcred.core.exceptions import RateLimited

    seed = add_officer(runtime, "rev1", "reviewer")
    for i in range(5):
        with pytest.raises(AuthenticationRequired):
            officer_sign_in(runtime, "rev1", f"wrong password {i:04d}")
        with pytest.raises(AuthenticationRequired):
            token_sign_in(runtime, "rev1", f"wrong password {i:04d}")
    with pytest.raises(RateLimited):
        officer_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    with pytest.raises(RateLimited):
        token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))


def test_one_address_guessing_many_accounts_is_throttled_on_the_api(runtime):
    from govcred.core.exceptions import RateLimited

    seed = add_officer(runtime, "rev1", "reviewer")
    for i in range(30):
        with pytest.raises(AuthenticationRequired):
            token_sign_in(runtime, f"guess{i}", ip="198.51.100.7")
    with pytest.raises(RateLimited):
        token_sign_in(runtime, "rev1", code=totp_code(seed, runtime), ip="198.51.100.7")
    assert token_sign_in(runtime, "rev1", code=totp_code(seed, runtime), ip="192.0.2.9").role == "reviewer"


def bearer(rt, token):
    return signin.principal_for_bearer(rt.collaborators, token)


def test_a_token_idles_out_and_ends_at_its_absolute_lifetime(runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    issued = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert issued.expires_at == runtime.clock.now() + dt.timedelta(hours=8)
    for _ in range(40):  # used every 14 minutes: alive for as long as it is used ...
        runtime.clock.advance(minutes=14)
        if runtime.clock.now() >= issued.expires_at:
            break
        assert bearer(runtime, issued.token).role == "reviewer"
    with pytest.raises(AuthenticationRequired) as ended:  # ... but never past its lifetime
        bearer(runtime, issued.token)
    assert ended.value.code == "TOKEN_INVALID"
    runtime.clock.advance(seconds=30)
    again = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    runtime.clock.advance(minutes=15)
    assert bearer(runtime, again.token).id  # exactly the idle limit: still alive
    runtime.clock.advance(minutes=15, seconds=1)
    with pytest.raises(AuthenticationRequired) as idle:
        bearer(runtime, again.token)
    assert idle.value.code == "TOKEN_IDLE"


def test_the_token_lifetimes_come_from_the_settings(runtime):
    import dataclasses

    from govcred.core.services.collaborators import Collaborators

    seed = add_officer(runtime, "rev1", "reviewer")
    settings = runtime.settings.with_overrides(officer_token_idle_minutes=5, officer_token_hours=2)
    deps = Collaborators(**{f.name: getattr(runtime.collaborators, f.name) for f in dataclasses.fields(Collaborators)})
    deps = dataclasses.replace(deps, settings=settings)
    issued = signin.sign_in_officer_token(deps, "rev1", PASSWORD, totp_code(seed, runtime), ip="192.0.2.1")
    assert issued.expires_at == runtime.clock.now() + dt.timedelta(hours=2)
    runtime.clock.advance(minutes=5, seconds=1)
    with pytest.raises(AuthenticationRequired) as idle:
        signin.principal_for_bearer(deps, issued.token)
    assert idle.value.code == "TOKEN_IDLE"


def test_a_token_remembers_its_factor_and_totp_refreshes_it(runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    signed_in_at = runtime.clock.now()
    issued = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    runtime.clock.advance(minutes=11)
    assert bearer(runtime, issued.token).factor_at == signed_in_at
    with pytest.raises(AuthenticationRequired) as refused:
        signin.refresh_token_factor(runtime.collaborators, issued.token, totp_code="123", ip="192.0.2.1")
    assert (refused.value.code, refused.value.details["step"]) == ("TOTP_INVALID", "totp")
    refreshed = signin.refresh_token_factor(
        runtime.collaborators, issued.token, totp_code=totp_code(seed, runtime), ip="192.0.2.1"
    )
    assert refreshed.factor_until == runtime.clock.now() + dt.timedelta(minutes=10)
    assert refreshed.expires_at == issued.expires_at  # the lifetime does not grow
    assert bearer(runtime, issued.token).factor_at == runtime.clock.now()


def test_logout_everywhere_ends_page_sessions_and_tokens_at_once(runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    page = officer_sign_in(runtime, "rev1", code=totp_code(seed, runtime)).session
    runtime.clock.advance(seconds=30)
    issued = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert signin.sign_out_everywhere(runtime.collaborators, "rev1") == (1, 1)
    assert resumed(runtime, page.id) is None
    with pytest.raises(AuthenticationRequired):
        bearer(runtime, issued.token)
    runtime.clock.advance(seconds=30)  # the account itself still works
    assert token_sign_in(runtime, "rev1", code=totp_code(seed, runtime)).token


def test_a_disabled_officer_loses_sessions_and_tokens_and_never_signs_in_again(runtime):
    from govcred.core.exceptions import NotFound

    seed = add_officer(runtime, "rev1", "reviewer")
    page = officer_sign_in(runtime, "rev1", code=totp_code(seed, runtime)).session
    runtime.clock.advance(seconds=30)
    issued = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert signin.disable_officer(runtime.collaborators, "rev1") == (1, 1)
    assert resumed(runtime, page.id) is None
    with pytest.raises(AuthenticationRequired):
        bearer(runtime, issued.token)
    runtime.clock.advance(seconds=30)
    with pytest.raises(AuthenticationRequired) as refused:
        token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert refused.value.code == "LOGIN_FAILED"
    with pytest.raises(NotFound):
        signin.disable_officer(runtime.collaborators, "nobody")


def token_audit(rt) -> list[tuple]:
    """The audit entries of API token sign-ins, oldest first."""
    with rt.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                audit_log.c.actor,
                audit_log.c.role,
                audit_log.c.object_type,
                audit_log.c.object_id,
                audit_log.c.outcome,
                audit_log.c.details,
            )
            .where(audit_log.c.action == signin.OFFICER_TOKEN)
            .order_by(audit_log.c.seq)
        )
        return [tuple(row) for row in rows]


def test_an_api_token_sign_in_is_audited_with_who_and_how_it_went(runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    with runtime.uow(readonly=True) as uow:
        rev1 = uow.officers.by_username("rev1").id
    for username, password in (("nobody", PASSWORD), ("rev1", "wrong password 1234")):
        with pytest.raises(AuthenticationRequired) as refused:
            token_sign_in(runtime, username, password)
        assert (refused.value.code, refused.value.message, refused.value.details["step"]) == (
            "LOGIN_FAILED",
            "用户名或密码错误",
            "password",
        )
    issued = token_sign_in(runtime, "rev1", code=totp_code(seed, runtime))
    assert issued.role == "reviewer" and issued.expires_at == runtime.clock.now() + dt.timedelta(hours=8)
    failed = {"factor": "password", "ip": "192.0.2.1", "code": "LOGIN_FAILED"}
    assert token_audit(runtime) == [
        ("anonymous", "", "officer", "username:nobody", "failure", {"username": "nobody", **failed}),
        (f"officer:{rev1}", "reviewer", "officer", rev1, "failure", {"username": "rev1", **failed}),
        (
            f"officer:{rev1}",
            "reviewer",
            "officer",
            rev1,
            "success",
            {"username": "rev1", "factor": "password+totp", "ip": "192.0.2.1"},
        ),
    ]


def test_the_audited_username_is_cut_at_64_characters(runtime):
    with pytest.raises(AuthenticationRequired):
        token_sign_in(runtime, "x" * 100, PASSWORD)
    assert token_audit(runtime)[-1][-1]["username"] == "x" * 64
