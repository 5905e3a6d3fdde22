"""The SMS and provincial-push channel handlers: messages/s each adds on top of its transport.

Measured in the same run, on a temporary SQLite data directory (and PostgreSQL when one
answers on 127.0.0.1:5432):

* raw: ``core.http_delivery.send`` posting to a stub gateway on 127.0.0.1, and one
  insert + commit on the same database -- the two baselines;
* sms/http: the ``sms`` channel with the HTTP backend to the same stub (render, the
  per-number throttle's one write transaction, the POST);
* sms/dev: the ``sms`` channel with the development log (throttle + log row: two commits);
* push/jsonl: the ``provincial_push`` channel appending fsynced lines to the drop file.

The DESIGN target for the whole relay is ≥ 500 messages/s; these figures show how much of
that budget the handlers themselves take (each SQLite commit is an fsync: synchronous=FULL).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from govcred.core.clock import Clock
from govcred.core.http_delivery import send
from govcred.core.migrate import upgrade
from govcred.core.outbox import OutboxMessage
from govcred.plugins.provincial_push.channel import PushChannel
from govcred.plugins.provincial_push.jsonl import JsonlBackend
from govcred.plugins.sms_gateway.channel import build_channel
from govcred.plugins.sms_gateway.config import sms_config
from govcred.testing import PostgresServer, make_runtime, make_settings
from tests.plugins.gateway_stub import GatewayStub, Reply

N = 300
RECEIVED = {"template": "application_received", "params": {"ref": "1A2B3C4D", "deadline": "2026年12月2日"}}
RECORD = {"ZZMC": "浙江省居住证", "ZZBH": "QT-2026-000123", "CZZT": "张三明", "ZZZT": "valid"}
NOW = dt.datetime.now(dt.UTC)


def _message(n: int, payload: dict, secrets: dict) -> OutboxMessage:
    return OutboxMessage(
        id=str(uuid.uuid4()),
        channel="bench",
        event_type="bench",
        aggregate_type="application",
        aggregate_id=str(n),
        aggregate_seq=1,
        payload=payload,
        attempts=1,
        created_at=NOW,
        secrets=secrets,
    )


def _rate(call, n: int = N) -> float:
    started = time.perf_counter()
    for i in range(n):
        call(i)
    return n / (time.perf_counter() - started)


def _phone(i: int) -> str:
    return f"138{i:08d}"  # a new number each time: the throttle never refuses


def run(label: str, data_dir: Path, database_url: str, stub: GatewayStub) -> None:
    limits = {"notifications_per_day": 1000}
    http_settings = make_settings(
        data_dir, database_url, plugins={"sms_gateway": {**limits, "backend": "http", "url": stub.url}}
    )
    rt = make_runtime(http_settings, Clock())
    try:
        upgrade(rt.engine, rt.pm)
        raw = _rate(lambda i: send("POST", stub.url, data=b'{"phone": "x"}'))
        commit = _commit_rate(rt.engine)
        sms_http = rt.channels["sms"]
        http = _rate(lambda i: sms_http(_message(i, RECEIVED, {"phone": _phone(i)})))
        dev_config = sms_config(make_settings(data_dir, database_url, plugins={"sms_gateway": limits}))
        sms_dev = build_channel(dev_config, engine=rt.engine, secrets=rt.secrets, clock=rt.clock)
        dev = _rate(lambda i: sms_dev(_message(i, RECEIVED, {"phone": _phone(N + i)})))
    finally:
        rt.close()
    print(
        f"{label:10s} raw POST {raw:6.0f}/s, raw commit {commit:6.0f}/s | sms/http {http:6.0f}/s "
        f"({http / raw:.2f}x POST, {http / commit:.2f}x commit) | sms/dev {dev:6.0f}/s ({dev / commit:.2f}x commit)"
    )


def _commit_rate(engine) -> float:
    """One single-row insert + commit per call: what any durable per-message write costs here."""
    import sqlalchemy as sa

    table = sa.Table("bench_commit_probe", sa.MetaData(), sa.Column("n", sa.Integer))
    table.create(engine)
    try:

        def insert(i: int) -> None:
            with engine.begin() as conn:
                conn.execute(sa.insert(table).values(n=i))

        return _rate(insert)
    finally:
        table.drop(engine)


def main() -> None:
    with GatewayStub(lambda r: Reply(200, {"id": "gw"})) as stub:
        workdir = Path(tempfile.mkdtemp(prefix="bench-channels-"))
        try:
            sqlite_dir = workdir / "sqlite"
            sqlite_dir.mkdir()
            run("sqlite", sqlite_dir, f"sqlite:///{sqlite_dir / 'govcred.sqlite3'}", stub)
            pg = PostgresServer()
            if pg.available():
                with pg.throwaway("govcred_bench") as url:
                    pg_dir = workdir / "pg"
                    pg_dir.mkdir()
                    run("postgresql", pg_dir, url, stub)
            else:
                print("postgresql: no server on 127.0.0.1:5432, skipped")
            channel = PushChannel(JsonlBackend(workdir / "push", Clock()))
            jsonl = _rate(
                lambda i: channel(
                    _message(i, {"event": "issued", "record": RECORD}, {"holder_id": "330102199003071234"})
                ),
                N * 3,
            )
            print(f"push/jsonl {jsonl:7.0f} records/s (fsync per record)")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
