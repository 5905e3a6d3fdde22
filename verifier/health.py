"""Is this verifier process ready to answer (``/readyz``)? Its database reachable with its
tables, the store the workers share for limits and used presentations reachable (Redis, or
that database), and the start-up refresh done (every trusted issuer's keys and lists held).

Every check runs, each says why it failed, and a failure means what it means for a load
balancer: no request sent here could be answered. Why an issuer's list going stale later is
not one of them: one issuer that stops publishing would then take every verifier out of
rotation, and with it the answers for every other issuer; its permits answer
STATUS_UNAVAILABLE instead, and ``/metrics`` shows how long each list has left.
"""

from __future__ import annotations

import sqlalchemy as sa

from govcred.core.readiness import Check
from govcred.verifier.db import metadata


def readiness(state) -> list[Check]:
    """The checks of ``state`` (the app's :class:`~verifier.app.VerifierState`), every one run."""
    return [_database(state.engine), _shared_store(state.limits), _trust(state.cache)]


def _database(engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            present = set(sa.inspect(conn).get_table_names())
    except Exception as exc:  # any failure to reach it is "not ready", said by its type
        return Check("database", False, f"unreachable: {type(exc).__name__}")
    missing = sorted(set(metadata.tables) - present)
    return Check("database", not missing, f"tables missing: {', '.join(missing)}" if missing else "")


def _shared_store(limits) -> Check:
    where = limits.store_name
    return (
        Check("shared_store", True, where)
        if limits.store_reachable()
        else Check("shared_store", False, f"{where} unreachable")
    )


def _trust(cache) -> Check:
    now = cache.now()
    stale = sum(1 for held in cache.holdings() if now >= held.usable_until)
    detail = f"{len(cache.issuers)} issuer(s)"
    if stale:
        detail += f", {stale} stale"
    if cache.last_problems:
        detail += f", {len(cache.last_problems)} refresh problem(s)"
    if not cache.ready:
        return Check("trust", False, "start-up refresh not complete: " + detail)
    return Check("trust", True, detail)
