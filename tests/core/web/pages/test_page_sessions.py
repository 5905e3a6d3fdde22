"""Officer log-in with TOTP, server-side sessions and CSRF (security checklist W-01, W-03, W-04)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from govcred.core.orm import audit_log, officers, web_sessions
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import PASSWORD, add_officer, csrf_of, https_client, officer_login, totp_code


@pytest.fixture
def db_runtime(runtime):
    """Sessions, TOTP steps and throttling are database work: these run on SQLite and PostgreSQL."""
    return runtime


@pytest.fixture
def app(db_runtime):
    return create_app(runtime=db_runtime)


@pytest.fixture
def client(app):
    return https_client(app)


@pytest.fixture
def reviewer_seed(db_runtime):
    return add_officer(db_runtime, "rev1", "reviewer")


def session_cookie(client):
    return client.get_cookie("__Host-session")


def test_reviewer_logs_in_with_password_and_totp(client, db_runtime, reviewer_seed):
    response = officer_login(client, db_runtime, "rev1", reviewer_seed)
    assert response.status_code == 302 and response.headers["Location"] == "/officer/"
    queue = client.get("/officer/")
    assert queue.status_code == 200 and "审核队列" in queue.get_data(as_text=True)
    with db_runtime.uow(readonly=True) as uow:
        factor = uow.session.execute(
            sa.select(audit_log.c.details).where(
                audit_log.c.action == "auth.page_login", audit_log.c.outcome == "success"
            )
        ).scalar_one()
    assert factor == {"factor": "password+totp", "ip": "127.0.0.1"}


def test_reviewer_without_code_is_refused(client, db_runtime, reviewer_seed):
    response = officer_login(client, db_runtime, "rev1", None)
    assert response.status_code == 401
    assert "动态验证码" in response.get_data(as_text=True)
    assert session_cookie(client) is None


def test_same_totp_code_is_accepted_once(app, db_runtime, reviewer_seed):
    code = totp_code(reviewer_seed, db_runtime)
    first, second = https_client(app), https_client(app)
    assert officer_login(first, db_runtime, "rev1", None, code=code).status_code == 302
    replay = officer_login(second, db_runtime, "rev1", None, code=code)
    assert replay.status_code == 401 and "已使用过" in replay.get_data(as_text=True)
    # the previous step (inside the drift window) is older than the one used: refused too
    older = officer_login(second, db_runtime, "rev1", None, code=totp_code(reviewer_seed, db_runtime, -1))
    assert older.status_code == 401
    db_runtime.clock.advance(seconds=30)
    assert officer_login(second, db_runtime, "rev1", reviewer_seed).status_code == 302


def test_code_two_steps_old_is_refused(client, db_runtime, reviewer_seed):
    stale = totp_code(reviewer_seed, db_runtime, -2)
    assert officer_login(client, db_runtime, "rev1", None, code=stale).status_code == 401


def test_ten_failures_throttle_the_account_and_are_audited(client, db_runtime, reviewer_seed):
    for _ in range(10):
        assert officer_login(client, db_runtime, "rev1", None, code="000000").status_code == 401
    throttled = officer_login(client, db_runtime, "rev1", reviewer_seed)
    assert throttled.status_code == 429 and "15 分钟" in throttled.get_data(as_text=True)
    with db_runtime.uow(readonly=True) as uow:
        events = uow.session.execute(
            sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.action == "auth.page_login_throttled")
        ).scalar_one()
    assert events == 1
    db_runtime.clock.advance(minutes=16)  # the window slides: no permanent lock-out
    assert officer_login(client, db_runtime, "rev1", reviewer_seed).status_code == 302


def test_many_failures_from_one_address_throttle_it_for_every_account(app, db_runtime, reviewer_seed):
    from govcred.core.accounts.throttle import MAX_FAILURES_PER_IP

    attacker = https_client(app)
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for i in range(MAX_FAILURES_PER_IP):  # a different account each time: no account reaches its own limit
        assert officer_login(attacker, db_runtime, f"guess{i}", None, code="000000").status_code == 401
    assert officer_login(attacker, db_runtime, "rev1", reviewer_seed).status_code == 429
    colleague = https_client(app)  # another address is not affected
    assert officer_login(colleague, db_runtime, "rev1", reviewer_seed).status_code == 302


def test_totp_seed_is_ciphertext_in_the_database(db_runtime, reviewer_seed):
    from govcred.core.orm import metadata

    with db_runtime.engine.connect() as conn:
        raw = conn.execute(sa.select(officers.c.totp_secret_enc)).scalar_one()
        dump = "\n".join(repr(row) for table in metadata.sorted_tables for row in conn.execute(sa.select(table)))
    assert reviewer_seed.encode() not in raw
    assert reviewer_seed not in dump and reviewer_seed.encode() not in dump.encode()
    assert not re.search(r"'[A-Z2-7]{32}'", dump)


def test_cookie_flags_and_rotation_on_login(client, db_runtime, reviewer_seed):
    client.get("/officer/login")
    assert session_cookie(client) is None  # no session before log-in, only the CSRF binding
    anon = client.get_cookie("__Host-csrf")
    assert anon is not None and anon.http_only and anon.secure
    response = officer_login(client, db_runtime, "rev1", reviewer_seed)
    header = response.headers["Set-Cookie"]
    assert header.startswith("__Host-session=")
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Domain" not in header
    first = session_cookie(client).value
    db_runtime.clock.advance(seconds=30)
    officer_login(client, db_runtime, "rev1", reviewer_seed)
    second = session_cookie(client).value
    assert first != second
    with db_runtime.uow(readonly=True) as uow:
        rows = uow.session.execute(sa.select(web_sessions)).mappings().all()
    assert len(rows) == 2 and sum(r["revoked_at"] is None for r in rows) == 1  # the old id was revoked
    assert all(first not in r["id_hash"] and second not in r["id_hash"] for r in rows)  # only hashes stored


def test_http_issuer_uses_plain_cookie_name(tmp_path, sqlite_url):
    from govcred.core.clock import FixedClock
    from govcred.testing import T0, make_runtime, make_settings

    rt = make_runtime(make_settings(tmp_path, sqlite_url, issuer="http://127.0.0.1:8000"), FixedClock(T0))
    rt.keystore.ensure_key()
    add_officer(rt, "clerk1", "clerk")
    client = create_app(runtime=rt).test_client()
    response = officer_login(client, rt, "clerk1", None)
    assert response.headers["Set-Cookie"].startswith("govcred_session=")
    assert "Secure" not in response.headers["Set-Cookie"]
    rt.close()


def test_logout_revokes_the_session_for_real(client, db_runtime, reviewer_seed):
    officer_login(client, db_runtime, "rev1", reviewer_seed)
    stolen = session_cookie(client).value
    page = client.get("/officer/")
    assert client.post("/officer/logout", data={"csrf_token": csrf_of(page.data)}).status_code == 302
    client.set_cookie("__Host-session", stolen, secure=True, httponly=True, samesite="Lax")
    replay = client.get("/officer/")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/officer/login")


def test_idle_timeout(client, db_runtime, reviewer_seed):
    officer_login(client, db_runtime, "rev1", reviewer_seed)
    db_runtime.clock.advance(minutes=14, seconds=59)
    assert client.get("/officer/").status_code == 200
    db_runtime.clock.advance(minutes=15, seconds=1)
    assert _redirected_to_login(client.get("/officer/"))


def test_a_busy_session_still_ends_8_hours_after_log_in(client, db_runtime, reviewer_seed):
    officer_login(client, db_runtime, "rev1", reviewer_seed)
    for _ in range(47):  # a click every 10 minutes: never idle, 7 h 50 min
        db_runtime.clock.advance(minutes=10)
        assert client.get("/officer/").status_code == 200
    db_runtime.clock.advance(minutes=9, seconds=59)
    assert client.get("/officer/").status_code == 200  # 7:59:59 after log-in
    db_runtime.clock.advance(seconds=1)
    assert _redirected_to_login(client.get("/officer/"))  # 8:00:00


def _redirected_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/officer/login")


def test_disabled_officer_loses_the_session(client, db_runtime, reviewer_seed):
    officer_login(client, db_runtime, "rev1", reviewer_seed)
    with db_runtime.uow() as uow:
        uow.session.execute(sa.update(officers).values(active=False))
        uow.commit()
    assert client.get("/officer/").status_code == 302


def test_wrong_role_gets_403_page(client, db_runtime):
    add_officer(db_runtime, "clerk1", "clerk")
    assert officer_login(client, db_runtime, "clerk1", None).headers["Location"] == "/officer/intake"
    denied = client.get("/officer/")
    assert denied.status_code == 403 and "无权" in denied.get_data(as_text=True)


def test_csrf_missing_token_and_foreign_origin(client, db_runtime, reviewer_seed):
    client.get("/officer/login")
    no_token = client.post("/officer/login", data={"username": "rev1", "password": "x"})
    assert no_token.status_code == 400
    token = csrf_of(client.get("/officer/login").data)
    foreign = client.post(
        "/officer/login",
        data={"csrf_token": token, "username": "rev1", "password": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    cross = client.post(
        "/officer/login",
        data={"csrf_token": token, "username": "rev1", "password": "x"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    forged = client.post("/officer/login", data={"csrf_token": "0" * 64, "username": "rev1", "password": "x"})
    assert forged.status_code == 400


def test_session_cookie_alone_does_not_authorise_api_writes(client, db_runtime):
    from tests.core.web.pages.pagekit import PASSWORD  # noqa: F401  (same officer set-up as the pages)

    add_officer(db_runtime, "clerk1", "clerk")
    officer_login(client, db_runtime, "clerk1", None)
    token = csrf_of(client.get("/officer/intake").data)
    # a state change through the API with only the cookie: the API sees nobody
    blind = client.delete("/api/v1/auth/token")
    assert blind.status_code == 401
    # the page's own scripts send the token in a header; then the session counts
    with_token = client.get("/api/v1/openapi.json", headers={"X-CSRF-Token": token})
    assert with_token.status_code == 200


def test_open_redirect_after_login_is_refused(client, db_runtime, reviewer_seed):
    page = client.get("/officer/login?next=//evil.example/x")
    data = {
        "csrf_token": csrf_of(page.data),
        "username": "rev1",
        "password": "a long enough passphrase 42",
        "totp": totp_code(reviewer_seed, db_runtime),
        "next": "//evil.example/x",
    }
    assert client.post("/officer/login", data=data).headers["Location"] == "/officer/"


def test_officer_totp_cli_enrols_and_prints_uri_once(tmp_path):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli
    from govcred.testing import TEST_ENV

    data = tmp_path / "var"
    cli = build_cli()

    def run(*args):
        return CliRunner(env=TEST_ENV).invoke(cli, ["--data-dir", str(data), *args], obj=AppContext(str(data)))

    assert run("init").exit_code == 0
    logins = (data / "secrets" / "demo-logins.txt").read_text(encoding="utf-8").splitlines()
    by_role = {line.split("\t")[0]: line.split("\t") for line in logins}
    # every demo officer signs in with TOTP, the clerk too
    assert all(by_role[role][3].startswith("totp-seed=") for role in ("clerk", "reviewer", "admin"))
    result = run("officer", "totp", "clerk")
    assert result.exit_code == 0, result.output
    assert result.output.count("otpauth://totp/") == 1 and "issuer=" in result.output
    missing = run("officer", "totp", "nobody")
    assert missing.exit_code != 0 and "nobody" in missing.output


def test_admin_ends_every_session_of_an_officer(app, db_runtime, reviewer_seed):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli

    laptop, phone = https_client(app), https_client(app)
    officer_login(laptop, db_runtime, "rev1", reviewer_seed)
    db_runtime.clock.advance(seconds=30)
    officer_login(phone, db_runtime, "rev1", reviewer_seed)
    db_runtime.clock.advance(seconds=30)
    api = app.test_client()
    body = {"username": "rev1", "password": PASSWORD, "totp": totp_code(reviewer_seed, db_runtime)}
    bearer = {"Authorization": "Bearer " + api.post("/api/v1/auth/token", json=body).get_json()["access_token"]}
    assert laptop.get("/officer/").status_code == 200 and phone.get("/officer/").status_code == 200
    assert api.get("/api/v1/review/queue", headers=bearer).status_code == 200
    context = AppContext(str(db_runtime.settings.data_dir))
    context.__dict__["runtime"] = db_runtime  # the CLI acts on this very database
    result = CliRunner().invoke(build_cli(), ["officer", "logout", "rev1"], obj=context)
    assert result.exit_code == 0, result.output
    assert "已结束 2 个会话、1 个令牌" in result.output
    # the page sessions AND the bearer token end at once
    assert laptop.get("/officer/").status_code == 302 and phone.get("/officer/").status_code == 302
    assert api.get("/api/v1/review/queue", headers=bearer).get_json()["code"] == "TOKEN_INVALID"


def test_admin_disables_an_officer_everywhere(app, db_runtime, reviewer_seed):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli

    laptop = https_client(app)
    officer_login(laptop, db_runtime, "rev1", reviewer_seed)
    db_runtime.clock.advance(seconds=30)
    api = app.test_client()
    body = {"username": "rev1", "password": PASSWORD, "totp": totp_code(reviewer_seed, db_runtime)}
    bearer = {"Authorization": "Bearer " + api.post("/api/v1/auth/token", json=body).get_json()["access_token"]}
    context = AppContext(str(db_runtime.settings.data_dir))
    context.__dict__["runtime"] = db_runtime
    result = CliRunner().invoke(build_cli(), ["officer", "disable", "rev1"], obj=context)
    assert result.exit_code == 0, result.output
    assert "已停用 rev1，结束 1 个会话、1 个令牌" in result.output
    assert laptop.get("/officer/").status_code == 302
    assert api.get("/api/v1/review/queue", headers=bearer).status_code == 401
    db_runtime.clock.advance(seconds=30)
    assert officer_login(https_client(app), db_runtime, "rev1", reviewer_seed).status_code == 401
    body["totp"] = totp_code(reviewer_seed, db_runtime)
    assert api.post("/api/v1/auth/token", json=body).status_code == 401
    missing = CliRunner().invoke(build_cli(), ["officer", "disable", "nobody"], obj=context)
    assert missing.exit_code != 0 and "nobody" in missing.output


def test_an_administrator_exempts_a_named_clerk_from_totp(app, db_runtime):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli

    add_officer(db_runtime, "clerk9", "clerk", with_totp=True)
    add_officer(db_runtime, "rev9", "reviewer")
    assert officer_login(https_client(app), db_runtime, "clerk9", None).status_code == 401  # TOTP needed
    context = AppContext(str(db_runtime.settings.data_dir))
    context.__dict__["runtime"] = db_runtime
    cli = build_cli()
    no_reason = CliRunner().invoke(cli, ["officer", "totp", "clerk9", "--exempt"], obj=context)
    assert no_reason.exit_code != 0
    reviewer = CliRunner().invoke(cli, ["officer", "totp", "rev9", "--exempt", "--reason", "无手机"], obj=context)
    assert reviewer.exit_code != 0
    done = CliRunner().invoke(cli, ["officer", "totp", "clerk9", "--exempt", "--reason", "窗口无手机"], obj=context)
    assert done.exit_code == 0, done.output
    assert officer_login(https_client(app), db_runtime, "clerk9", None).status_code == 302


def test_a_next_with_cr_lf_is_a_400_naming_the_field(app, runtime):
    from tests.core.web.pages.pagekit import PASSWORD, add_officer, csrf_of, totp_code

    seed = add_officer(runtime, "crlf-reviewer", "reviewer")
    client = app.test_client()
    page = client.get("/officer/login")
    bad = client.post(
        "/officer/login",
        data={
            "csrf_token": csrf_of(page.data),
            "username": "crlf-reviewer",
            "password": PASSWORD,
            "totp": totp_code(seed, runtime),
            "next": "/officer/\r\nSet-Cookie: evil=1",
        },
    )
    assert bad.status_code == 400
    assert "evil" not in bad.headers.get("Set-Cookie", "") and "Location" not in bad.headers


def test_safe_next_names_the_field():
    from govcred.core.exceptions import MalformedInput
    from govcred.core.web.pages.views import safe_next

    with pytest.raises(MalformedInput) as refused:
        safe_next("/a\nb", "/home")
    assert refused.value.http_status == 400 and [e.field for e in refused.value.errors] == ["next"]
    assert safe_next("//evil.example", "/home") == "/home" and safe_next("/ok?x=1", "/home") == "/ok?x=1"
