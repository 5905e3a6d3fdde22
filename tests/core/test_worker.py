"""The outbox worker against a real HTTP gateway stub on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading

import pytest
import sqlalchemy as sa

from govcred.core.clock import as_utc
from govcred.core.orm import outbox as outbox_table
from govcred.core.orm import residents
from govcred.core.outbox_admin import retry_messages, show_message
from govcred.core.worker import (
    BACKOFF_CAP_SECONDS,
    backoff_delay,
    claim_due,
    deliver,
    redact,
    run_worker,
    start_background_worker,
)
from govcred.testing import make_runtime
from tests.core.outbox_stub import ChannelPlugin, HttpChannel, StubGateway, gateway  # noqa: F401 (gateway is a fixture)

CHANNEL = "test_http"


@pytest.fixture
def rt(settings, clock, gateway):
    """A runtime whose only extra channel posts to the stub. The read timeout is the channel's
    generous default: a slow, shared machine must not turn a normal answer into a retry."""
    rt = make_runtime(settings, clock, extra_plugins=[(ChannelPlugin(HttpChannel(gateway.url)), "test_channel")])
    yield rt
    rt.close()


def enqueue(rt, aggregates: dict[str, int], *, phone: str | None = None) -> list[str]:
    """Commit ``n`` events per aggregate id; returns the message ids in insertion order."""
    ids = []
    with rt.uow() as uow:
        for aggregate_id, n in aggregates.items():
            for i in range(n):
                ids.append(
                    uow.outbox.add(
                        CHANNEL,
                        f"event.{i + 1}",
                        {"n": i + 1},
                        aggregate_type="application",
                        aggregate_id=aggregate_id,
                        secret={"phone": phone} if phone else None,
                    )
                )
        uow.commit()
    return ids


def rows(rt) -> dict[str, sa.Row]:
    with rt.engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(outbox_table))}


def drain_until_done(rt, clock, *, rounds: int = 30) -> None:
    """Drain; whatever waits for a retry becomes due by moving the clock past the backoff cap."""
    for _ in range(rounds):
        run_worker(rt.relay, drain=True, batch=20)
        if all(r.status in ("delivered", "dead") for r in rows(rt).values()):
            return
        clock.advance(seconds=BACKOFF_CAP_SECONDS + 1)
    raise AssertionError("outbox did not drain")


def assert_exactly_once(gateway: StubGateway, ids: list[str]) -> dict:
    history = gateway.check_history(set(ids))
    assert history["lost"] == set()
    assert history["unexpected"] == set()
    assert history["duplicate_effects"] == {}
    return history


def test_delivers_every_message_once_with_secrets_and_records_the_result(rt, gateway):
    ids = enqueue(rt, {"a": 3, "b": 2}, phone="13812345678")
    stats = run_worker(rt.relay, drain=True)
    assert (stats.claimed, stats.delivered, stats.retried, stats.dead) == (5, 5, 0, 0)
    assert_exactly_once(gateway, ids)
    first = gateway.requests_for(ids[0])[0]
    assert first.body["to"] == "13812345678"  # decrypted for the handler only
    assert "_secret" not in first.body["payload"]
    stored = rows(rt)
    for message_id in ids:
        r = stored[message_id]
        assert (r.status, r.attempts, r.locked_by, r.last_error) == ("delivered", 1, None, None)
        assert r.result["receipt"].startswith("r-") and r.delivered_at is not None
        assert "_secret" not in r.payload  # the phone was needed for the delivery only


def test_gateway_500_then_recovery_delivers_each_message_once(rt, gateway, clock):
    ids = enqueue(rt, {f"app-{i}": 2 for i in range(5)})
    gateway.script.extend([("status", 500)] * 7)
    drain_until_done(rt, clock)
    history = assert_exactly_once(gateway, ids)
    assert sum(1 for r in gateway.requests if r.answered == 500) == 7
    assert all(r.status == "delivered" for r in rows(rt).values())
    # a 500 took no effect and a 200 was never followed by another send of the same id
    assert all(sum(r.answered == 200 for r in gateway.requests_for(i)) == 1 for i in ids)
    assert set(history["transport_duplicates"]) <= {r.key for r in gateway.requests if r.answered == 500}


def test_read_timeouts_count_as_retryable_and_the_receiver_deduplicates(settings, clock, gateway):
    rt = make_runtime(
        settings, clock, extra_plugins=[(ChannelPlugin(HttpChannel(gateway.url, read_timeout=0.3)), "test_channel")]
    )
    try:
        ids = enqueue(rt, {"slow": 1, "other": 1})
        # the stub takes effect, then holds its answer until the worker has given up on both
        gateway.script.extend([("hold",), ("hold",)])
        try:
            stats = run_worker(rt.relay, drain=True)
        finally:
            gateway.released.set()
        assert (stats.retried, stats.delivered) == (2, 0)
        assert all("timed out" in r.last_error for r in rows(rt).values())
        drain_until_done(rt, clock)
        history = assert_exactly_once(gateway, ids)
        assert set(history["transport_duplicates"]) == set(ids)  # sent twice, took effect once
    finally:
        rt.close()


def test_refused_connections_then_recovery(rt, gateway, clock):
    ids = enqueue(rt, {"x": 2, "y": 2})
    gateway.stop_listening()
    stats = run_worker(rt.relay, drain=True)
    assert stats.retried == 2 and stats.delivered == 0  # the seq-2 rows wait behind their seq 1
    assert {r.status for r in rows(rt).values()} == {"pending"}
    clock.advance(seconds=BACKOFF_CAP_SECONDS + 1)
    run_worker(rt.relay, drain=True)  # still down
    gateway.start()
    drain_until_done(rt, clock)
    assert_exactly_once(gateway, ids)


def test_connection_dropped_without_an_answer_is_retried(rt, gateway, clock):
    ids = enqueue(rt, {"z": 1})
    gateway.script.append(("close",))
    drain_until_done(rt, clock)
    assert_exactly_once(gateway, ids)
    assert rows(rt)[ids[0]].attempts == 2


def test_a_200_with_a_malformed_body_is_retried_and_deduplicated(rt, gateway, clock, caplog):
    [message_id] = enqueue(rt, {"garbled": 1})
    gateway.script.append(("garbage",))
    with caplog.at_level(logging.WARNING, logger="govcred.worker"):
        assert run_worker(rt.relay, drain=True).retried == 1
    assert "JSONDecodeError" in caplog.text  # the handler's exception type is named
    drain_until_done(rt, clock)
    history = assert_exactly_once(gateway, [message_id])
    assert history["transport_duplicates"] == {message_id: 2}


def test_retry_after_is_a_floor_for_the_next_attempt(rt, gateway, clock):
    [message_id] = enqueue(rt, {"busy": 1})
    gateway.script.append(("status", 503, {"Retry-After": "120"}))
    run_worker(rt.relay, drain=True)
    r = rows(rt)[message_id]
    assert r.status == "pending" and "503" in r.last_error
    assert as_utc(r.next_attempt_at) >= clock.now() + dt.timedelta(seconds=120)
    clock.advance(seconds=119)
    assert run_worker(rt.relay, drain=True).claimed == 0
    clock.advance(seconds=1)
    assert run_worker(rt.relay, drain=True).delivered == 1


def test_400_is_a_dead_letter_after_one_attempt_and_retry_delivers_it_once(rt, gateway, clock):
    [message_id] = enqueue(rt, {"bad": 1})
    gateway.script.append(("status", 400))
    stats = run_worker(rt.relay, drain=True)
    assert stats.dead == 1
    r = rows(rt)[message_id]
    assert (r.status, r.attempts) == ("dead", 1)
    assert "400" in r.last_error and "PermanentDeliveryError" in r.last_error
    assert run_worker(rt.relay, drain=True).claimed == 0  # a dead letter stays dead

    [first] = retry_messages(rt.collaborators, [message_id])
    assert (first.outcome, first.previous_status, first.previous_attempts) == ("requeued", "dead", 1)
    assert run_worker(rt.relay, drain=True).delivered == 1
    [second] = retry_messages(rt.collaborators, [message_id])
    assert second.outcome == "already_delivered"
    assert run_worker(rt.relay, drain=True).claimed == 0
    assert_exactly_once(gateway, [message_id])
    assert [r.key for r in gateway.requests] == [message_id, message_id]  # one rejection, one delivery
    with rt.engine.connect() as conn:
        audits = (
            conn.execute(
                sa.text("SELECT outcome FROM audit_log WHERE action = 'outbox.retry' AND object_id = :i ORDER BY seq"),
                {"i": message_id},
            )
            .scalars()
            .all()
        )
    assert audits == ["success", "noop"]


def test_per_aggregate_order_holds_behind_a_failing_first_message(rt, gateway, clock):
    issued, revoked = enqueue(rt, {"cred-1": 2})
    other = enqueue(rt, {"cred-2": 1})

    def responder(key, body):
        return ("status", 503) if key == issued and len(gateway.requests_for(issued)) < 3 else ("ok",)

    gateway.responder = responder
    run_worker(rt.relay, drain=True)
    assert gateway.effects[other[0]] == 1  # other aggregates keep flowing
    assert gateway.requests_for(revoked) == []
    assert show_message(rt.collaborators, revoked)["waiting_for"] == [{"id": issued, "seq": 1, "status": "pending"}]
    drain_until_done(rt, clock)
    assert gateway.effect_order.index(issued) < gateway.effect_order.index(revoked)
    assert len(gateway.requests_for(issued)) == 4
    assert_exactly_once(gateway, [issued, revoked, *other])


def test_a_dead_letter_does_not_hold_later_messages_forever(rt, gateway):
    first, second = enqueue(rt, {"cred-9": 2})
    gateway.script.append(("status", 422))
    stats = run_worker(rt.relay, drain=True)
    assert (stats.dead, stats.delivered) == (1, 1)
    assert gateway.effect_order == [second]
    shown = show_message(rt.collaborators, second)
    assert shown["not_held_behind_dead"] == [{"id": first, "seq": 1}] and shown["waiting_for"] == []
    assert show_message(rt.collaborators, first)["later_messages_flowing"] == 1


def test_backoff_full_jitter_stays_within_bounds_for_a_seeded_rng():
    rng = random.Random(20261130)
    for attempt in range(11):
        ceiling = min(BACKOFF_CAP_SECONDS, 2.0 * 2**attempt)
        delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter uses the whole range
    assert backoff_delay(10_000, rng=rng) <= BACKOFF_CAP_SECONDS
    assert backoff_delay(3, rng=random.Random(7)) == random.Random(7).uniform(0, 16.0)


def test_retry_schedule_uses_full_jitter_from_the_attempt_count(rt, gateway, clock):
    [message_id] = enqueue(rt, {"j": 1})
    gateway.responder = lambda key, body: ("status", 500)
    for attempt in range(4):
        now = clock.now()
        stats = run_worker(rt.relay, drain=True, rng=random.Random(attempt))
        assert stats.retried == 1
        delay = (as_utc(rows(rt)[message_id].next_attempt_at) - now).total_seconds()
        assert delay == pytest.approx(random.Random(attempt).uniform(0, 2.0 * 2**attempt), abs=1e-3)
        clock.advance(seconds=BACKOFF_CAP_SECONDS)


def test_gives_up_after_max_attempts(settings, clock, gateway):
    rt = make_runtime(
        settings.with_overrides(worker_max_attempts=3),
        clock,
        extra_plugins=[(ChannelPlugin(HttpChannel(gateway.url)), "test_channel")],
    )
    try:
        [message_id] = enqueue(rt, {"flaky": 1})
        gateway.responder = lambda key, body: ("status", 502)
        drain_until_done(rt, clock)
        r = rows(rt)[message_id]
        assert (r.status, r.attempts) == ("dead", 3)
        assert r.last_error.startswith("gave up after 3 attempts")
    finally:
        rt.close()


def test_unknown_channel_is_a_dead_letter_naming_the_channel(rt):
    with rt.uow() as uow:
        message_id = uow.outbox.add("no_such_channel", "x", {}, aggregate_type="application", aggregate_id="q")
        uow.commit()
    assert run_worker(rt.relay, drain=True).dead == 1
    assert "no_such_channel" in rows(rt)[message_id].last_error


def test_unexpected_handler_errors_are_retried_and_logged_without_personal_numbers(settings, clock, caplog):
    def broken(message):
        raise KeyError(f"no route for {message.secrets['phone']} / 330102199001011234")

    rt = make_runtime(settings, clock, extra_plugins=[(ChannelPlugin(broken), "broken")])
    try:
        [message_id] = enqueue(rt, {"k": 1}, phone="13912345678")
        with caplog.at_level(logging.INFO, logger="govcred.worker"):
            assert run_worker(rt.relay, drain=True).retried == 1
        r = rows(rt)[message_id]
        assert r.status == "pending" and r.last_error.startswith("RetryableDeliveryError: KeyError")
        assert "KeyError" in caplog.text
        for text in (caplog.text, r.last_error):
            assert "13912345678" not in text and "330102199001011234" not in text
    finally:
        rt.close()


def test_redact_masks_phone_and_id_numbers_but_keeps_status_codes():
    assert (
        redact("gateway answered 503 for +86 139-1234-5678, id 33010219900101123X")
        == "gateway answered 503 for ***, id ***"
    )
    assert redact("port 8080 retry 12") == "port 8080 retry 12"


def test_exception_before_commit_leaves_neither_business_row_nor_outbox_row(rt, clock):
    with pytest.raises(RuntimeError):
        with rt.uow() as uow:
            uow.residents.get_or_create("13700001111", clock.now())
            uow.flush()
            uow.outbox.add(CHANNEL, "resident.created", {}, aggregate_type="resident", aggregate_id="r1")
            uow.flush()
            raise RuntimeError("fault after the business insert, before commit")
    with rt.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(residents)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox_table)).scalar() == 0


def test_an_expired_lease_is_reclaimed_and_the_old_worker_cannot_record(rt, gateway, clock):
    [message_id] = enqueue(rt, {"lease": 1})
    [claimed] = claim_due(rt.relay, "worker-a", 10, clock.now(), lease_seconds=30)
    assert claimed.attempts == 1
    assert claim_due(rt.relay, "worker-b", 10, clock.now() + dt.timedelta(seconds=29)) == []
    [again] = claim_due(rt.relay, "worker-b", 10, clock.now() + dt.timedelta(seconds=31))
    assert (again.id, again.attempts) == (message_id, 2)
    assert deliver(rt.relay, claimed, worker_id="worker-a").status == "lost_lease"
    assert deliver(rt.relay, again, worker_id="worker-b").status == "delivered"
    assert_exactly_once(gateway, [message_id])  # worker-a's send was deduplicated by the receiver


def test_stop_finishes_the_message_in_hand_and_releases_the_rest(settings, clock, gateway):
    stop = threading.Event()
    channel = HttpChannel(gateway.url)

    def stop_after_first(message):
        result = channel(message)
        stop.set()
        return result

    rt = make_runtime(settings, clock, extra_plugins=[(ChannelPlugin(stop_after_first), "stopper")])
    try:
        ids = enqueue(rt, {f"s{i}": 1 for i in range(5)})
        stats = run_worker(rt.relay, stop_event=stop, batch=5)
        assert (stats.claimed, stats.delivered, stats.released) == (5, 1, 4)
        stored = rows(rt)
        assert sorted(r.status for r in stored.values()) == ["delivered"] + ["pending"] * 4
        assert all(r.attempts == 0 and r.locked_by is None for r in stored.values() if r.status == "pending")
        run_worker(rt.relay, drain=True)
        assert_exactly_once(gateway, ids)
    finally:
        rt.close()


@pytest.mark.parametrize(("concurrency", "record_every"), [(1, 1), (4, 20)])
def test_concurrent_workers_deliver_everything_once_in_aggregate_order(rt, gateway, clock, concurrency, record_every):
    ids = enqueue(rt, {f"agg-{i}": 4 for i in range(40)})
    gateway.responder = lambda key, body: ("status", 503, {"Retry-After": "0"}) if hash(key) % 7 == 0 else ("ok",)
    results = []

    def work():
        results.append(run_worker(rt.relay, drain=True, batch=10, concurrency=concurrency, record_every=record_every))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(s.lost_lease for s in results) == 0
    gateway.responder = None
    drain_until_done(rt, clock)  # what still waits after its 503
    assert_exactly_once(gateway, ids)
    by_aggregate: dict[str, list[int]] = {}
    for key in gateway.effect_order:
        body = gateway.requests_for(key)[-1].body
        by_aggregate.setdefault(body["aggregate_id"], []).append(body["seq"])
    assert all(seqs == [1, 2, 3, 4] for seqs in by_aggregate.values())


def test_background_worker_delivers_and_stops(rt, gateway):
    ids = enqueue(rt, {"bg": 3})
    worker = start_background_worker(rt.relay, poll_interval=0.05)
    try:
        for _ in range(200):
            if len(gateway.effects) == 3:
                break
            threading.Event().wait(0.02)
    finally:
        stats = worker.stop(timeout=10)
    assert not worker.alive
    assert stats is not None and stats.delivered == 3
    assert_exactly_once(gateway, ids)
