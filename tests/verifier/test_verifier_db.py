"""The verifier's own database on SQLite and on PostgreSQL: keys and the log (limits:
test_limits.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from govcred.core.exceptions import AuthenticationRequired
from govcred.verifier.db import RequestRecorder, add_client, create_tables, make_verifier_engine, verifications_of

NOW = dt.datetime(2026, 11, 30, 2, 0, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def verifier_db(request, tmp_path):
    """An empty database for the verifier's own tables (it has no migrations to start from)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'verifier.sqlite3'}"
        return
    with request.getfixturevalue("postgres").throwaway("govcred_v") as url:
        yield url


def test_keys_and_log(verifier_db):
    engine = make_verifier_engine(verifier_db)
    create_tables(engine)
    key = add_client(engine, "青田县人民医院", now=NOW, rate_per_minute=2)
    one, two = RequestRecorder(engine), RequestRecorder(engine)
    client = one.authenticate(key)
    assert client.name == "青田县人民医院"
    for bad in (None, "", "gcv_x", key[:-1] + ("A" if key[-1] != "A" else "B"), "Bearer " + key):
        with pytest.raises(AuthenticationRequired):
            one.authenticate(bad)
    one.record(client_id=client.id, at=NOW, credential_id="cred-1", kind="credential", valid=True, reasons=[])
    one.flush()
    two.record(
        client_id=client.id,
        at=NOW + dt.timedelta(seconds=1),
        credential_id="cred-1",
        kind="presentation",
        valid=False,
        reasons=["SUSPENDED"],
    )
    two.flush()
    assert [(v["institution"], v["valid"], v["at"]) for v in verifications_of(engine, "cred-1")] == [
        ("青田县人民医院", False, "2026-11-30T02:00:31+00:00"),
        ("青田县人民医院", True, "2026-11-30T02:00:30+00:00"),
    ]
    assert verifications_of(engine, "cred-2") == []
    engine.dispose()


def test_the_log_is_purged_past_its_retention(verifier_db, tmp_path):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli
    from govcred.verifier.db import purge_log

    engine = make_verifier_engine(verifier_db)
    create_tables(engine)
    key = add_client(engine, "青田县实验小学", now=NOW)
    recorder = RequestRecorder(engine)
    client = recorder.authenticate(key)
    for days in (200, 10):
        at = NOW - dt.timedelta(days=days)
        recorder.record(client_id=client.id, at=at, credential_id=f"c{days}", kind="credential", valid=True, reasons=[])
    recorder.flush()
    before = NOW - dt.timedelta(days=180)
    assert purge_log(engine, before, dry_run=True) == 1
    assert purge_log(engine, before) == 1
    assert verifications_of(engine, "c200") == [] and len(verifications_of(engine, "c10")) == 1
    data = tmp_path / "var"
    result = CliRunner().invoke(
        build_cli(),
        ["--data-dir", str(data), "verifier", "purge", "--days", "1", "--dry-run", "--database-url", verifier_db],
        obj=AppContext(str(data)),
    )
    assert result.exit_code == 0, result.output
    assert "将删除 (would remove) 1" in result.output
    engine.dispose()
