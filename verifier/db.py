"""The verifier's OWN small database (never the issuer's): institutions and their hashed API
keys, shared limit counters and used presentations, the verification log, and the last good copy of fetched keys and lists.

SQLite in the verifier's data directory by default, or any SQLAlchemy URL. The tables are
created on start; there is nothing to migrate yet.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from govcred.core.clock import as_utc
from govcred.core.exceptions import AuthenticationRequired, ConfigError, Conflict, ErrorList
from govcred.core.outages import outage_kind

log = logging.getLogger("govcred.verifier.db")

metadata = sa.MetaData()

clients = sa.Table(
    "verifier_clients",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("rate_per_minute", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

#: No personal data: the credential appears only as the SHA-256 of its id.
verification_log = sa.Table(
    "verification_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(16), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("credential_hash", sa.String(64), index=True),
    sa.Column("kind", sa.String(16)),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("reasons", sa.String(200), nullable=False),
)

fetched_copies = sa.Table(
    "verifier_fetched_copies",
    metadata,
    sa.Column("source", sa.String(600), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("fetched_at", sa.Float, nullable=False),
)

#: Presentations already verified (digest of issuer and jti), until they would have expired anyway.
seen_presentations = sa.Table(
    "verifier_seen_presentations",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("until", sa.Float, nullable=False, index=True),
)

#: Fixed-window counters of :mod:`govcred.verifier.ratelimits` (when no Redis is configured).
limit_counters = sa.Table(
    "verifier_limit_counters",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

KEY_PREFIX = "gcv"
DEFAULT_RATE_PER_MINUTE = 600


def make_verifier_engine(url: str) -> Engine:
    """An engine for the verifier database. SQLite runs in WAL with ``synchronous=NORMAL``:
    a verification-log row lost in a power cut is acceptable, an fsync per request is not."""
    if not url.startswith("sqlite"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
            # a typo (postgres://, a missing scheme) ended the command in SQLAlchemy's traceback
            try:
                shown = sa.engine.make_url(url).render_as_string()  # the password hidden
            except (sa.exc.ArgumentError, ValueError):
                shown = "无法解析的地址"
            raise ConfigError(
                f"核验服务的数据库地址不可用 (--database-url / GOVCRED_VERIFIER_DATABASE_URL: {shown})：{exc}；"
                "应为 postgresql://用户@主机/数据库 或 sqlite:///文件路径"
            ) from None
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    database = engine.url.database

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        if database and database != ":memory:":  # the verification log: the owner's only
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.chmod(database + suffix, 0o600)
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    lock = _WRITE_LOCKS[id(engine)] = WriteLock(f"{database}.lock" if database and database != ":memory:" else None)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        lock.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            lock.release()
            raise

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _on_end(_conn):
        lock.release()

    return engine


class WriteLock:
    """One writer at a time on a SQLite verifier database, across threads and processes.

    Why: SQLite makes a second writer poll with sleeps of a millisecond and more (its busy
    handler), which under several gunicorn workers costs more than the request itself; an
    ``flock`` wakes the next writer the moment the lock is free. Re-entrant in a thread."""

    def __init__(self, path: str | None):
        self._path = path
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._thread.acquire()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            if self._pid != os.getpid():  # opened after the fork: a descriptor is per process
                self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._depth == 0:  # a rollback with no transaction of ours open
            return
        self._depth -= 1
        if self._depth == 0 and self._path is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


_WRITE_LOCKS: dict[int, WriteLock] = {}


def write_lock(engine: Engine):
    """The engine's :class:`WriteLock` (SQLite), or nothing to hold (PostgreSQL waits well)."""
    return _WRITE_LOCKS.get(id(engine)) or contextlib.nullcontext()


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def credential_hash(credential_id: str) -> str:
    return hashlib.sha256(credential_id.encode("utf-8")).hexdigest()


