"""Leader leases: a job that must run once however many processes serve (the sweep and its
reminders, the purge, the outbox relay thread of ``govcred serve``) runs only in the process
holding its lease, and the command-line run of the same job takes the same lease.

On PostgreSQL a lease is a session-level advisory lock (``pg_try_advisory_lock``) held on a
connection of its own: the server frees it the moment the holder's connection or process
dies, so no lease ever outlives a crash and no expiry has to be guessed. On SQLite every
process of a data directory shares the machine, so a lease is an ``flock`` on a file under
``<data dir>/locks/`` (freed by the kernel when the process dies); the file holds the
holder's ``host:pid`` so that a refusal can say who has it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from govcred.core.db import is_sqlite
from govcred.core.exceptions import DataDirInUse

log = logging.getLogger("govcred.leases")


def holder_name() -> str:
    """Who this process is, as a lease and a refusal name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory lock key space)."""
    digest = hashlib.blake2b(f"govcred-lease:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Lease:
    """The lease of one job. ``acquire()`` never waits: True when this process now holds it.
    ``held()`` checks that it still does (a PostgreSQL connection may have been cut)."""

    def __init__(self, engine: Engine, data_dir: Path, name: str):
        self.name = name
        self._engine = engine
        self._path = Path(data_dir) / "locks" / f"{name}.lock"
        self._conn: Connection | None = None
        self._fd: int | None = None

    @property
    def acquired(self) -> bool:
        return self._conn is not None or self._fd is not None

    def acquire(self) -> bool:
        if self.acquired:
            return True
        return self._acquire_file() if is_sqlite(self._engine) else self._acquire_advisory()

    def _acquire_file(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:  # the holder's name, for the message of a process refused the lease
            os.ftruncate(fd, 0)
            os.write(fd, holder_name().encode())
        except OSError:
            # a full disk: closing gives the lock back. Kept open on no descriptor of ours, it
            # would hold the lease for good -- this process's next try is refused by its own
            # lock, and every other process's too, so the job would never run again.
            os.close(fd)
            raise
        self._fd = fd
        return True

    def _acquire_advisory(self) -> bool:
        conn = self._engine.connect()
        try:
            # named so that a refusal elsewhere can say which process holds the lease
            conn.execute(sa.text("SELECT set_config('application_name', :n, false)"), {"n": f"govcred {holder_name()}"})
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(self.name)}).scalar()
            conn.commit()  # the lock is the session's, not the transaction's: do not sit idle in one
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """Still ours? A file lock is until released; an advisory lock while its connection lives."""
        if self._fd is not None:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # the connection is gone, and the lock with it
            self._drop_connection()
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(self.name)})
                self._conn.commit()
            except Exception:  # a dead connection has released it already
                log.debug("lease %s: unlock on a broken connection", self.name)
            self._drop_connection()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never hand a connection holding a session lock back to the pool
                conn.close()
            except Exception:
                log.debug("lease %s: closing a broken connection", self.name)

    def holder(self) -> str | None:
        """Who holds the lease now, when that can be told (``host:pid``), else None."""
        if is_sqlite(self._engine):
            try:
                return self._path.read_text(encoding="utf-8").strip() or None
            except OSError:
                return None
        key = advisory_key(self.name)
        query = sa.text(
            "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.objid::bigint = (:k & 4294967295) AND l.classid::bigint = ((:k >> 32) & 4294967295)"
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query, {"k": key}).first()
        except Exception:
            return None
        if row is None:
            return None
        return f"{row.application_name or 'unnamed'} (PostgreSQL backend pid {row.pid})"

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class ServerLock:
    """One ``govcred serve`` per data directory on SQLite: an ``flock`` on
    ``<data dir>/serve.lock`` held by the server's master process for as long as it runs
    (the kernel frees it if the process dies). The file names the holder, so that a second
    ``serve`` can say which process has the directory."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "serve.lock"
        self._fd: int | None = None

    def acquire(self, description: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 500).decode(errors="replace").strip() or "未知进程 (unknown process)"
            os.close(fd)
            raise DataDirInUse(
                f"数据目录 {self.path.parent.resolve()} 已由另一个服务进程使用：{holder}；"
                "同一 SQLite 数据目录只能运行一个 govcred serve (one server per data directory)",
                holder=holder,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, {description}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
