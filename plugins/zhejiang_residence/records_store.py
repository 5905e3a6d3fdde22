"""The built-in person-records source: residence registrations and existing permits in local
tables that ``govcred records import`` fills (DESIGN.md "The flow", step 2).

Rows are keyed by a blind index of the ID number, never the number itself: the HMAC-SHA256
that core keeps for equality look-ups on personal data (the host's ``secrets.index``, key
derived from ``GOVCRED_SECRET_KEY``), under this plugin's own purpose string. So the tables
hold no plaintext ID, every issuer host with the same secret computes the same key, and a
leaked table cannot be joined to other data without the secret. Divisions and dates are not
personal on their own and stay readable for the rules.

The tables live in the issuer's database, in this plugin's own Alembic branch
(``migrations/``). A :class:`RecordsStore` holds no connection: every call runs on the
session it is given -- the caller's unit of work, so a decision reads the records inside its
own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from govcred.core import ConfigError, PersonRecords, TZDateTime
from govcred.plugins.zhejiang_residence.records import snapshot

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from govcred.core import Secrets

SOURCE = "local-records"
_PURPOSE = "zhejiang_residence|records|id_number"

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

registrations = sa.Table(
    "zj_registrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_key", sa.String(64), nullable=False, index=True),
    sa.Column("division", sa.String(12), nullable=False),
    sa.Column("declared", sa.Date, nullable=False),
    sa.Column("ended", sa.Date),
    sa.Column("imported_at", TZDateTime, nullable=False),
)

permits = sa.Table(
    "zj_permits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_key", sa.String(64), nullable=False, index=True),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("issuer_division", sa.String(12), nullable=False),
    sa.Column("issued", sa.Date, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("imported_at", TZDateTime, nullable=False),
)


# built once: :meth:`RecordsStore.lookup` runs for every decision, and making the statement
# cost more than running it. One statement for both tables (a UNION ALL, ``permit`` telling
# the rows apart): a round trip less a decision, each costing the process and the database
# more than the read itself.
_r, _p = registrations.c, permits.c
_PERSON_ROWS = sa.union_all(
    sa.select(
        sa.literal_column("0", sa.Integer).label("permit"),
        _r.division.label("division"),
        _r.declared.label("day"),
        _r.ended.label("ended"),
        sa.cast(sa.null(), sa.String).label("number"),
        sa.cast(sa.null(), sa.String).label("status"),
        _r.id.label("id"),
    ).where(_r.person_key == sa.bindparam("key")),
    sa.select(
        sa.literal_column("1", sa.Integer),
        _p.issuer_division,
        _p.issued,
        sa.cast(sa.null(), sa.Date),
        _p.number,
        _p.status,
        _p.id,
    ).where(_p.person_key == sa.bindparam("key")),
)
_PERSON_ROWS = _PERSON_ROWS.order_by(*(_PERSON_ROWS.selected_columns[c] for c in ("permit", "day", "id")))


class RecordsStore:
    """The local records tables, read and written on the caller's session."""

    def __init__(self, secrets: Secrets | None):
        self._secrets = secrets

    def person_key(self, id_number: str) -> str:
        """The blind index this plugin files a person's rows under."""
        if self._secrets is None:
            raise ConfigError("the zhejiang_residence records store needs the host's secrets")
        return self._secrets.index(id_number, _PURPOSE)

    def lookup(self, session: Session, id_number: str) -> PersonRecords | None:
        """The person's rows as a records snapshot, or ``None`` when the tables know nothing."""
        regs: list[dict[str, Any]] = []
        held: list[dict[str, Any]] = []
        for row in session.execute(_PERSON_ROWS, {"key": self.person_key(id_number)}):
            if row.permit:
                held.append(
                    {"number": row.number, "issuer_division": row.division, "issued": row.day, "status": row.status}
                )
            else:
                regs.append({"division": row.division, "declared": row.day, "ended": row.ended})
        if not regs and not held:
            return None
        return snapshot(regs, held, source=SOURCE)

    def lookup_many(self, session: Session, id_numbers: Sequence[str]) -> dict[str, PersonRecords]:
        """:meth:`lookup` for many people in two queries (a batch of decisions); people the
        tables know nothing of are absent from the answer."""
        keys = {self.person_key(n): n for n in id_numbers}
        regs: dict[str, list] = {}
        held: dict[str, list] = {}
        r, p = registrations.c, permits.c
        for row in session.execute(
            sa.select(r.person_key, r.division, r.declared, r.ended)
            .where(r.person_key.in_(list(keys)))
            .order_by(r.person_key, r.declared, r.id)
        ).mappings():
            regs.setdefault(row["person_key"], []).append(
                {"division": row["division"], "declared": row["declared"], "ended": row["ended"]}
            )
        for row in session.execute(
            sa.select(p.person_key, p.number, p.issuer_division, p.issued, p.status)
            .where(p.person_key.in_(list(keys)))
            .order_by(p.person_key, p.issued, p.id)
        ).mappings():
            held.setdefault(row["person_key"], []).append(
                {k: row[k] for k in ("number", "issuer_division", "issued", "status")}
            )
        return {
            keys[key]: snapshot(regs.get(key, []), held.get(key, []), source=SOURCE)
            for key in regs.keys() | held.keys()
        }

    def replace_people(
        self, session: Session, people: Mapping[str, Mapping[str, list[dict[str, Any]]]], now: dt.datetime
    ) -> int:
        """Replace every row of each person in ``people`` (id number -> {"registrations",
        "permits"}) in the caller's transaction; returns the number of rows written."""
        written = 0
        for id_number, rows in people.items():
            key = self.person_key(id_number)
            session.execute(sa.delete(registrations).where(registrations.c.person_key == key))
            session.execute(sa.delete(permits).where(permits.c.person_key == key))
            regs = [{**r, "person_key": key, "imported_at": now} for r in rows.get("registrations", ())]
            held = [{**p, "person_key": key, "imported_at": now} for p in rows.get("permits", ())]
            if regs:
                session.execute(sa.insert(registrations), regs)
            if held:
                session.execute(sa.insert(permits), held)
            written += len(regs) + len(held)
        return written

    @staticmethod
    def count_rows(session: Session) -> dict[str, int]:
        return {
            "registrations": session.execute(sa.select(sa.func.count()).select_from(registrations)).scalar() or 0,
            "permits": session.execute(sa.select(sa.func.count()).select_from(permits)).scalar() or 0,
        }
