"""The verifier's OWN small database (never the issuer's): institutions and their hashed API
keys, rate-limit windows, the verification log, and the last good copy of fetched keys and lists.

SQLite in the verifier's data directory by default, or any SQLAlchemy URL. The tables are
created on start; there is nothing to migrate yet.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.clock import as_utc
from core.exceptions import AuthenticationRequired, Conflict, ErrorList

metadata = sa.MetaData()

clients = sa.Table(
    "verifier_clients", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("rate_per_minute", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

rate_windows = sa.Table(
    "verifier_rate_windows", metadata,
    sa.Column("client_id", sa.String(16), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

#: No personal data: the credential appears only as the SHA-256 of its id.
verification_log = sa.Table(
    "verification_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(16), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("credential_hash", sa.String(64), index=True),
    sa.Column("kind", sa.String(16)),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("reasons", sa.String(200), nullable=False),
)

fetched_copies = sa.Table(
    "verifier_fetched_copies", metadata,
    sa.Column("source", sa.String(600), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("fetched_at", sa.Float, nullable=False),
)

KEY_PREFIX = "gcv"
DEFAULT_RATE_PER_MINUTE = 600
RATE_WINDOW_SECONDS = 60


def make_verifier_engine(url: str) -> Engine:
    """An engine for the verifier database. SQLite runs in WAL with ``synchronous=NORMAL``:
    a verification-log row lost in a power cut is acceptable, an fsync per request is not."""
    if not url.startswith("sqlite"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


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
        conn.execute(sa.insert(clients).values(id=client_id, name=name, key_hash=_key_hash(secret),
                                               rate_per_minute=rate_per_minute, active=True, created_at=now))
    return f"{KEY_PREFIX}_{client_id}_{secret}"


def authenticate(conn, api_key: str | None) -> sa.Row:
    """The client row for an API key ``gcv_<id>_<secret>``; AuthenticationRequired otherwise."""
    parts = api_key.split("_", 2) if isinstance(api_key, str) else []
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise AuthenticationRequired("需要有效的 API 密钥", code="API_KEY_REQUIRED")
    row = conn.execute(sa.select(clients).where(clients.c.id == parts[1])).first()
    if row is None or not row.active or not hmac.compare_digest(row.key_hash, _key_hash(parts[2])):
        raise AuthenticationRequired("API 密钥无效", code="API_KEY_INVALID")
    return row


def count_request(conn, client_id: str, now_ts: float) -> tuple[int, int]:
    """Count one request in the client's fixed window; returns (count, seconds until the next window)."""
    window = int(now_ts) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS
    updated = conn.execute(sa.update(rate_windows).where(
        rate_windows.c.client_id == client_id, rate_windows.c.window_start == window,
    ).values(count=rate_windows.c.count + 1)).rowcount
    if not updated:
        conn.execute(sa.delete(rate_windows).where(rate_windows.c.client_id == client_id,
                                                   rate_windows.c.window_start < window))
        conn.execute(sa.insert(rate_windows).values(client_id=client_id, window_start=window, count=1))
        count = 1
    else:
        count = conn.execute(sa.select(rate_windows.c.count).where(
            rate_windows.c.client_id == client_id, rate_windows.c.window_start == window)).scalar()
    return count, window + RATE_WINDOW_SECONDS - int(now_ts)


def log_verification(conn, *, client_id: str, at: dt.datetime, credential_id: str | None, kind: str | None,
                     valid: bool, reasons: list[str]) -> None:
    conn.execute(sa.insert(verification_log).values(
        client_id=client_id, at=at, credential_hash=credential_hash(credential_id) if credential_id else None,
        kind=kind, valid=valid, reasons=",".join(reasons)[:200]))


def verifications_of(engine: Engine, credential_id: str) -> list[dict]:
    """Who verified a credential, newest first: institution, time, result."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(clients.c.name, verification_log.c.at, verification_log.c.valid)
            .join(clients, clients.c.id == verification_log.c.client_id)
            .where(verification_log.c.credential_hash == credential_hash(credential_id))
            .order_by(verification_log.c.at.desc(), verification_log.c.id.desc()).limit(500)
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
