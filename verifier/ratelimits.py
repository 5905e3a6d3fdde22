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

import contextlib
import re
import time
from dataclasses import dataclass

import sqlalchemy as sa
from limits import RateLimitItemPerMinute
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.engine import Engine

from govcred.verifier.db import limit_counters, write_lock

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Policy:
    verify_per_address: int = 3000
    failed_keys_per_address: int = 10
    decodes_per_key: int = 120  # the page sends a frame every 0.7 s while the camera runs
    decodes_per_address: int = 240


_INCR = (
    "INSERT INTO verifier_limit_counters (key, count, expires_at) VALUES (:key, :n, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN verifier_limit_counters.expires_at <= :now THEN :n ELSE verifier_limit_counters.count + :n END, "
    "expires_at = CASE WHEN verifier_limit_counters.expires_at <= :now THEN :expires "
    "ELSE verifier_limit_counters.expires_at END "
    "RETURNING count"
)
_GET = "SELECT count FROM verifier_limit_counters WHERE key = :key AND expires_at > :now"
_FORGET = "DELETE FROM verifier_limit_counters WHERE expires_at < :now"


class VerifierDatabaseStorage(Storage):
    """Counters in the verifier database's ``verifier_limit_counters`` table.

    On the DB-API connection with the SQL written once: a hit is on every request's path, and
    SQLAlchemy's statement layer cost several times the statement itself."""

    STORAGE_SCHEME = ["govcred-verifier-db"]

    def __init__(self, engine: Engine):
        super().__init__()
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        named = self._sqlite or engine.dialect.paramstyle == "named"  # sqlite3 takes :name whatever SA uses
        convert = (lambda sql: sql) if named else (lambda sql: re.sub(r":(\w+)", r"%(\1)s", sql))
        self._incr, self._get, self._forget = map(convert, (_INCR, _GET, _FORGET))
        self._hits = 0

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    def _run(self, sql: str, params: dict, *, write: bool):
        with write_lock(self._engine) if write else contextlib.nullcontext():
            return self._run_locked(sql, params, write=write)

    def _run_locked(self, sql: str, params: dict, *, write: bool):
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            if write and self._sqlite:  # an autocommit connection: the write transaction is ours
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(sql, params)
            row = cursor.fetchone()
            if write:
                self._hits += 1
                if self._hits % 512 == 0:  # forget lapsed windows now and then, not per request
                    cursor.execute(self._forget, {"now": params["now"]})
            conn.commit()
            return row
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        return self._run(self._incr, {"key": key, "n": amount, "expires": now + expiry, "now": now}, write=True)[0]

    def get(self, key: str) -> int:
        row = self._run(self._get, {"key": key, "now": time.time()}, write=False)
        return row[0] if row else 0

    def admit(self, guard: tuple[str, int], counted: list[tuple[str, int, int]]) -> bool:
        """One transaction for a request's limits: refused (nothing counted) when ``guard``
        (key, limit) is already at its limit; else each (key, expiry, limit) counted, and
        admitted when every one is within its limit."""
        with write_lock(self._engine):
            return self._admit_locked(guard, counted)

    def _admit_locked(self, guard: tuple[str, int], counted: list[tuple[str, int, int]]) -> bool:
        now = time.time()
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            if self._sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(self._get, {"key": guard[0], "now": now})
            row = cursor.fetchone()
            if row is not None and row[0] >= guard[1]:
                conn.rollback()
                return False
            admitted = True
            for key, expiry, limit in counted:
                cursor.execute(self._incr, {"key": key, "n": 1, "expires": now + expiry, "now": now})
                admitted = cursor.fetchone()[0] <= limit and admitted
            self._hits += 1
            if self._hits % 512 == 0:
                cursor.execute(self._forget, {"now": now})
            conn.commit()
            return admitted
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

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

    def admit(self, guard: tuple[str, str, int], counted: list[tuple[str, str, int]], now: float) -> int | None:
        """A request's limits in one round trip to the store: None when ``guard`` (what, who,
        limit) is not yet at its limit and every ``counted`` one admits one more; else the
        seconds until the next window. The same counters as :meth:`hit` and :meth:`exhausted`.

        Why not three calls to the ``limits`` strategy: on every request each is a round trip
        (a Redis call, a database transaction), and together they cost more than verifying."""
        window = str(int(now) // WINDOW_SECONDS)
        guard_item = RateLimitItemPerMinute(guard[2])
        guard_key = guard_item.key_for(self._prefix, guard[0], guard[1], window)
        items = [(RateLimitItemPerMinute(n), what, who) for what, who, n in counted]
        keys = [
            (item.key_for(self._prefix, what, who, window), item.get_expiry(), item.amount) for item, what, who in items
        ]
        storage = self._storage
        if isinstance(storage, VerifierDatabaseStorage):
            admitted = storage.admit((guard_key, guard_item.amount), keys)
        elif hasattr(storage, "lua_incr_expire"):  # limits' RedisStorage: one pipeline
            pipe = storage.get_connection().pipeline(transaction=False)
            pipe.get(storage.prefixed_key(guard_key))
            for key, expiry, _limit in keys:
                storage.lua_incr_expire([storage.prefixed_key(key)], [expiry, 1], client=pipe)
            guard_count, *counts = pipe.execute()
            admitted = int(guard_count or 0) < guard_item.amount and all(
                int(count) <= limit for count, (_k, _e, limit) in zip(counts, keys)
            )
        else:
            if self.exhausted(*guard, now) is not None:
                return self.retry_after(now)
            results = [self.hit(what, who, n, now) is None for what, who, n in counted]  # count every one
            admitted = all(results)
        return None if admitted else self.retry_after(now)

    @staticmethod
    def retry_after(now: float) -> int:
        return max(1, (int(now) // WINDOW_SECONDS + 1) * WINDOW_SECONDS - int(now))
