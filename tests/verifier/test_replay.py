"""A presentation is used once in the whole verifier service: the replay cache (Redis, or the
verifier database) is shared by every process, exact when many threads race on one jti, and
a second use answers PRESENTATION_REPLAYED whichever process sees it."""

from __future__ import annotations

import threading

import pytest

from govcred.core.presentation import issue_presentation
from govcred.verifier.app import create_app
from govcred.verifier.db import add_client
from govcred.verifier.replay import replay_cache_for
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import publish, trust_of
from tests.verifier.shared_stores import BACKENDS, shared_store

NOW = 1_800_000_000.0


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with shared_store(request, tmp_path) as pair:
        yield pair


def test_first_use_is_once_across_processes_and_racing_threads(store):
    engine, redis_url = store
    caches = [replay_cache_for(engine, redis_url) for _ in range(4)]  # one per "process"
    assert caches[0].first_use("https://qt.example.gov.cn", "jti-1", until=NOW + 90, now=NOW)
    assert not caches[1].first_use("https://qt.example.gov.cn", "jti-1", until=NOW + 90, now=NOW)
    assert caches[1].first_use("https://ls.example.gov.cn", "jti-1", until=NOW + 90, now=NOW)  # other issuer

    results: list[bool] = []
    start = threading.Barrier(16)

    def race(cache):
        start.wait()
        results.append(cache.first_use("https://qt.example.gov.cn", "jti-raced", until=NOW + 90, now=NOW))

    threads = [threading.Thread(target=race, args=(caches[n % 4],)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


def test_two_verifier_apps_share_the_cache_through_http(store, sqlite_runtime, tmp_path):
    engine, redis_url = store
    rt = sqlite_runtime
    cred = make_credential(rt)
    trust = trust_of(publish(rt, tmp_path / "trust"))
    config = {
        "trust": trust,
        "data_dir": tmp_path / "verifier",
        "database_url": engine.url.render_as_string(hide_password=False),
        "redis_url": redis_url,
        "clock": rt.clock,
        "background_refresh": False,
    }
    first, second = create_app(config), create_app(config)
    auth = {
        "Authorization": "Bearer "
        + add_client(first.extensions["verifier"].engine, "青田县人民医院", now=rt.clock.now())
    }
    token = issue_presentation(rt.collaborators, cred)
    answer = first.test_client().post("/api/v1/verify", json={"token": token}, headers=auth).get_json()
    assert (answer["valid"], answer["kind"]) == (True, "presentation")
    again = second.test_client().post("/api/v1/verify", json={"token": token}, headers=auth).get_json()
    assert (again["valid"], again["reasons"]) == (False, ["PRESENTATION_REPLAYED"])
