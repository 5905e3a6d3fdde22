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

import collections
import contextlib
import functools
import os
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

    On DB-API connections the storage keeps open, with the SQL written once: a hit is on every
    request's path, and SQLAlchemy's statement layer and its pool (a checkout, a reset-on-return
    rollback, PostgreSQL's pre-ping) cost several times the transaction itself (bench
    verify_http: 230 µs a request through the pool, 30 µs on a held connection)."""

    STORAGE_SCHEME = ["govcred-verifier-db"]

    def __init__(self, engine: Engine):
        super().__init__()
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        named = self._sqlite or engine.dialect.paramstyle == "named"  # sqlite3 takes :name whatever SA uses
        convert = (lambda sql: sql) if named else (lambda sql: re.sub(r":(\w+)", r"%(\1)s", sql))
        self._incr, self._get, self._forget = map(convert, (_INCR, _GET, _FORGET))
        self._hits = 0
        #: idle connections, one per thread that ran a transaction at the same time as another
        self._idle: collections.deque = collections.deque()
        self._pid = os.getpid()
        # The kept connections are not the pool's, so the engine's dispose would not close them:
        # a verifier shut down (or a test done with it) would keep its database open until the
        # garbage collector found them -- on SQLite the -wal and -shm files then vanish at a
        # moment nobody chose.
        sa.event.listen(engine, "engine_disposed", self._close_kept)

    @property
    def base_exceptions(self):
        return (sa.exc.SQLAlchemyError, self._engine.dialect.loaded_dbapi.Error)

    def _transaction(self, body, *, write: bool = True):
        """``body(cursor)`` in one transaction on a held connection (a write on SQLite: under the
        engine's write lock, BEGIN IMMEDIATE; a read takes neither). A connection that fails is
        closed, not kept; when a kept one fails (the server restarted since), the transaction runs
        once more on a new one."""
        for attempt in (1, 2):
            conn, kept = self._checkout()
            try:
                with write_lock(self._engine) if write else contextlib.nullcontext():
                    cursor = conn.cursor()
                    if write and self._sqlite:  # an autocommit connection: the write transaction is ours
                        cursor.execute("BEGIN IMMEDIATE")
                    try:
                        result = body(cursor)
                        conn.commit()
                    except BaseException:
                        conn.rollback()
                        raise
            except self._engine.dialect.loaded_dbapi.Error:
                with contextlib.suppress(Exception):
                    conn.close()
                if kept and attempt == 1:
                    continue
                raise
            self._idle.append(conn)
            return result

    def _close_kept(self, _engine: Engine) -> None:
        kept, self._idle = self._idle, collections.deque()
        if self._pid != os.getpid():  # a forked child's copies: the parent's to close, not ours
            return
        for conn in kept:
            with contextlib.suppress(Exception):  # one already broken is closed as well as it can be
                conn.close()

    def _checkout(self):
        if self._pid != os.getpid():  # a forked child never shares its parent's connections
            self._idle, self._pid = collections.deque(), os.getpid()
        try:
            return self._idle.pop(), True
        except IndexError:
            pass
        # detached from the pool: held by this storage for good (the engine's connect events,
        # e.g. SQLite's WAL pragmas, have run on it)
        fairy = self._engine.raw_connection()
        fairy.detach()
        return fairy.dbapi_connection, False

    def _run(self, sql: str, params: dict, *, write: bool):
        def body(cursor):
            cursor.execute(sql, params)
            row = cursor.fetchone()
            if write:
                self._forget_now_and_then(cursor, params["now"])
            return row

        return self._transaction(body, write=write)

    def _forget_now_and_then(self, cursor, now: float) -> None:
        self._hits += 1
        if self._hits % 512 == 0:  # forget lapsed windows now and then, not per request
            cursor.execute(self._forget, {"now": now})

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
        now = time.time()

        def body(cursor):
            cursor.execute(self._get, {"key": guard[0], "now": now})
            row = cursor.fetchone()
            if row is not None and row[0] >= guard[1]:
                return False  # nothing written: the commit ends an empty transaction
            admitted = True
            for key, expiry, limit in counted:
                cursor.execute(self._incr, {"key": key, "n": 1, "expires": now + expiry, "now": now})
                admitted = cursor.fetchone()[0] <= limit and admitted
            self._forget_now_and_then(cursor, now)
            return admitted

        return self._transaction(body)

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


#: :meth:`VerifierLimits.admit` on Redis, as the verifier database does it: nothing counted
#: while the guard (KEYS[1]) is at its limit (ARGV[1]); else each further key counted as limits'
#: own incr_expire script counts (INCRBY; the first hit of a window sets its expiry), the counts
#: returned in order. One script: atomic on the server, one round trip.
_REDIS_ADMIT = """
if tonumber(redis.call("get", KEYS[1]) or "0") >= tonumber(ARGV[1]) then
    return {}
end
local counts = {}
for i = 2, #KEYS do
    local current = redis.call("incrby", KEYS[i], 1)
    if current == 1 then
        redis.call("expire", KEYS[i], ARGV[i])
    end
    counts[i - 1] = current
end
return counts
"""


def storage_for(engine: Engine, redis_url: str | None) -> Storage:
    if redis_url:
        from limits.storage import RedisStorage

        return RedisStorage(redis_url, socket_timeout=2, socket_connect_timeout=2)
    return VerifierDatabaseStorage(engine)


@functools.lru_cache(maxsize=4096)
def _counter(prefix: str, what: str, who: str, per_minute: int, window: str) -> tuple[str, int, int]:
    """(key, expiry, limit) of one counter in one window, as the ``limits`` strategy names it;
    remembered, since the same few are asked for on every request of a window."""
    item = RateLimitItemPerMinute(per_minute)
    return item.key_for(prefix, what, who, window), item.get_expiry(), item.amount


class VerifierLimits:
    def __init__(self, storage: Storage, *, policy: Policy = Policy(), prefix: str = "govcred-verifier"):
        self._limiter = FixedWindowRateLimiter(storage)
        self._storage = storage
        self.policy = policy
        self._prefix = prefix
        self._redis_admit = None  # the admission script, registered on first use

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
        guard_key, _expiry, guard_limit = _counter(self._prefix, *guard, window)
        keys = [_counter(self._prefix, what, who, n, window) for what, who, n in counted]
        storage = self._storage
        if isinstance(storage, VerifierDatabaseStorage):
            admitted = storage.admit((guard_key, guard_limit), keys)
        elif hasattr(storage, "lua_incr_expire"):  # limits' RedisStorage: one script, atomic on the server
            if self._redis_admit is None:
                self._redis_admit = storage.get_connection().register_script(_REDIS_ADMIT)
            counts = self._redis_admit(
                keys=[storage.prefixed_key(guard_key)] + [storage.prefixed_key(key) for key, _e, _l in keys],
                args=[guard_limit] + [expiry for _k, expiry, _l in keys],
            )
            admitted = bool(counts) and all(int(count) <= limit for count, (_k, _e, limit) in zip(counts, keys))
        else:
            if self.exhausted(*guard, now) is not None:
                return self.retry_after(now)
            results = [self.hit(what, who, n, now) is None for what, who, n in counted]  # count every one
            admitted = all(results)
        return None if admitted else self.retry_after(now)

    @property
    def store_name(self) -> str:
        """Where the counters are kept: "redis" or "database" (the verifier database)."""
        return "database" if isinstance(self._storage, VerifierDatabaseStorage) else "redis"

    def store_reachable(self) -> bool:
        """Whether the counter store answers now (a Redis PING, or a query on the database)."""
        try:
            return bool(self._storage.check())
        except Exception:  # the store's own client may raise instead of answering False
            return False

    @staticmethod
    def retry_after(now: float) -> int:
        return max(1, (int(now) // WINDOW_SECONDS + 1) * WINDOW_SECONDS - int(now))
