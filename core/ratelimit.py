"""Rate limits shared by every process: the ``limits`` library's fixed-window strategy on a
storage kept in the issuer's own database.

Why a storage of our own: ``limits`` ships memory, Redis, Memcached and MongoDB storages but
none for SQL, and the embedded deployment has the database as the only store its gunicorn
workers share (a memory storage would give each worker its own count). Each hit is ONE
statement, ``INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + n ... RETURNING count``,
in its own committed transaction, so concurrent requests on SQLite and PostgreSQL never read a
count and write it back: twenty requests racing for a limit of five get exactly five.

Windows run on the runtime's clock (tests move it; production uses the wall clock), and a
key's window starts at its first hit, as in ``limits``' own storages.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite

from govcred.core.clock import Clock
from govcred.core.exceptions import RateLimited
from govcred.core.orm import TZDateTime, rate_limit_counters

#: Rows of windows that ended are deleted every this many hits of one storage.
SWEEP_EVERY = 200


class DatabaseStorage(Storage):
    """A ``limits`` storage on the ``rate_limit_counters`` table, through units of work."""

    STORAGE_SCHEME = ["govcred-db"]

    def __init__(self, uow: Callable, clock: Clock):
        super().__init__()
        self._uow = uow
        self._clock = clock
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock.now()
        ends = now + dt.timedelta(seconds=expiry)
        c = rate_limit_counters.c
        with self._uow() as uow:
            insert = (postgresql if uow.session.bind.dialect.name == "postgresql" else sqlite).insert
            stmt = insert(rate_limit_counters).values(key=key, count=amount, expires_at=ends)
            expired = c.expires_at <= sa.bindparam("now", now, type_=TZDateTime)  # its window is over
            stmt = stmt.on_conflict_do_update(
                index_elements=[c.key],
                set_={
                    "count": sa.case((expired, stmt.excluded.count), else_=c.count + stmt.excluded.count),
                    "expires_at": sa.case((expired, stmt.excluded.expires_at), else_=c.expires_at),
                },
            ).returning(c.count)
            count = uow.session.execute(stmt).scalar_one()
            self._hits += 1
            if self._hits % SWEEP_EVERY == 0:
                uow.session.execute(sa.delete(rate_limit_counters).where(c.expires_at <= now))
            uow.commit()
        return count

    def _row(self, key: str):
        with self._uow(readonly=True) as uow:
            return (
                uow.session.execute(sa.select(rate_limit_counters).where(rate_limit_counters.c.key == key))
                .mappings()
                .first()
            )

    def get(self, key: str) -> int:
        row = self._row(key)
        return 0 if row is None or row["expires_at"] <= self._clock.now() else row["count"]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        now = self._clock.now()
        return (row["expires_at"] if row is not None and row["expires_at"] > now else now).timestamp()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._uow() as uow:
            count = uow.session.execute(sa.delete(rate_limit_counters)).rowcount
            uow.commit()
        return count

    def clear(self, key: str) -> None:
        with self._uow() as uow:
            uow.session.execute(sa.delete(rate_limit_counters).where(rate_limit_counters.c.key == key))
            uow.commit()


@dataclass(frozen=True)
class Limit:
    """One limit: a rate (``"5/hour"``), what it counts, and the refusal it answers with."""

    rate: str
    scope: str  # a name for the key: "sms-number", "sms-address", "sms-total"
    code: str
    message: str

    @property
    def item(self) -> RateLimitItem:
        return parse(self.rate)


def hit_all(storage: Storage, clock: Clock, limits: Sequence[tuple[Limit, str]]) -> None:
    """Count one hit against each ``(limit, identifier)`` in order; the first one over its
    rate raises :class:`RateLimited` with ``retry_after`` (seconds until its window ends).
    Limits after the refused one are not counted, so a request refused for one number does
    not use up its address's or everybody's allowance."""
    limiter = FixedWindowRateLimiter(storage)
    for limit, identifier in limits:
        item = limit.item
        if not limiter.hit(item, limit.scope, identifier):
            reset = limiter.get_window_stats(item, limit.scope, identifier).reset_time
            retry_after = max(1, math.ceil(reset - clock.now().timestamp()))
            raise RateLimited(limit.message, code=limit.code, retry_after=retry_after)
