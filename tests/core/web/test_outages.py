"""Outages answered as outages: the database unreachable is a 503 with Retry-After (a Chinese
"系统繁忙，请稍后再试" page for pages), a full disk a 507; never a 500, nothing half-written, and
the next request after the outage is served as usual."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from govcred.core.web import create_app
from govcred.testing import make_runtime, make_settings
from tests.core.web.api_helpers import officer_headers
from tests.core.workflow_helpers import PASSWORD


def _cut_off(postgres, name: str, allowed: bool) -> None:
    postgres.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
    if not allowed:
        postgres.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")


@pytest.mark.postgres
def test_database_unavailable_is_503_with_retry_after_then_served_again(
    postgres, pg_template, data_dir, clock, govcred_plugins
):
    with postgres.throwaway(template=pg_template) as url:
        name = url.rsplit("/", 1)[1]
        rt = make_runtime(make_settings(data_dir, url), clock, plugins=govcred_plugins)
        try:
            rt.keystore.ensure_key()
            client = create_app(runtime=rt).test_client()
            headers = officer_headers(client, rt, "reviewer", "rev-outage")
            assert client.get("/api/v1/review/queue", headers=headers).status_code == 200
            _cut_off(postgres, name, allowed=False)

            api = client.get("/api/v1/review/queue", headers=headers)
            assert api.status_code == 503
            assert api.mimetype == "application/problem+json"
            assert api.headers["Retry-After"] == "5"
            assert api.get_json()["code"] == "SERVICE_UNAVAILABLE"
            assert api.get_json()["title"] == "系统繁忙，请稍后再试"

            for cookie in ("govcred_session", "__Host-session"):  # http or https issuer
                client.set_cookie(cookie, "a-session-id-the-database-would-know")
            page = client.get("/officer/")
            assert page.status_code == 503
            assert page.mimetype == "text/html"
            assert page.headers["Retry-After"] == "5"
            assert "系统繁忙，请稍后再试" in page.get_data(as_text=True)
            for cookie in ("govcred_session", "__Host-session"):
                client.delete_cookie(cookie)

            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
            assert {c["name"]: c["ok"] for c in ready.get_json()["checks"]}["database"] is False
            assert client.get("/healthz").status_code == 200  # the process itself is fine

            _cut_off(postgres, name, allowed=True)
            assert client.get("/api/v1/review/queue", headers=headers).status_code == 200
            assert client.get("/readyz").status_code == 200
        finally:
            _cut_off(postgres, name, allowed=True)
            rt.close()


def test_a_full_disk_is_507_and_nothing_is_kept(sqlite_runtime):
    rt = sqlite_runtime
    client = create_app(runtime=rt).test_client()
    officer_headers(client, rt, "clerk", "clerk-disk")  # the account exists; its sign-in writes a token row
    from govcred.core.accounts.totp import exempt

    with rt.uow() as uow:  # password-only sign-ins (a TOTP code is single-use; this loop signs in often)
        exempt(uow, uow.officers.by_username("clerk-disk"), reason="测试：反复登录")
        uow.commit()
    with rt.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(rt.engine, "connect")
    def _no_room(dbapi_conn, _record):  # SQLite's own "database or disk is full" (SQLITE_FULL)
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    rt.engine.dispose()

    def token_rows() -> int:
        with rt.engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar()

    for _ in range(200):  # sign in until a write needs a page the database may not take
        before = token_rows()
        answer = client.post("/api/v1/auth/token", json={"username": "clerk-disk", "password": PASSWORD})
        if answer.status_code != 200:
            break
    assert answer.status_code == 507, answer.get_json()
    assert answer.get_json()["code"] == "STORAGE_FULL"
    assert "存储空间已满" in answer.get_json()["title"]
    assert token_rows() == before  # the refused sign-in left no token behind
    event.remove(rt.engine, "connect", _no_room)
    rt.engine.dispose()
    assert client.post("/api/v1/auth/token", json={"username": "clerk-disk", "password": PASSWORD}).status_code == 200
