"""Domain objects and outbox reads shared by the SMS and provincial-push tests."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from govcred.core.models import ACCEPTED, Application, Credential
from govcred.core.orm import outbox as outbox_table
from govcred.core.outbox import OutboxMessage
from govcred.testing import OutboxInspector

PHONE = "13812341234"
ID_NUMBER = "330102199003071234"
#: what the Zhejiang credential type names as the subject of :func:`make_application`'s document
SUBJECT = {"name": "张三明", "id_number": ID_NUMBER, "phone": PHONE, "county": "331121"}


def make_application(phone: str = PHONE, **kw) -> Application:
    document = {
        "schema": "zj-residence/application@1",
        "applicant": {"name": "张三明", "id_number": ID_NUMBER, "phone": phone},
    }
    application = Application(schema="zj-residence/application@1", channel="online", document=document, **kw)
    application.state = ACCEPTED
    application.accepted_at = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing
    application.deadline = dt.datetime(2026, 12, 2, 15, 59, 59, tzinfo=dt.UTC)  # 23:59:59 Beijing
    return application


def make_credential(application: Application, **kw) -> Credential:
    issued = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    values = dict(
        application_id=application.id,
        permit_no="QT-2026-000123",
        credential_type="zj-residence-permit",
        subject_index="x" * 64,
        issued_at=issued,
        not_before=issued,
        expires_at=dt.datetime(2027, 12, 1, 15, 59, 59, tzinfo=dt.UTC),
        kid="kid1",
        token="t",
        claims={},
        status_list_id="sl1",
        status_idx=7,
        residence_start=dt.date(2026, 5, 20),
    )
    values.update(kw)
    return Credential(**values)


def outbox_rows(runtime, channel: str) -> list[dict]:
    """The committed outbox rows of ``channel`` in the order they were written (rows of one
    FixedClock instant keep their insertion order, which these tests rely on)."""
    with runtime.engine.connect() as conn:
        rows = (
            conn.execute(
                sa.select(outbox_table)
                .where(outbox_table.c.channel == channel)
                .order_by(outbox_table.c.created_at, outbox_table.c.aggregate_seq)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def as_message(runtime, row: dict) -> OutboxMessage:
    """What the worker hands the channel handler for ``row``."""
    return OutboxInspector(runtime).message(row)


def message(payload: dict, phone: str = PHONE, message_id: str = "m-1") -> OutboxMessage:
    return OutboxMessage(
        id=message_id,
        channel="sms",
        event_type="sms.test",
        aggregate_type="application",
        aggregate_id="a-1",
        aggregate_seq=1,
        payload=payload,
        attempts=0,
        created_at=dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC),
        secrets={"phone": phone},
    )
