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

Reserved slots: a limit up to :data:`COUNTED_ONE_BY_ONE` a minute is counted one request at a
time in the shared store, exact both ways. Above it, while much of a window is left, a process
takes a few slots at once (at most 1/:data:`RESERVE_SHARE` of what remained, at most
:data:`MAX_RESERVED`) and admits from them without a write: the shared count never lets more in
than the limit, and a window can end at most that many slots under it per process. Why: the
write per request was the verifier's largest cost after the signature (bench verify_http), and
a busy institution's limit (thousands a minute) is the one where it mattered.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import re
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from limits import RateLimitItemPerMinute
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.engine import Engine

from govcred.core.outages import storage_full
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
            except self._engine.dialect.loaded_dbapi.Error as exc:
                if storage_full(exc):  # the disk, not the connection: kept (opening another fails too)
                    self._idle.append(conn)
                    raise
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

    def admit(self, guard: tuple[str, int], asked: list[tuple[str, int, int]]) -> list[int] | None:
        """One transaction for a request's limits: None (nothing counted) when ``guard`` (key,
        limit) is already at its limit; else each (key, expiry, amount) counted up by its amount,
        and the counts after, in order."""
        now = time.time()

        def body(cursor):
            cursor.execute(self._get, {"key": guard[0], "now": now})
            row = cursor.fetchone()
            if row is not None and row[0] >= guard[1]:
                return None  # nothing written: the commit ends an empty transaction
            counts = []
            for key, expiry, amount in asked:
                cursor.execute(self._incr, {"key": key, "n": amount, "expires": now + expiry, "now": now})
                counts.append(cursor.fetchone()[0])
            self._forget_now_and_then(cursor, now)
            return counts

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