def _key_hash(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def add_client(engine: Engine, name: str, *, now: dt.datetime, rate_per_minute: int = DEFAULT_RATE_PER_MINUTE) -> str:
    """Register an institution; returns its API key, which is shown once and stored hashed."""
    errors = ErrorList()
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors.add("name", "NAME_INVALID", "机构名称必填，最多 100 个字符")
    if not isinstance(rate_per_minute, int) or not 1 <= rate_per_minute <= 100_000:
        errors.add("rate_per_minute", "RATE_INVALID", "每分钟请求上限须在 1 到 100000 之间")
    errors.raise_if_any()
    client_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.execute(sa.select(clients.c.id).where(clients.c.name == name)).first() is not None:
            raise Conflict(f"机构 {name} 已存在", code="CLIENT_EXISTS")
        conn.execute(
            sa.insert(clients).values(
                id=client_id,
                name=name,
                key_hash=_key_hash(secret),
                rate_per_minute=rate_per_minute,
                active=True,
                created_at=now,
            )
        )
    return f"{KEY_PREFIX}_{client_id}_{secret}"


_CLIENT_BY_ID = sa.text("SELECT id, name, key_hash, rate_per_minute, active FROM verifier_clients WHERE id = :id")


def verifications_of(engine: Engine, credential_id: str) -> list[dict]:
    """Who verified a credential, newest first: institution, time, result."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(clients.c.name, verification_log.c.at, verification_log.c.valid)
            .join(clients, clients.c.id == verification_log.c.client_id)
            .where(verification_log.c.credential_hash == credential_hash(credential_id))
            .order_by(verification_log.c.at.desc(), verification_log.c.id.desc())
            .limit(500)
        ).all()
    return [{"institution": r.name, "at": as_utc(r.at).isoformat(), "valid": r.valid} for r in rows]


class CopyStore:
    """Last good copies of fetched JWKS and status lists, so a restarted verifier has them."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def load(self) -> dict[str, tuple[bytes, float]]:
        with self._engine.connect() as conn:
            return {r.source: (r.body, r.fetched_at) for r in conn.execute(sa.select(fetched_copies))}

    def save(self, source: str, body: bytes, fetched_at: float) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.delete(fetched_copies).where(fetched_copies.c.source == source))
            conn.execute(sa.insert(fetched_copies).values(source=source, body=body, fetched_at=fetched_at))


# -- the per-request path ------------------------------------------------------------------
# A verification takes a fraction of a millisecond; a write transaction per request costs
# more than that, and under several worker processes SQLite's lock makes them queue. So each
# process keeps the log rows of the last moments in memory and a background thread writes them
# in one transaction every ``flush_seconds`` (default 50 ms), and on exit. A log row is at most
# one interval old when written; a process killed outright loses those. Limits are NOT batched
# (they must be exact across processes): :mod:`govcred.verifier.ratelimits`.

_INSERT_LOG = (
    "INSERT INTO verification_log (client_id, at, credential_hash, kind, valid, reasons) "
    "VALUES (:client, :at, :hash, :kind, :valid, :reasons)"
)


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    rate_per_minute: int


#: How long a verification stays in the log (the holder's "who verified my permit" list and
#: the institutions' usage): half a year, then it goes (``govcred verifier purge``; the
#: service itself once a day).
LOG_RETENTION = dt.timedelta(days=180)


def purge_log(engine: Engine, before: dt.datetime, *, dry_run: bool = False) -> int:
    """Remove (or count) the log rows older than ``before``; how many."""
    old = verification_log.c.at < before.astimezone(dt.UTC)
    if dry_run:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(verification_log).where(old)).scalar() or 0
    with write_lock(engine), engine.begin() as conn:
        return conn.execute(sa.delete(verification_log).where(old)).rowcount or 0


#: longer than any key add_client makes (prefix, 12-character id, 43-character secret)
MAX_KEY_CHARS = 200


