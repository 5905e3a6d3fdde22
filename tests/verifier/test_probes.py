"""The verifier service's probes and metrics: ``/readyz`` names every check (its database and
tables, the store its workers share, the start-up refresh) and answers 503 with Retry-After
while one fails; ``/metrics`` is off until the operator sets a token, refuses other tokens (and
counts them as failed keys), and shows requests, verifications by outcome and how long each
held key set and status list may still be used."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from govcred.verifier.app import create_app
from govcred.verifier.db import add_client
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import publish, trust_of

TOKEN = "scraper-token-0123456789abcdef"


def verifier(trust, tmp_path, clock, **config):
    app = create_app(
        {"trust": trust, "data_dir": tmp_path / "verifier", "clock": clock, "background_refresh": False, **config}
    )
    return app, app.extensions["verifier"]


def checks(response) -> dict[str, tuple[bool, str]]:
    return {c["name"]: (c["ok"], c["detail"]) for c in response.get_json()["checks"]}


def test_ready_names_every_check(sqlite_runtime, tmp_path):
    app, _state = verifier(trust_of(publish(sqlite_runtime, tmp_path / "trust")), tmp_path, sqlite_runtime.clock)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    assert ready.headers["Cache-Control"] == "no-store"
    assert checks(ready) == {
        "database": (True, ""),
        "shared_store": (True, "database"),
        "trust": (True, "1 issuer(s)"),
    }


def test_not_ready_until_the_start_up_refresh_holds_every_list(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    make_credential(rt)
    entry = publish(rt, tmp_path / "trust")
    missing = dataclasses.replace(entry, status_list_files=(str(tmp_path / "not-there.jwt"),))
    app, state = verifier(trust_of(missing), tmp_path, rt.clock)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
    ok, detail = checks(ready)["trust"]
    assert not ok and detail.startswith("start-up refresh not complete: 1 issuer(s)") and "refresh problem" in detail
    assert checks(ready)["database"] == (True, "")

    state.cache.trust = trust_of(entry)  # the list file is there after all
    state.cache.refresh()
    assert app.test_client().get("/readyz").status_code == 200


def test_a_list_gone_stale_after_the_start_is_shown_but_keeps_the_verifier_in_rotation(sqlite_runtime, tmp_path):
    """One issuer that stops publishing must not take every verifier (and every other
    issuer's answers) out of the load balancer: its permits answer STATUS_UNAVAILABLE."""
    rt = sqlite_runtime
    cred = make_credential(rt)
    app, state = verifier(trust_of(publish(rt, tmp_path / "trust")), tmp_path, rt.clock)
    uri = cred.claims["status"]["status_list"]["uri"]
    rt.clock.set(dt.datetime.fromtimestamp(state.cache.held_list(uri).usable_until() + 1, dt.UTC))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert checks(ready)["trust"] == (True, "1 issuer(s), 1 stale")
    assert state.verifier.verify_text(cred.token).reasons == ["STATUS_UNAVAILABLE"]


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_redis_is_named(sqlite_runtime, tmp_path):
    redis_url = f"redis://127.0.0.1:{_unused_port()}/0"  # nothing listens there
    app, _state = verifier(
        trust_of(publish(sqlite_runtime, tmp_path / "trust")), tmp_path, sqlite_runtime.clock, redis_url=redis_url
    )
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert checks(ready)["shared_store"] == (False, "redis unreachable")
    assert checks(ready)["database"] == (True, "")


@pytest.mark.redis
def test_a_reachable_redis_is_the_shared_store(sqlite_runtime, tmp_path, redis_client):
    from govcred.testing.components import redis_url

    app, _state = verifier(
        trust_of(publish(sqlite_runtime, tmp_path / "trust")), tmp_path, sqlite_runtime.clock, redis_url=redis_url()
    )
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and checks(ready)["shared_store"] == (True, "redis")


def _cut_off(postgres, name: str, allowed: bool) -> None:
    postgres.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
    if not allowed:
        postgres.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")


@pytest.mark.postgres
def test_not_ready_while_the_verifier_database_is_down_then_ready_again(sqlite_runtime, tmp_path, postgres):
    cred = make_credential(sqlite_runtime)
    trust = trust_of(publish(sqlite_runtime, tmp_path / "trust"))
    with postgres.throwaway("govcred_vprobe") as url:
        name = url.rsplit("/", 1)[1]
        app, state = verifier(trust, tmp_path, sqlite_runtime.clock, database_url=url)
        client = app.test_client()
        headers = {
            "Authorization": f"Bearer {add_client(state.engine, '青田县人民医院', now=sqlite_runtime.clock.now())}"
        }
        try:
            assert client.get("/readyz").status_code == 200
            assert client.post("/api/v1/verify", json={"token": cred.token}, headers=headers).get_json()["valid"]
            _cut_off(postgres, name, allowed=False)
            refused = client.post("/api/v1/verify", json={"token": cred.token}, headers=headers)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
            assert refused.mimetype == "application/problem+json" and refused.get_json()["code"] == "LIMITS_UNAVAILABLE"
            unknown = {"Authorization": "Bearer gcv_notcached00000_secret"}  # its row must be read
            refused = client.post("/api/v1/verify", json={"token": cred.token}, headers=unknown)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
            down = client.get("/readyz")
            assert down.status_code == 503 and down.headers["Retry-After"] == "5"
            assert checks(down)["database"] == (False, "unreachable: OperationalError")
            assert checks(down)["shared_store"] == (False, "database unreachable")
            assert checks(down)["trust"][0] is True  # what it holds in memory is not lost
            _cut_off(postgres, name, allowed=True)
            assert client.get("/readyz").status_code == 200
            assert client.post("/api/v1/verify", json={"token": cred.token}, headers=headers).get_json()["valid"]
        finally:
            _cut_off(postgres, name, allowed=True)
            state.engine.dispose()


def test_missing_tables_are_named(sqlite_runtime, tmp_path):
    app, state = verifier(trust_of(publish(sqlite_runtime, tmp_path / "trust")), tmp_path, sqlite_runtime.clock)
    with state.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE verifier_seen_presentations")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert checks(ready)["database"] == (False, "tables missing: verifier_seen_presentations")


# -- /metrics ---------------------------------------------------------------------------------


def scrape(client, token=TOKEN) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def outcome(samples, name: str) -> float:
    return samples.get(("govcred_verifier_verifications_total", (("outcome", name),)), 0.0)


def test_metrics_are_off_until_a_token_is_set(sqlite_runtime, tmp_path):
    app, _state = verifier(trust_of(publish(sqlite_runtime, tmp_path / "trust")), tmp_path, sqlite_runtime.clock)
    off = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert off.status_code == 404 and off.get_json()["code"] == "METRICS_DISABLED"
    assert "GOVCRED_VERIFIER_METRICS_TOKEN" in off.get_json()["title"]


def test_metrics_refuse_other_tokens_and_count_them_as_failed_keys(sqlite_runtime, tmp_path):
    app, state = verifier(
        trust_of(publish(sqlite_runtime, tmp_path / "trust")), tmp_path, sqlite_runtime.clock, metrics_token=TOKEN
    )
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.get_json()["code"] == "METRICS_TOKEN_REQUIRED"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    api = client.post("/api/v1/verify", json={"token": "x"})  # the API's 401 says how too
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    for _ in range(state.limits.policy.failed_keys_per_address):
        wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401 and wrong.get_json()["code"] == "METRICS_TOKEN_INVALID"
    guessing = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert guessing.status_code == 429 and "Retry-After" in guessing.headers  # even the right one, for now


def test_metrics_show_requests_outcomes_and_what_is_held(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    cred = make_credential(rt)
    app, state = verifier(trust_of(publish(rt, tmp_path / "trust")), tmp_path, rt.clock, metrics_token=TOKEN)
    client = app.test_client()
    key = add_client(state.engine, "青田县实验小学", now=rt.clock.now())
    headers = {"Authorization": f"Bearer {key}"}
    before = scrape(client)

    assert client.post("/api/v1/verify", json={"token": cred.token}, headers=headers).get_json()["valid"] is True
    assert client.post("/api/v1/verify", json={"token": cred.token}, headers=headers).get_json()["valid"] is True
    bad = client.post("/api/v1/verify", json={"token": "not-a-token"}, headers=headers).get_json()
    assert bad["reasons"] == ["MALFORMED"]
    after = scrape(client)

    assert outcome(after, "valid") - outcome(before, "valid") == 2
    assert outcome(after, "MALFORMED") - outcome(before, "MALFORMED") == 1
    verify_ok = ("govcred_http_requests_total", (("endpoint", "verify"), ("method", "POST"), ("status", "200")))
    assert after[verify_ok] - before.get(verify_ok, 0.0) == 3
    assert after[("govcred_verifier_ready", ())] == 1.0
    assert after[("govcred_verifier_refresh_problems", ())] == 0.0

    uri = cred.claims["status"]["status_list"]["uri"]
    held = {labels: value for (name, labels), value in after.items() if name == "govcred_verifier_usable_seconds"}
    lists = [dict(labels) for labels in held if dict(labels)["what"] == "status_list"]
    assert any(entry["source"] == uri and entry["issuer"] == rt.settings.issuer for entry in lists)
    keys = next(value for labels, value in held.items() if dict(labels)["what"] == "keys")
    assert 6 * 86400 < keys <= 7 * 86400  # a week from the fetch a moment ago
    list_left = next(value for labels, value in held.items() if dict(labels).get("source") == uri)
    assert list_left == pytest.approx(state.cache.held_list(uri).usable_until() - state.cache.now(), abs=5)
