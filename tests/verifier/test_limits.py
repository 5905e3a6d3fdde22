"""Limits shared by every verifier process, exact under concurrency: per institution and per
address for verify, failed API keys per address, camera frames per institution; counted in
Redis or the verifier database (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
import os
import threading

import pytest
from limits import RateLimitItemPerMinute

from govcred.core.qr import render_png
from govcred.verifier import ratelimits
from govcred.verifier.app import create_app
from govcred.verifier.db import add_client, create_tables, make_verifier_engine
from govcred.verifier.ratelimits import Policy, VerifierLimits, storage_for
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import publish, trust_of
from tests.verifier.shared_stores import BACKENDS, shared_store

NOW = 1_800_000_010.0


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with shared_store(request, tmp_path) as pair:
        yield pair


def test_a_limit_admits_exactly_its_figure_when_threads_of_several_processes_race(store):
    engine, redis_url = store
    limiters = [VerifierLimits(storage_for(engine, redis_url), prefix="race") for _ in range(3)]
    admitted, start = [], threading.Barrier(24)

    def request(limiter):
        start.wait()
        admitted.append(limiter.hit("verify-key", "client-1", 10, NOW) is None)

    threads = [threading.Thread(target=request, args=(limiters[n % 3],)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 10  # not 11, not 12: no overshoot
    assert limiters[0].hit("verify-key", "client-1", 10, NOW) == 50  # seconds to the next window
    assert limiters[1].hit("verify-key", "client-1", 10, NOW + 50) is None  # the next window


def test_a_request_admission_counts_exactly_when_threads_of_several_processes_race(store):
    # admit() is what every verify request runs: the guard read and both counters in one go
    engine, redis_url = store
    limiters = [VerifierLimits(storage_for(engine, redis_url), prefix="admit-race") for _ in range(3)]
    guard, counted = ("failed-key", "10.0.0.1", 3), [("verify-key", "client-1", 10), ("verify-address", "10.0.0.1", 50)]
    answers, start = [], threading.Barrier(24)

    def request(limiter):
        start.wait()
        answers.append(limiter.admit(guard, counted, NOW))

    threads = [threading.Thread(target=request, args=(limiters[n % 3],)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(None) == 10 and answers.count(50) == 14  # refused ones wait 50 s
    limiter = limiters[0]

    reader = storage_for(engine, redis_url)

    def count(what, who, per_minute, now=NOW):  # the shared counter itself, as limits keys it
        key = RateLimitItemPerMinute(per_minute).key_for("admit-race", what, who, str(int(now) // 60))
        return reader.get(key)

    assert count("verify-key", "client-1", 10) == 24  # every request counted, refused ones too
    assert count("verify-address", "10.0.0.1", 50) == 24

    for _ in range(3):  # the address now guesses keys: refused before anything is counted
        limiter.hit("failed-key", "10.0.0.1", 3, NOW)
    assert limiter.admit(guard, [("verify-key", "client-2", 10), ("verify-address", "10.0.0.1", 50)], NOW) == 50
    assert count("verify-key", "client-2", 10) == 0
    assert count("verify-address", "10.0.0.1", 50) == 24

    later = NOW + 60  # the next window: every counter starts again, the guard too
    assert limiter.admit(guard, counted, later) is None
    assert count("verify-key", "client-1", 10, later) == 1


@pytest.fixture
def services(store, sqlite_runtime, tmp_path):
    """Two verifier apps (two processes' worth) on one shared store, with tight limits."""
    engine, redis_url = store
    rt = sqlite_runtime
    cred = make_credential(rt)
    config = {
        "trust": trust_of(publish(rt, tmp_path / "trust")),
        "data_dir": tmp_path / "verifier",
        "database_url": engine.url.render_as_string(hide_password=False),
        "redis_url": redis_url,
        "clock": rt.clock,
        "background_refresh": False,
        "limits": Policy(verify_per_address=8, failed_keys_per_address=3, decodes_per_key=2, decodes_per_address=50),
    }
    apps = create_app(config), create_app(config)
    if redis_url:
        apps[0].extensions["verifier"].limits._storage.reset()
    return rt, cred, [a.test_client() for a in apps], apps[0].extensions["verifier"].engine


def _verify(client, cred, key):
    return client.post("/api/v1/verify", json={"token": cred.token}, headers={"Authorization": f"Bearer {key}"})


def test_institution_and_address_limits_hold_across_processes(services):
    rt, cred, (one, two), engine = services
    school = add_client(engine, "青田县实验小学", now=rt.clock.now(), rate_per_minute=3)
    hospital = add_client(engine, "青田县人民医院", now=rt.clock.now())
    codes = [_verify(c, cred, school).status_code for c in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]
    limited = _verify(one, cred, school)
    assert limited.status_code == 429 and limited.get_json()["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # the address (both institutions call from 127.0.0.1 here) has 8 a minute; the school's
    # 5 requests (refused ones too) count towards it
    assert [_verify(c, cred, hospital).status_code for c in (one, two, one, two)] == [200, 200, 200, 429]
    rt.clock.advance(seconds=60)
    assert _verify(two, cred, school).status_code == 200


def test_failed_keys_are_throttled_per_address_then_even_a_good_key_waits(services):
    rt, cred, (one, two), engine = services
    good = add_client(engine, "青田县职业介绍所", now=rt.clock.now())
    for _ in range(5):  # no key at all (a page not set up yet) is not a guess
        assert one.post("/api/v1/verify", json={"token": cred.token}).status_code == 401
    guesses = [_verify(c, cred, good[:-2] + "xx").status_code for c in (one, two, one)]
    assert guesses == [401, 401, 401]
    blocked = _verify(two, cred, good)
    assert blocked.status_code == 429 and "错误次数过多" in blocked.get_json()["title"]
    rt.clock.advance(seconds=60)
    assert _verify(one, cred, good).status_code == 200


def test_camera_frames_are_limited_per_institution(services):
    rt, cred, (one, two), engine = services
    key = add_client(engine, "青田县人民医院", now=rt.clock.now())
    frame = render_png(cred.token)

    def decode(client):
        return client.post("/scan/decode", headers={"X-Api-Key": key}, data={"frame": (io.BytesIO(frame), "f.jpg")})

    assert [decode(c).status_code for c in (one, two, one)] == [200, 200, 429]


def test_without_the_shared_counters_nothing_is_admitted(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    cred = make_credential(rt)
    app = create_app(
        {
            "trust": trust_of(publish(rt, tmp_path / "trust")),
            "data_dir": tmp_path / "verifier",
            "redis_url": "redis://127.0.0.1:9/0",  # nothing listens there
            "clock": rt.clock,
            "background_refresh": False,
        }
    )
    key = add_client(app.extensions["verifier"].engine, "青田县人民医院", now=rt.clock.now())
    response = _verify(app.test_client(), cred, key)
    assert response.status_code == 503 and response.get_json()["code"] == "LIMITS_UNAVAILABLE"


def test_a_deployment_sets_its_limits_in_the_environment_and_a_bad_figure_is_named():
    from govcred.core.exceptions import ConfigError
    from govcred.verifier.app import VerifierConfig

    env = {"GOVCRED_VERIFIER_TRUST": "trust.toml", "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS": "20000"}
    assert VerifierConfig.from_env(env).limits == Policy(verify_per_address=20000)
    assert VerifierConfig.from_env({"GOVCRED_VERIFIER_TRUST": "trust.toml"}).limits == Policy()
    bad = {**env, "GOVCRED_VERIFIER_LIMIT_DECODES_PER_KEY": "lots", "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS": "0"}
    with pytest.raises(ConfigError) as excinfo:
        VerifierConfig.from_env(bad)
    assert "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS" in str(excinfo.value)
    assert "GOVCRED_VERIFIER_LIMIT_DECODES_PER_KEY" in str(excinfo.value)


def test_a_kept_connection_that_broke_is_replaced_and_the_hit_still_counts(tmp_path):
    engine = make_verifier_engine(f"sqlite:///{tmp_path / 'verifier.sqlite3'}")
    create_tables(engine)
    limits = VerifierLimits(storage_for(engine, None), prefix="broken")
    assert limits.hit("verify-key", "client-1", 2, NOW) is None
    for conn in list(limits._storage._idle):  # the storage's kept connection goes away under it
        conn.close()
    assert limits.hit("verify-key", "client-1", 2, NOW) is None
    assert limits.hit("verify-key", "client-1", 2, NOW) == 50  # both counted: the third is refused
    engine.dispose()


def test_disposing_the_engine_closes_the_kept_connections_and_the_limits_count_on(tmp_path):
    database = tmp_path / "verifier.sqlite3"
    engine = make_verifier_engine(f"sqlite:///{database}")
    create_tables(engine)
    limits = VerifierLimits(storage_for(engine, None), prefix="dispose")
    assert limits.hit("verify-key", "client-1", 2, NOW) is None
    engine.dispose()
    # every connection closed: SQLite checkpointed its write-ahead log and removed it
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(database.name + "-")) == []
    assert limits.hit("verify-key", "client-1", 2, NOW) is None  # on a new connection
    assert limits.hit("verify-key", "client-1", 2, NOW) == 50  # both earlier hits counted
    engine.dispose()


BUSY = 1_500  # a busy institution's figure: above what is counted one request at a time


def _race(limiters, counted, requests, now=NOW):
    """``requests`` admissions from threads spread over ``limiters`` (processes' worth)."""
    guard = ("failed-key", "10.0.0.9", 10)
    answers, start = [], threading.Barrier(8)

    def run(limiter, share):
        start.wait()
        for _ in range(share):
            answers.append(limiter.admit(guard, counted, now))

    threads = [threading.Thread(target=run, args=(limiters[n % len(limiters)], requests // 8)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_busy_limit_never_admits_more_than_its_figure_across_processes(store):
    # slots are reserved a few at a time: the shared count still never lets one more in, and
    # what a process holds unused at most is what it reserved last
    engine, redis_url = store
    limiters = [VerifierLimits(storage_for(engine, redis_url), prefix="busy-race") for _ in range(3)]
    answers = _race(limiters, [("verify-key", "client-1", BUSY)], 2_000)
    most_held = (BUSY - ratelimits.COUNTED_ONE_BY_ONE) // ratelimits.RESERVE_SHARE
    assert BUSY - 3 * most_held <= answers.count(None) <= BUSY
    assert set(answers) <= {None, 50}


def test_a_busy_limit_in_one_process_admits_exactly_its_figure_with_few_writes(store):
    engine, redis_url = store
    limiter = VerifierLimits(storage_for(engine, redis_url), prefix="busy-one")
    answers = _race([limiter], [("verify-key", "client-1", BUSY), ("verify-address", "10.0.0.9", 100_000)], 2_000)
    assert answers.count(None) == BUSY and answers.count(50) == 500
    # the shared counters moved by reservations, not once per request: the address's count ran ahead
    key = RateLimitItemPerMinute(100_000).key_for("busy-one", "verify-address", "10.0.0.9", str(int(NOW) // 60))
    assert storage_for(engine, redis_url).get(key) > 2_000


def test_reserved_slots_still_wait_while_the_address_guesses_keys_elsewhere(store):
    engine, redis_url = store
    one, two = (VerifierLimits(storage_for(engine, redis_url), prefix="busy-guess") for _ in range(2))
    guard, counted = ("failed-key", "10.0.0.9", 3), [("verify-key", "client-1", BUSY)]
    assert [one.admit(guard, counted, NOW) for _ in range(3)] == [None] * 3  # `one` now holds slots
    for _ in range(3):  # the address guesses keys through the other process
        two.hit("failed-key", "10.0.0.9", 3, NOW)
    assert one.admit(guard, counted, NOW) == 50  # the guard is read on every request
    assert one.admit(guard, counted, NOW + 60) is None  # a new window


def test_a_forked_process_never_spends_its_parents_reserved_slots():
    slots = ratelimits.ReservedSlots()
    slots.take("1", ["k"])
    assert slots.reserved("k", count=5, amount=5, limit=BUSY)  # one for this request, four kept
    assert slots.take("1", ["k"]) == [True]
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: whatever it reports, it leaves at once
        os.write(writer, b"1" if slots.take("1", ["k"]) == [True] else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 1) == b"0"
    assert slots.take("1", ["k"]) == [True]  # the parent's are still its own