#: :meth:`VerifierDatabaseStorage.admit` on Redis: nothing counted while the guard (KEYS[1]) is
#: at its limit (ARGV[1]); else each further key KEYS[i] counted up by its amount (ARGV[2i-1]) as
#: limits' own incr_expire script counts (INCRBY; the first hit of a window sets its expiry,
#: ARGV[2i-2]), the counts returned in order. One script: atomic on the server, one round trip.
_REDIS_ADMIT = """
if tonumber(redis.call("get", KEYS[1]) or "0") >= tonumber(ARGV[1]) then
    return {}
end
local counts = {}
for i = 2, #KEYS do
    local current = redis.call("incrby", KEYS[i], tonumber(ARGV[2 * i - 1]))
    if current == tonumber(ARGV[2 * i - 1]) then
        redis.call("expire", KEYS[i], ARGV[2 * i - 2])
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


#: limits up to this many a minute are counted one request at a time (see the module's docstring)
COUNTED_ONE_BY_ONE = 1000
#: a reservation takes at most this share of what remains of the window beyond COUNTED_ONE_BY_ONE
RESERVE_SHARE = 64
#: and never more than this many slots
MAX_RESERVED = 256


class ReservedSlots:
    """The slots this process reserved in the shared counters and has not used yet, per counter
    key (keys name their window, so a new window starts with none). Thread-safe; emptied in a
    forked child, which must never spend its parent's slots."""

    def __init__(self):
        self._lock = threading.Lock()
        self._left: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # the shared count when this process last reserved
        self._window, self._pid = "", os.getpid()

    def take(self, window: str, keys: list[str]) -> list[bool]:
        """For each key, whether one of its reserved slots was taken for this request."""
        with self._lock:
            if window != self._window or self._pid != os.getpid():
                self._left.clear()
                self._seen.clear()
                self._window, self._pid = window, os.getpid()
            taken = []
            for key in keys:
                left = self._left.get(key, 0)
                if left:
                    self._left[key] = left - 1
                taken.append(bool(left))
            return taken

    def give_back(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._left[key] = self._left.get(key, 0) + 1

    def amount(self, key: str, limit: int) -> int:
        """How many slots to ask for: one while the limit is small or little of it is left."""
        seen = self._seen.get(key)
        if seen is None or limit <= COUNTED_ONE_BY_ONE:
            return 1
        return max(1, min(MAX_RESERVED, (limit - seen - COUNTED_ONE_BY_ONE) // RESERVE_SHARE))

    def reserved(self, key: str, count: int, amount: int, limit: int) -> bool:
        """Note the shared ``count`` after ``amount`` slots were asked for; True when one of them is
        within the limit (this request's), the rest within it kept for the next requests."""
        usable = max(0, min(amount, limit - (count - amount)))
        with self._lock:
            self._seen[key] = count
            if usable > 1:
                self._left[key] = self._left.get(key, 0) + usable - 1
        return usable >= 1


class VerifierLimits:
    def __init__(self, storage: Storage, *, policy: Policy = Policy(), prefix: str = "govcred-verifier"):
        self._limiter = FixedWindowRateLimiter(storage)
        self._storage = storage
        self.policy = policy
        self._prefix = prefix
        self._redis_admit = None  # the admission script, registered on first use
        self._slots = ReservedSlots()

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
        """A request's limits in at most one round trip to the store: None when ``guard`` (what,
        who, limit) is not yet at its limit and every ``counted`` one admits one more; else the
        seconds until the next window. The same counters as :meth:`hit` and :meth:`exhausted`;
        slots reserved earlier by this process are used first (the module's docstring).

        Why not three calls to the ``limits`` strategy: on every request each is a round trip
        (a Redis call, a database transaction), and together they cost more than verifying."""
        window = str(int(now) // WINDOW_SECONDS)
        guard_key, _expiry, guard_limit = _counter(self._prefix, *guard, window)
        keys = [_counter(self._prefix, what, who, n, window) for what, who, n in counted]
        storage = self._storage
        if not isinstance(storage, VerifierDatabaseStorage) and not hasattr(storage, "lua_incr_expire"):
            if self.exhausted(*guard, now) is not None:  # another store: the strategy's own calls
                return self.retry_after(now)
            results = [self.hit(what, who, n, now) is None for what, who, n in counted]  # count every one
            return None if all(results) else self.retry_after(now)
        taken = self._slots.take(window, [key for key, _e, _l in keys])
        spent = [key for (key, _e, _l), took in zip(keys, taken) if took]
        wanted = [(key, expiry, limit) for (key, expiry, limit), took in zip(keys, taken) if not took]
        asked = [(key, expiry, self._slots.amount(key, limit)) for key, expiry, limit in wanted]
        try:
            if asked:
                counts = self._store_admit(guard_key, guard_limit, asked)
            else:  # every slot was reserved already: only the guard is read
                counts = None if storage.get(guard_key) >= guard_limit else []
        except BaseException:
            self._slots.give_back(spent)
            raise
        if counts is None:  # the address is guessing keys: nothing counted, nothing spent
            self._slots.give_back(spent)
            return self.retry_after(now)
        admitted = True
        for (key, _expiry, amount), (_k, _e, limit), count in zip(asked, wanted, counts):
            admitted = self._slots.reserved(key, count, amount, limit) and admitted
        return None if admitted else self.retry_after(now)

    def _store_admit(self, guard_key: str, guard_limit: int, asked: list[tuple[str, int, int]]) -> list[int] | None:
        storage = self._storage
        if isinstance(storage, VerifierDatabaseStorage):
            return storage.admit((guard_key, guard_limit), asked)
        if self._redis_admit is None:  # limits' RedisStorage: one script, atomic on the server
            self._redis_admit = storage.get_connection().register_script(_REDIS_ADMIT)
        counts = self._redis_admit(
            keys=[storage.prefixed_key(guard_key)] + [storage.prefixed_key(key) for key, _e, _n in asked],
            args=[guard_limit] + [value for _k, expiry, amount in asked for value in (expiry, amount)],
        )
        return [int(count) for count in counts] if counts else None

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
