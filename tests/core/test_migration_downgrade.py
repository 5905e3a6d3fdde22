"""`govcred db downgrade REV` and back up again on a populated database (SQLite and
PostgreSQL): every application, credential, status list and audit entry survives the round
trip, the audit log comes back as the old hash chain and then as the tree again."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from govcred.core.audit_verify import verify_audit
from govcred.core.migrate import current_heads, script_heads
from tests.core.permits import issue_permit

TABLES = ("applications", "credentials", "decisions", "status_lists", "audit_log")


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _old_chain_holds(engine) -> bool:
    """The 0001 format: hash = SHA-256(prev_hash | canonical JSON), seq 1..n, audit_head at the end."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
        head = conn.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
    prev = "0" * 64
    for n, row in enumerate(rows, start=1):
        at = row["at"] if isinstance(row["at"], str) else row["at"].isoformat(sep=" ")
        details = row["details"] if isinstance(row["details"], dict) else json.loads(row["details"])
        fields = {k: row[k] for k in ("actor", "role", "action", "object_type", "object_id", "outcome", "request_id")}
        fields |= {"seq": n, "details": details, "at": _utc_iso(at)}
        canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(prev.encode() + b"|" + canonical.encode()).hexdigest()
        if (row["seq"], row["prev_hash"], row["hash"]) != (n, prev, digest):
            return False
        prev = digest
    return tuple(head) == (len(rows), prev)


def _utc_iso(text: str) -> str:
    import datetime as dt

    value = dt.datetime.fromisoformat(text)
    value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="microseconds")


def test_downgrade_to_0003_and_upgrade_again_keep_every_row(runtime, govcred_cli):
    issued = [issue_permit(runtime) for _ in range(3)]
    runtime.checkpointer.checkpoint()
    before = _counts(runtime.engine)

    down = govcred_cli("db", "downgrade", "0003", "--yes")
    assert down.exit_code == 0, down.output
    assert "0003" in current_heads(runtime.engine, runtime.pm)
    assert _counts(runtime.engine) == before
    assert _old_chain_holds(runtime.engine)

    up = govcred_cli("db", "upgrade")
    assert up.exit_code == 0, up.output
    assert current_heads(runtime.engine, runtime.pm) == script_heads(runtime.engine, runtime.pm)
    heads = ", ".join(sorted(script_heads(runtime.engine, runtime.pm)))
    # it said 数据库已是最新 ("already up to date") after applying every migration from 0003
    (line,) = [x for x in up.output.splitlines() if x.startswith("数据库已")]
    assert line.startswith("数据库已升级 (database upgraded): 0003") and line.endswith(f" -> {heads}"), line
    again = govcred_cli("db", "upgrade")
    assert f"数据库已是最新 (database at): {heads}" in again.output
    assert _counts(runtime.engine) == before
    with runtime.engine.connect() as conn:
        allocated = conn.execute(sa.text("SELECT sum(allocated) FROM status_lists")).scalar_one()
    assert allocated == len(issued)

    issue_permit(runtime)  # the upgraded schema takes new work
    runtime.checkpointer.checkpoint()
    report = verify_audit(
        runtime.uow, runtime.settings, runtime.clock, runtime.audit_witnesses, runtime.secrets.audit_key
    )
    assert report.ok, report.problems
    assert report.tree_size == report.entries > before["audit_log"]


def test_downgrade_names_an_unknown_revision(govcred_cli):
    result = govcred_cli("db", "downgrade", "0042", "--yes")
    assert result.exit_code != 0
    assert "没有迁移版本 0042" in str(result.exception) and "0003" in str(result.exception)


def test_an_unknown_revision_is_named_before_the_confirmation_is_asked(govcred_cli):
    result = govcred_cli("db", "downgrade", "0042", input="")
    assert result.exit_code != 0
    assert "没有迁移版本 0042" in str(result.exception)
    assert "降级到 0042？" not in result.output  # no question about a downgrade that cannot happen
