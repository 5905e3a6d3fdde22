"""The JSON-lines drop directory and the signed HTTP API, against real files and stub servers."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading

import pytest

from govcred.core.clock import FixedClock
from govcred.core.exceptions import PermanentDeliveryError, RetryableDeliveryError
from govcred.plugins.provincial_push.channel import PushChannel
from govcred.plugins.provincial_push.http import HttpPushBackend
from govcred.plugins.provincial_push.jsonl import JsonlBackend, read_records
from tests.plugins.gateway_stub import GatewayStub, Hang, Reply, refused_url

RECORD = {"ZZMC": "浙江省居住证", "ZZBH": "QT-1", "CZZT": "张三明", "ZZZT": "valid"}
SECRET = "push-secret-0123456789"
T0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)  # 23:00 Beijing


def test_jsonl_appends_one_line_per_message(tmp_path):
    backend = JsonlBackend(tmp_path / "push", FixedClock(T0))
    assert backend.push("m-1", "issued", RECORD) == {"file": "2026-11-30.jsonl"}
    assert backend.push("m-2", "suspended", {**RECORD, "ZZZT": "suspended"}) == {"file": "2026-11-30.jsonl"}
    lines = read_records(tmp_path / "push" / "2026-11-30.jsonl")
    assert [(e["id"], e["event"], e["record"]["ZZZT"]) for e in lines] == [
        ("m-1", "issued", "valid"),
        ("m-2", "suspended", "suspended"),
    ]
    assert lines[0]["record"]["CZZT"] == "张三明"  # UTF-8, not escaped


def test_jsonl_redelivery_writes_no_second_line_even_from_a_fresh_process(tmp_path):
    clock = FixedClock(T0)
    JsonlBackend(tmp_path, clock).push("m-1", "issued", RECORD)
    restarted = JsonlBackend(tmp_path, clock)  # a worker after a crash knows nothing in memory
    assert restarted.push("m-1", "issued", RECORD)["duplicate"] is True
    # and across midnight (Beijing): the retry lands on the next day but is found in yesterday's file
    clock.advance(hours=2)
    assert restarted.push("m-1", "issued", RECORD) == {"file": "2026-11-30.jsonl", "duplicate": True}
    restarted.push("m-2", "issued", RECORD)
    assert [e["id"] for e in read_records(tmp_path / "2026-11-30.jsonl")] == ["m-1"]
    assert [e["id"] for e in read_records(tmp_path / "2026-12-01.jsonl")] == ["m-2"]


def test_jsonl_torn_last_line_is_ended_and_the_record_rewritten(tmp_path):
    backend = JsonlBackend(tmp_path, FixedClock(T0))
    backend.push("m-1", "issued", RECORD)
    path = tmp_path / "2026-11-30.jsonl"
    with path.open("ab") as fh:  # a crash in the middle of writing m-2
        fh.write(b'{"id": "m-2", "event": "iss')
    backend.push("m-2", "issued", RECORD)
    assert [e["id"] for e in read_records(path)] == ["m-1", "m-2"]
    assert len(path.read_bytes().splitlines()) == 3


def test_jsonl_concurrent_writers_of_one_message_write_it_once(tmp_path):
    clock = FixedClock(T0)
    backends = [JsonlBackend(tmp_path, clock) for _ in range(4)]
    barrier = threading.Barrier(4)

    def deliver(backend):
        barrier.wait()
        for i in range(25):
            backend.push(f"m-{i}", "issued", RECORD)

    threads = [threading.Thread(target=deliver, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [e["id"] for e in read_records(tmp_path / "2026-11-30.jsonl")]
    assert sorted(ids) == sorted(f"m-{i}" for i in range(25))


def test_http_push_is_signed_and_idempotent():
    with GatewayStub(lambda r: Reply(201, {"accepted": True})) as stub:
        result = HttpPushBackend(stub.url, SECRET).push("m-1", "issued", RECORD)
    assert result == {"status": 201}
    [request] = stub.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature"] == expected
    assert request.headers["Idempotency-Key"] == "m-1"
    assert json.loads(request.body) == {"id": "m-1", "event": "issued", "record": RECORD}


@pytest.mark.parametrize(
    "reply, error",
    [
        (Reply(500, {}), RetryableDeliveryError),
        (Reply(503, {}, headers={"Retry-After": "30"}), RetryableDeliveryError),
        (Reply(400, {"error": "ZZBS invalid"}), PermanentDeliveryError),
        (Reply(401, {"error": "bad signature"}), PermanentDeliveryError),
    ],
)
def test_http_push_errors(reply, error):
    with GatewayStub(lambda r: reply) as stub:
        with pytest.raises(error) as info:
            HttpPushBackend(stub.url, SECRET).push("m-1", "issued", RECORD)
    if "Retry-After" in reply.headers:
        assert info.value.retry_after == 30.0


def test_http_push_timeout_and_refused_connection_are_retryable():
    hang = Hang()
    with GatewayStub(hang) as stub, hang:
        with pytest.raises(RetryableDeliveryError, match="timed out"):
            HttpPushBackend(stub.url, SECRET, timeout=(0.5, 0.2)).push("m-1", "issued", RECORD)
    with pytest.raises(RetryableDeliveryError, match="connection failed"):
        HttpPushBackend(refused_url(), SECRET, timeout=(0.5, 0.5)).push("m-1", "issued", RECORD)


def test_channel_puts_the_id_number_back_and_refuses_what_it_cannot_send(tmp_path):
    from govcred.core.outbox import OutboxMessage

    backend = JsonlBackend(tmp_path, FixedClock(T0))
    channel = PushChannel(backend)

    def message(payload, secrets):
        return OutboxMessage(
            id="m-1",
            channel="provincial_push",
            event_type="push.issued",
            aggregate_type="credential",
            aggregate_id="QT-1",
            aggregate_seq=1,
            payload=payload,
            attempts=0,
            created_at=T0,
            secrets=secrets,
        )

    with pytest.raises(PermanentDeliveryError, match="could not be built"):
        channel(message({"event": "issued", "error": "serial must be ..."}, {"holder_id": "X"}))
    with pytest.raises(PermanentDeliveryError, match="lacks its event or record"):
        channel(message({"event": "issued"}, {"holder_id": "X"}))
    with pytest.raises(PermanentDeliveryError, match="no holder ID number"):
        channel(message({"event": "issued", "record": RECORD}, {}))
    assert channel(message({"event": "issued", "record": RECORD}, {"holder_id": "330102199003071234"})) == {
        "backend": "jsonl",
        "file": "2026-11-30.jsonl",
    }
    [entry] = read_records(tmp_path / "2026-11-30.jsonl")
    assert entry["record"]["CZZTDM"] == "330102199003071234"
