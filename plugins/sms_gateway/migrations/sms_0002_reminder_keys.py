"""sms_gateway: reminders are counted per (permit, lapse date), not per credential version

Revision ID: sms_0002
Revises: sms_0001
Create Date: 2026-12-02 07:15:00

Queued reminders were deduplicated by ``reminder:<permit>:<version>:<reminder>``, so a permit
signed again (``credential reissue``) was reminded a second time. The key is now
``reminder:<permit>:<lapse date>:<reminder>`` (notify.reminder_key). Every existing reminder
row gets the new key, the lapse date read from the credential version it was sent for, so no
reminder already queued or delivered goes out again after the upgrade. Where two versions
already produced two rows for the same date (the duplicate this fixes), the first keeps the
new key and the other its old one: both are history, neither is sent again.

The downgrade gives each row the key the old code computes: the newest version of the permit
with that lapse date.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

from govcred.core import BEIJING, TZDateTime

revision = "sms_0002"
down_revision = "sms_0001"
branch_labels = None
depends_on = None

_OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.String),
    sa.column("channel", sa.String),
    sa.column("dedupe_key", sa.String),
    sa.column("created_at", TZDateTime),
)
_CREDENTIALS = sa.table(
    "credentials",
    sa.column("permit_no", sa.String),
    sa.column("version", sa.Integer),
    sa.column("expires_at", TZDateTime),
)
_PREFIX = "reminder:"


def _reminder_rows(conn) -> list[tuple[str, str, str, str]]:
    """(row id, permit, middle part, reminder) of every SMS reminder row, oldest first."""
    rows = conn.execute(
        sa.select(_OUTBOX.c.id, _OUTBOX.c.dedupe_key)
        .where(_OUTBOX.c.channel == "sms", _OUTBOX.c.dedupe_key.like(_PREFIX + "%"))
        .order_by(_OUTBOX.c.created_at, _OUTBOX.c.id)
    ).all()
    parsed = []
    for row_id, key in rows:
        parts = key.split(":")
        if len(parts) == 4:
            parsed.append((row_id, parts[1], parts[2], parts[3]))
    return parsed


def _lapse_dates(conn, permit_nos: set[str]) -> dict[tuple[str, int], dt.date]:
    """(permit, version) -> the Beijing date that version lapses, for the permits named."""
    dates: dict[tuple[str, int], dt.date] = {}
    wanted = sorted(permit_nos)
    for start in range(0, len(wanted), 500):
        for permit_no, version, expires_at in conn.execute(
            sa.select(_CREDENTIALS.c.permit_no, _CREDENTIALS.c.version, _CREDENTIALS.c.expires_at).where(
                _CREDENTIALS.c.permit_no.in_(wanted[start : start + 500])
            )
        ):
            dates[(permit_no, version)] = expires_at.astimezone(BEIJING).date()
    return dates


def _rekey(conn, new_key_of) -> None:
    """Give each reminder row ``new_key_of(permit, middle, reminder)`` unless None or taken."""
    rows = _reminder_rows(conn)
    taken = {f"{_PREFIX}{p}:{m}:{r}" for _id, p, m, r in rows}
    updates = []
    for row_id, permit_no, middle, reminder in rows:
        new = new_key_of(permit_no, middle, reminder)
        if new is None or new in taken:
            continue
        taken.add(new)
        updates.append({"row_id": row_id, "key": new})
    if updates:
        conn.execute(
            sa.update(_OUTBOX).where(_OUTBOX.c.id == sa.bindparam("row_id")).values(dedupe_key=sa.bindparam("key")),
            updates,
        )


def upgrade() -> None:
    conn = op.get_bind()
    dates = _lapse_dates(conn, {p for _id, p, _m, _r in _reminder_rows(conn)})

    def by_date(permit_no: str, middle: str, reminder: str) -> str | None:
        if not middle.isdigit():
            return None  # already the new form
        lapses_on = dates.get((permit_no, int(middle)))
        return None if lapses_on is None else f"{_PREFIX}{permit_no}:{lapses_on.isoformat()}:{reminder}"

    _rekey(conn, by_date)


def downgrade() -> None:
    conn = op.get_bind()
    newest: dict[tuple[str, str], int] = {}
    for (permit_no, version), lapses_on in _lapse_dates(conn, {p for _id, p, _m, _r in _reminder_rows(conn)}).items():
        key = (permit_no, lapses_on.isoformat())
        newest[key] = max(version, newest.get(key, version))

    def by_version(permit_no: str, middle: str, reminder: str) -> str | None:
        version = None if middle.isdigit() else newest.get((permit_no, middle))
        return None if version is None else f"{_PREFIX}{permit_no}:{version}:{reminder}"

    _rekey(conn, by_version)
