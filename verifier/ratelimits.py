"""Request limits shared by every verifier process, exact under concurrency.

The ``limits`` library's fixed-window strategy over one shared counter store: its Redis storage
when ``GOVCRED_VERIFIER_REDIS_URL`` is set (INCR is atomic on the server), else
:class:`VerifierDatabaseStorage`, a ``limits`` storage of our own over the verifier database
(``limits`` has no SQL storage; one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per hit
is atomic on SQLite and PostgreSQL alike). A hit counts before it is admitted, so N processes
racing on the last slot admit exactly one.

Windows are named by the verifier's clock (``window`` in the key), so a test clock moves them
and Retry-After says exactly when the next one opens.

What is limited (per minute): verify per institution (its ``rate_per_minute``) and per client
address; failed API keys per address (guessing); camera frames decoded (``/scan/decode``, the
costly path) per institution and per address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from limits import RateLimitItemPerMinute
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.engine import Engine

from govcred.verifier.db import limit_counters

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Policy:
    verify_per_address: int = 3000
    failed_keys_per_address: int = 10
    decodes_per_key: int = 120  # the page sends a frame every 0.7 s while the camera runs
    decodes_per_address: int = 240


class VerifierDatabaseStorage(Storage):
    """Counters in the verifier database's ``verifier_limit_counters`` table."""

    STORAGE_SCHEME = ["govcred-verifier-db"]

    def __init__(self, engine: Engine):
        super().__init__()
        self._engine = engine
        self._hits = 0

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = limit_counters
        insert = _insert_for(self._engine)(table).values(key=key, count=amount, expires_at=now + expiry)
        lapsed = table.c.expires_at <= now
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": sa.case((lapsed, amount), else_=table.c.count + amount),
                "expires_at": sa.case((lapsed, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        self._hits += 1
        with self._engine.begin() as conn:
            if self._hits % 512 == 0:  # forget lapsed windows now and then, not per request
                conn.execute(sa.delete(table).where(table.c.expires_at < now))
            return conn.execute(statement).scalar_one()

    def get(self, key: str) -> int:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(limit_counters.c.count).where(
                    limit_counters.c.key == key, limit_counters.c.expires_at > time.time()
                )
            ).first()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(limit_counters.c.expires_at).where(limit_counters.c.key == key)).first()
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._engine.begin() as conn:
            return conn.execute(sa.delete(limit_counters)).rowcount

    def clear(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.delete(limit_counters).where(limit_counters.c.key == key))


def _insert_for(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def storage_for(engine: Engine, redis_url: str | None) -> Storage:
    if redis_url:
        from limits.storage import RedisStorage

        return RedisStorage(redis_url, socket_timeout=2, socket_connect_timeout=2)
    return VerifierDatabaseStorage(engine)


class VerifierLimits:
    def __init__(self, storage: Storage, *, policy: Policy = Policy(), prefix: str = "govcred-verifier"):
        self._limiter = FixedWindowRateLimiter(storage)
        self._storage = storage
        self.policy = policy
        self._prefix = prefix

    def hit(self, what: str, who: str, per_minute: int, now: float) -> int | None:
        """Count one; None when admitted, else the seconds until the next window opens."""
        item, window = RateLimitItemPerMinute(per_minute), int(now) // WINDOW_SECONDS
        if self._limiter.hit(item, self._prefix, what, who, str(window)):
            return None
        return self.retry_after(now)

    def exhausted(self, what: str, who: str, per_minute: int, now: float) -> int | None:
        """Like :meth:`hit` without counting (is ``who`` already over the limit?)."""
        item, window = RateLimitItemPerMinute(per_minute), int(now) // WINDOW_SECONDS
        if self._limiter.test(item, self._prefix, what, who, str(window)):
            return None
        return self.retry_after(now)

    @staticmethod
    def retry_after(now: float) -> int:
        return max(1, (int(now) // WINDOW_SECONDS + 1) * WINDOW_SECONDS - int(now))
