"""Telling an outage from a bug: is this exception the database being unreachable (answer
503 and retry later) or the disk being full (507)? The web app, the worker and the jobs
ask here, so that every part of govcred draws the line in the same place.

A failed statement always rolls its transaction back (the unit of work never commits after
an error), so an outage leaves nothing half-written: the caller retries the whole request.
"""

from __future__ import annotations

import errno
import re
import sqlite3
from collections.abc import Iterator

import sqlalchemy.exc as sa_exc

#: What a client is told to wait before retrying when the database is unavailable.
RETRY_AFTER_SECONDS = 5

_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# SQLite reports SQLITE_FULL as "database or disk is full"; PostgreSQL's class 53 is
# "insufficient resources" (53100 disk_full).
_DISK_FULL_TEXT = ("database or disk is full", "no space left on device", "could not extend file")
_DISK_FULL_SQLSTATES = frozenset({"53100"})
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "unable to open database", "disk i/o error")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, sa_exc.DBAPIError) and current.orig is not None:
            yield current.orig
        current = current.__cause__ or current.__context__


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) or getattr(getattr(exc, "diag", None), "sqlstate", None)


def storage_full(exc: BaseException) -> bool:
    """The disk (or the database's) has no room left: nothing was written, retrying will not help yet."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _DISK_FULL_ERRNOS:
            return True
        if _sqlstate(e) in _DISK_FULL_SQLSTATES:
            return True
        # sqlite3's own errors too: the verifier's limits and replay cache run on DB-API connections
        if isinstance(e, sa_exc.OperationalError | sa_exc.DBAPIError | sqlite3.Error) and any(
            text in str(e).lower() for text in _DISK_FULL_TEXT
        ):
            return True
    return False


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or cannot answer now (down, restarting, connections cut,
    pool exhausted, SQLite busy past its timeout): worth retrying shortly."""
    if storage_full(exc):
        return False
    for e in _chain(exc):
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, sa_exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(e, sa_exc.OperationalError | sa_exc.InterfaceError):
            # sqlite3 raises OperationalError for a missing table or bad SQL too: those are bugs
            if type(e.orig).__module__.startswith("sqlite3"):
                return any(text in str(e.orig).lower() for text in _SQLITE_TRANSIENT)
            return True
    return False


def outage_kind(exc: BaseException) -> str | None:
    """What a background loop (the outbox worker, the jobs, the audit checkpointer) logs in one
    line and waits out: "database unavailable" or "disk full"; None for anything else (a bug,
    logged with its traceback). Both pass by themselves or by the operator's hand (space
    freed), so a loop that met one retries instead of dying."""
    if storage_full(exc):
        return "disk full"
    if database_unavailable(exc):
        return "database unavailable"
    return None


_MISSING_TABLE = (
    re.compile(r"no such table: (?:main\.)?(\w+)"),  # SQLite
    re.compile(r'relation "(?:\w+\.)?(\w+)" does not exist'),  # PostgreSQL, SQLSTATE 42P01
)


def missing_table(exc: BaseException) -> str | None:
    """The table a statement found missing: the database was never migrated (``govcred init``
    not run on this data directory, an empty PostgreSQL database) or is behind the code
    (``govcred db upgrade``). Neither an outage nor a bug: the operator's to fix."""
    for e in _chain(exc):
        if isinstance(e, sa_exc.OperationalError | sa_exc.ProgrammingError):
            if isinstance(e, sa_exc.ProgrammingError) and _sqlstate(e.orig) not in (None, "42P01"):
                continue
            for pattern in _MISSING_TABLE:
                found = pattern.search(str(e.orig))
                if found:
                    return found.group(1)
    return None
