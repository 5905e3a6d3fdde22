"""Verifications by institution for the bureau's report (``govcred_report_verifications``).

A county that runs its verifier beside its issuer (the default layout: the verifier's data
in ``<issuer data dir>/verifier``) sees in ``govcred report`` how often each school or
hospital checked permits. The verifier's log holds no personal data; this reads only its
institution names and counts, read-only, and never creates the database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from govcred.core.hookspecs import hookimpl


def verifier_database_url(settings: Any) -> str | None:
    """The deployment's verifier database: ``GOVCRED_VERIFIER_DATABASE_URL``, else the SQLite
    file of the default layout when it exists."""
    environ = getattr(settings, "environ", {}) or {}
    if environ.get("GOVCRED_VERIFIER_DATABASE_URL"):
        return environ["GOVCRED_VERIFIER_DATABASE_URL"]
    data_dir = Path(environ.get("GOVCRED_VERIFIER_DATA_DIR") or Path(settings.data_dir) / "verifier")
    path = data_dir / "verifier.sqlite3"
    return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true" if path.is_file() else None


def counts_by_institution(url: str, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    from govcred.verifier.db import clients, verification_log

    engine = sa.create_engine(url)
    # the log keeps UTC (on SQLite as naive text, as the recorder writes it): compare in UTC
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if engine.dialect.name == "sqlite":
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(clients.c.name, sa.func.count())
                .select_from(verification_log.join(clients, clients.c.id == verification_log.c.client_id))
                .where(verification_log.c.at >= start, verification_log.c.at < end)
                .group_by(clients.c.name)
            )
            return dict(rows.all())
    except sa.exc.OperationalError:  # an older or half-created log: nothing to count
        return {}
    finally:
        engine.dispose()


@hookimpl
def govcred_report_verifications(settings: Any, start: dt.datetime, end: dt.datetime) -> dict[str, int] | None:
    url = verifier_database_url(settings)
    return counts_by_institution(url, start, end) if url else None
