"""Rows written through the driver's executemany (core.repository.held.execute_rows) are the
rows SQLAlchemy's own executemany writes: every column's stored value and storage class."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from govcred.core.orm import applications, audit_log, decision_bases, metadata, outbox
from govcred.core.repository.held import execute_rows

T = dt.datetime(2026, 11, 30, 2, 0, 0, 123456, tzinfo=dt.UTC)
BEIJING_T = T.astimezone(dt.timezone(dt.timedelta(hours=8)))


def _outbox_row(i: int, **extra) -> dict:
    return {
        "id": f"id-{i}",
        "channel": "sms",
        "event_type": "sms.approved",
        "aggregate_type": "application",
        "aggregate_id": f"app-{i}",
        "aggregate_seq": i,
        "payload": {"template": "审批通过", "params": {"ref": "X"}, "n": [1, None, 2.5], "ok": True},
        "dedupe_key": None if i % 2 else f"sms:{i}",
        "status": "pending",
        "next_attempt_at": BEIJING_T if i % 2 else T,  # another zone, the same instant
        "created_at": T + dt.timedelta(microseconds=i),
        **extra,
    }


ROWS = {
    # attempts left out: its Python default (0) is written, as SQLAlchemy writes it
    outbox: [_outbox_row(i) for i in range(3)],
    audit_log: [
        {
            "at": T,
            "actor": "officer:1",
            "role": "reviewer",
            "action": "application.approved",
            "object_type": "application",
            "object_id": f"app-{i}",
            "outcome": "success",
            "details": {"codes": [], "credential": None, "n": i},
            "request_id": None,
        }
        for i in range(3)
    ],
    decision_bases: [
        {
            "decision_id": f"d-{i}",
            "ruleset": "govcred==0.1.0 rules=sha256:0",
            "input_digest": "sha256:1",
            "records_digest": "sha256:2",
            "as_of": dt.date(2026, 11, 30),
            "already_holds": bool(i),
            "records_enc": b"\x00\x01secret",
        }
        for i in range(2)
    ],
}


def _stored(engine, table) -> list[tuple]:
    """Each column as SQLite holds it: its storage class and its literal."""
    columns = ", ".join(f"typeof({c.name}), quote({c.name})" for c in table.columns)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {columns} FROM {table.name} ORDER BY 2, 4")]


def _engine(tmp_path, name):
    engine = sa.create_engine(f"sqlite:///{tmp_path / name}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    metadata.create_all(engine, tables=list(ROWS) + [applications])
    return engine


@pytest.mark.parametrize("table", list(ROWS), ids=lambda t: t.name)
def test_rows_written_through_the_driver_are_those_sqlalchemy_writes(tmp_path, table):
    by_sqlalchemy, by_driver = _engine(tmp_path, "a.db"), _engine(tmp_path, "b.db")
    with sa.orm.Session(by_sqlalchemy) as s:
        s.execute(sa.insert(table), [dict(r) for r in ROWS[table]])
        s.commit()
    with sa.orm.Session(by_driver) as s:
        execute_rows(s, sa.insert(table), [dict(r) for r in ROWS[table]])
        s.commit()
    expected = _stored(by_sqlalchemy, table)
    assert len(expected) == len(ROWS[table])
    assert _stored(by_driver, table) == expected


def test_an_update_through_the_driver_counts_the_rows_it_matched(tmp_path):
    engine = _engine(tmp_path, "u.db")
    write = (
        sa.update(outbox)
        .where(outbox.c.id == sa.bindparam("b_id"))
        .values(status=sa.bindparam("b_status"), delivered_at=sa.bindparam("b_at"))
    )
    with sa.orm.Session(engine) as s:
        execute_rows(s, sa.insert(outbox), [_outbox_row(i) for i in range(3)])
        matched = execute_rows(
            s,
            write,
            [
                {"b_id": "id-0", "b_status": "delivered", "b_at": BEIJING_T},
                {"b_id": "nobody", "b_status": "dead", "b_at": T},
            ],
        )
        s.commit()
    assert matched == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.id, outbox.c.status, outbox.c.delivered_at).order_by(outbox.c.id)).all()
    assert rows == [("id-0", "delivered", T), ("id-1", "pending", None), ("id-2", "pending", None)]


def test_a_computed_default_the_rows_lack_is_refused(tmp_path):
    table = sa.Table(
        "with_computed",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("d", sa.JSON, default=dict),
    )
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    table.create(engine)
    with sa.orm.Session(engine) as s, pytest.raises(ValueError, match="computed default"):
        execute_rows(s, sa.insert(table), [{"id": 1}])
