"""Throwaway databases for tests: migrated SQLite files and PostgreSQL databases.

PostgreSQL runs at ``GOVCRED_TEST_PG_URL`` (default: user ``postgres`` with trust auth on
127.0.0.1:5432). Every test database is created from a migrated template and dropped
afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from govcred.core.db import make_engine
from govcred.core.migrate import upgrade

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresServer:
    """The PostgreSQL server tests create their databases on (through its admin database,
    ``GOVCRED_TEST_PG_URL`` unless ``admin_url`` is given)."""

    def __init__(self, admin_url: str | None = None):
        self.admin_url = admin_url or os.environ.get("GOVCRED_TEST_PG_URL", DEFAULT_PG_ADMIN_URL)

    @property
    def address(self) -> str:
        """host:port/db without the user, for messages."""
        return self.admin_url.rsplit("@", 1)[-1]

    def available(self) -> bool:
        try:
            engine = make_engine(self.admin_url, poolclass=NullPool)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            return True
        except Exception:  # any reason it does not answer means "not available"
            return False

    def execute(self, sql: str) -> None:
        """Run one statement on the admin database outside a transaction (CREATE/DROP DATABASE)."""
        engine = make_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
        engine.dispose()

    def url(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def create_database(self, prefix: str = "govcred_t", *, template: str | None = None) -> str:
        """Create a database with a fresh name (a copy of ``template`` if given); return its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def throwaway(self, prefix: str = "govcred_t", *, template: str | None = None) -> Iterator[str]:
        """A database that exists inside the ``with`` block only; yields its URL."""
        name = self.create_database(prefix, template=template)
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)


def migrate(url: str, pm) -> None:
    """Bring the database at ``url`` to the newest schema of core and of ``pm``'s plugins."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        upgrade(engine, pm)
    finally:
        engine.dispose()  # on SQLite the last connection closing checkpoints the WAL into the file


def migrated_sqlite(path: Path, pm) -> Path:
    """A migrated SQLite file at ``path`` (tests copy it rather than migrate each time)."""
    migrate(f"sqlite:///{path}", pm)
    return path