class RequestRecorder:
    #: How long an institution's row is trusted from memory (a disabled key stops within this).
    CLIENT_TTL_SECONDS = 5.0
    #: Log rows held in memory while the database cannot take them (a full disk, an outage)
    #: before verifications are refused: every answer is logged, and memory is not the log.
    MAX_PENDING_ROWS = 20_000

    def __init__(self, engine: Engine, *, flush_seconds: float = 0.05):
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        named = self._sqlite or engine.dialect.paramstyle == "named"  # sqlite3 takes :name whatever SA uses
        convert = (lambda sql: sql) if named else (lambda sql: re.sub(r":(\w+)", r"%(\1)s", sql))
        self._insert = convert(_INSERT_LOG)
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._clients: dict[str, tuple[float, sa.Row | None]] = {}
        self._rows: list[dict] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False  # the last write failed: said once, and once when it works again

    # -- per request (memory only) ----------------------------------------------------------
    def authenticate(self, api_key: str | None) -> Client:
        """The institution an API key ``gcv_<id>_<secret>`` belongs to; AuthenticationRequired otherwise."""
        parts = api_key.split("_", 2) if isinstance(api_key, str) else []
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            raise AuthenticationRequired("需要有效的 API 密钥", code="API_KEY_REQUIRED")
        if not api_key.isascii() or len(api_key) > MAX_KEY_CHARS:  # never one of ours (nor worth a look-up)
            raise AuthenticationRequired("API 密钥无效", code="API_KEY_INVALID")
        row = self._client_row(parts[1])
        if row is None or not row.active or not hmac.compare_digest(row.key_hash, _key_hash(parts[2])):
            raise AuthenticationRequired("API 密钥无效", code="API_KEY_INVALID")
        return Client(row.id, row.name, row.rate_per_minute)

    def _client_row(self, client_id: str):
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached is not None and now - cached[0] < self.CLIENT_TTL_SECONDS:
            return cached[1]
        with self._engine.connect() as conn:
            row = conn.execute(_CLIENT_BY_ID, {"id": client_id}).first()
        if len(self._clients) > 10_000:  # unknown ids are cached too; keep the map bounded
            self._clients.clear()
        self._clients[client_id] = (now, row)
        return row

    def record(
        self,
        *,
        client_id: str,
        at: dt.datetime,
        credential_id: str | None,
        kind: str | None,
        valid: bool,
        reasons: list[str],
    ) -> None:
        at = at.astimezone(dt.UTC)
        if self._sqlite:  # the text form SQLAlchemy's DateTime reads back on SQLite
            at = at.replace(tzinfo=None).isoformat(sep=" ")
        row = {
            "client": client_id,
            "at": at,
            "kind": kind,
            "valid": valid,
            "reasons": ",".join(reasons)[:200],
            "hash": credential_hash(credential_id) if credential_id else None,
        }
        with self._lock:
            self._rows.append(row)

    def backlogged(self) -> bool:
        """Whether so many log rows wait for the database that no more verifications should be
        answered until they are written."""
        return len(self._rows) >= self.MAX_PENDING_ROWS

    # -- the writer ---------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the pending log rows in one transaction."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return
            try:
                self._write(rows)
            except Exception:
                with self._lock:  # keep them for the next attempt
                    self._rows[:0] = rows
                raise

    def _write(self, rows: list[dict]) -> None:
        with write_lock(self._engine):
            self._write_locked(rows)

    def _write_locked(self, rows: list[dict]) -> None:
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            if self._sqlite:  # the sqlite3 connection is in autocommit mode; the transaction is ours
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(self._insert, rows)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="verifier-log-writer", daemon=True)
            self._thread.start()
            atexit.register(self.stop)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.flush()
        except Exception as exc:
            kind = outage_kind(exc)
            if kind is None:
                raise
            # stopping on a full disk (or with the database gone): nothing later will write
            # these, so the operator is told how many answers the log lacks, in one line
            log.error(
                "verification log: %d row(s) not written before stopping: %s (%s)",
                len(self._rows),
                kind,
                type(exc).__name__,
            )

    def _run(self) -> None:
        next_purge = 0.0
        while not self._stop.wait(self._flush_seconds):
            try:
                self.flush()
                if time.monotonic() >= next_purge:  # the log's retention, once a day
                    purge_log(self._engine, dt.datetime.now(dt.UTC) - LOG_RETENTION)
                    next_purge = time.monotonic() + 24 * 3600
                if self._failing:
                    self._failing = False
                    log.warning("verification log written again")
            except Exception as exc:  # the database may be busy, gone or full for a while; retry next round
                kind = outage_kind(exc)
                if kind is None:
                    log.exception("could not write the verification log; retrying")
                elif not self._failing:  # an outage every 50 ms is one line, not twenty a second
                    log.warning("could not write the verification log: %s (%s); retrying", kind, type(exc).__name__)
                self._failing = True
