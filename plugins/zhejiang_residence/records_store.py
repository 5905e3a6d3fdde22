"""The built-in person-records source: residence registrations and existing permits in local
tables that ``govcred records import`` fills (DESIGN.md "The flow", step 2).

Rows are keyed by a blind index of the ID number, never the number itself: the HMAC-SHA256
that core keeps for equality look-ups on personal data (``core.crypto``, key derived from
``GOVCRED_SECRET_KEY``), under this plugin's own purpose string. So the tables hold no
plaintext ID, every issuer host with the same secret computes the same key, and a leaked
table cannot be joined to other data without the secret. Divisions and dates are not
personal on their own and stay readable for the rules.

The tables live in the issuer's database, in this plugin's own Alembic branch
(``migrations/``). The hook receives the caller's settings, so each runtime reads its own
database; reads run outside the caller's write transaction (SQLite: a plain ``BEGIN``).
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Mapping

import sqlalchemy as sa

from govcred.core.crypto import load_secrets
from govcred.core.db import READONLY, make_engine
from govcred.core.models import ExistingPermit, PersonRecords, Registration
from govcred.core.orm import TZDateTime

SOURCE = "local-records"
_PURPOSE = "zhejiang_residence|records|id_number"

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

registrations = sa.Table(
    "zj_registrations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_key", sa.String(64), nullable=False, index=True),
    sa.Column("division", sa.String(12), nullable=False),
    sa.Column("declared", sa.Date, nullable=False),
    sa.Column("ended", sa.Date),
    sa.Column("imported_at", TZDateTime, nullable=False),
)

permits = sa.Table(
    "zj_permits", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_key", sa.String(64), nullable=False, index=True),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("issuer_division", sa.String(12), nullable=False),
    sa.Column("issued", sa.Date, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("imported_at", TZDateTime, nullable=False),
)

_engines: dict[str, sa.engine.Engine] = {}
_keys: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()


def engine_for(settings) -> sa.engine.Engine:
    url = settings.database
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def person_key(settings, id_number: str) -> str:
    """The blind index this plugin files a person's rows under."""
    # what load_secrets derives the key from: the configured secret, or the data dir's dev one
    cache_key = (settings.secret_key, str(settings.data_dir), settings.mode)
    with _lock:
        index = _keys.get(cache_key)
        if index is None:
            index = _keys[cache_key] = load_secrets(settings).index
    return index(id_number, _PURPOSE)


def lookup(settings, id_number: str) -> PersonRecords | None:
    """The person's rows, or ``None`` when the local tables know nothing about them."""
    key = person_key(settings, id_number)
    with engine_for(settings).connect() as conn:
        conn = conn.execution_options(**{READONLY: True})
        regs = conn.execute(
            sa.select(registrations.c.division, registrations.c.declared, registrations.c.ended)
            .where(registrations.c.person_key == key).order_by(registrations.c.declared, registrations.c.id)
        ).all()
        held = conn.execute(
            sa.select(permits.c.number, permits.c.issuer_division, permits.c.issued, permits.c.status)
            .where(permits.c.person_key == key).order_by(permits.c.issued, permits.c.id)
        ).all()
    if not regs and not held:
        return None
    return PersonRecords(
        registrations=tuple(Registration(r.division, r.declared, r.ended) for r in regs),
        permits=tuple(ExistingPermit(p.number, p.issuer_division, p.issued, p.status) for p in held),
        source=SOURCE,
    )


def replace_people(settings, people: Mapping[str, Mapping[str, list[dict[str, Any]]]], now: dt.datetime) -> int:
    """Replace every row of each person in ``people`` (id number -> {"registrations", "permits"})
    in one transaction; returns the number of rows written."""
    written = 0
    with engine_for(settings).begin() as conn:
        for id_number, rows in people.items():
            key = person_key(settings, id_number)
            conn.execute(sa.delete(registrations).where(registrations.c.person_key == key))
            conn.execute(sa.delete(permits).where(permits.c.person_key == key))
            regs = [{**r, "person_key": key, "imported_at": now} for r in rows.get("registrations", ())]
            held = [{**p, "person_key": key, "imported_at": now} for p in rows.get("permits", ())]
            if regs:
                conn.execute(sa.insert(registrations), regs)
            if held:
                conn.execute(sa.insert(permits), held)
            written += len(regs) + len(held)
    return written


def count_rows(settings) -> dict[str, int]:
    with engine_for(settings).connect() as conn:
        conn = conn.execution_options(**{READONLY: True})
        return {
            "registrations": conn.execute(sa.select(sa.func.count()).select_from(registrations)).scalar() or 0,
            "permits": conn.execute(sa.select(sa.func.count()).select_from(permits)).scalar() or 0,
        }


def dispose() -> None:
    """Close pooled connections (tests that drop their database)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
