"""Retention: `govcred purge --dry-run` lists what each rule would remove; a run removes it,
audited; periods come from [retention] with defaults (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from govcred.core.exceptions import ConfigError
from govcred.core.orm import audit_log, idempotency_keys, login_codes, outbox, web_sessions
from govcred.core.retention import parse_period, purge
from govcred.testing import make_runtime, make_settings


def _seed(rt, now: dt.datetime) -> None:
    """One record of each kind just past its period and one just inside it."""
    day = dt.timedelta(days=1)
    with rt.engine.begin() as conn:
        for n, expires in enumerate((now - 2 * day, now + day)):
            conn.execute(
                sa.insert(login_codes).values(
                    id=f"code-{n}", phone_index="x", code_hash="h", created_at=expires, expires_at=expires, attempts=0
                )
            )
            conn.execute(
                sa.insert(idempotency_keys).values(
                    principal="p",
                    route="POST /x",
                    key=f"k{n}",
                    fingerprint="f",
                    state="done",
                    created_at=expires,
                    expires_at=expires,
                )
            )
        for n, ended in enumerate((now - 31 * day, now - 29 * day)):
            conn.execute(
                sa.insert(web_sessions).values(
                    id_hash=f"s{n}", kind="resident", subject_id=f"r{n}", created_at=ended,
                    last_seen_at=ended, expires_at=ended, data={},
                )
            )  # fmt: skip
    for n in range(2):
        with rt.uow() as uow:
            uow.outbox.add("provincial_push", "issued", {"n": n}, aggregate_type="credential", aggregate_id=f"c{n}")
            uow.commit()


@pytest.fixture
def rt(data_dir, database_url, clock, govcred_plugins):
    settings = make_settings(data_dir, database_url, retention={"web_sessions": "30d", "push_files": "10d"})
    runtime = make_runtime(settings, clock, plugins=govcred_plugins)
    yield runtime
    runtime.close()


def _count(rt, table) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_dry_run_counts_and_a_run_removes_what_is_past_its_period(rt, clock):
    now = clock.now()
    _seed(rt, now)
    with rt.engine.begin() as conn:  # delivered 40 and 10 days ago
        for aggregate, days in (("c0", 40), ("c1", 10)):
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.aggregate_id == aggregate)
                .values(status="delivered", delivered_at=now - dt.timedelta(days=days))
            )
    push = rt.settings.data_dir / "push"
    old_file, new_file = push / f"{(now - dt.timedelta(days=40)).date()}.jsonl", push / f"{now.date()}.jsonl"
    new_file.parent.mkdir(exist_ok=True)
    old_file.write_text("{}\n")
    new_file.write_text("{}\n")
    (push / "notes.txt").write_text("not a day file")

    planned = {r.rule: r.count for r in purge(rt.collaborators, dry_run=True)}
    assert planned == {
        "idempotency_keys": 1,
        "login_codes": 1,
        "identity_logins": 0,
        "web_sessions": 1,
        "api_tokens": 0,
        "outbox_delivered": 1,
        "push_files": 1,
    }
    assert _count(rt, login_codes) == 2 and old_file.exists()  # a dry run removes nothing

    done = {r.rule: r.count for r in purge(rt.collaborators)}
    assert done == planned
    assert (_count(rt, login_codes), _count(rt, idempotency_keys), _count(rt, web_sessions)) == (1, 1, 1)
    with rt.engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.aggregate_id)).scalars().all() == ["c1"]
        audited = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.object_id, audit_log.c.details).where(
                audit_log.c.action.like("retention.%")
            )
        ).all()
    assert not old_file.exists() and new_file.exists() and (push / "notes.txt").exists()
    assert {(a, o, d["count"]) for a, o, d in audited if a == "retention.purged"} == {
        ("retention.purged", rule, 1)
        for rule in ("idempotency_keys", "login_codes", "web_sessions", "outbox_delivered", "push_files")
    }
    assert [d["removed"] for a, _o, d in audited if a == "retention.run"] == [done]
    assert {r.rule: r.count for r in purge(rt.collaborators)} == dict.fromkeys(done, 0)


def test_bad_retention_settings_are_named_all_at_once(data_dir, database_url, clock, govcred_plugins):
    settings = make_settings(data_dir, database_url, retention={"web_session": "30d", "login_codes": "a week"})
    runtime = make_runtime(settings, clock, plugins=govcred_plugins)
    with pytest.raises(ConfigError) as refused:
        purge(runtime.collaborators, dry_run=True)
    runtime.close()
    problems = refused.value.details["problems"]
    # in Chinese, as every other configuration problem (they were English only)
    assert problems == [
        "[retention] web_session：没有这条保存规则，可用的有 api_tokens, idempotency_keys, identity_logins,"
        " login_codes, outbox_delivered, push_files, web_sessions (no such rule)",
        "[retention] login_codes：保存期限应写作 30d（天）或 48h（小时），现为 'a week' (a period looks like 30d or 48h)",
    ]
    assert parse_period("48h") == dt.timedelta(hours=48) and parse_period("30d") == dt.timedelta(days=30)


def test_purge_command_lists_each_rule(runtime, govcred_cli):
    result = govcred_cli("purge", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["dry_run"] is True
    assert [r["rule"] for r in shown["rules"]][:2] == ["idempotency_keys", "login_codes"]
    assert "push_files" in {r["rule"] for r in shown["rules"]}
    text = govcred_cli("purge").output
    assert "web_sessions" in text and "已删除" in text


def test_the_servers_purge_daily(rt):
    import time

    from govcred.core.jobs import PURGE, runs_of

    jobs = rt.server_jobs(relay=False).start()
    try:
        deadline = time.monotonic() + 30
        while jobs.ran.get(PURGE, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        jobs.stop()
    assert jobs.ran[PURGE] == 1 and runs_of(rt.job_place(), PURGE) == 1
    with rt.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.action == "retention.run")
            ).scalar()
            == 1
        )
