"""A command run on a database that was never migrated (``govcred init`` not run on this data
directory, a mistyped ``--data-dir``, an empty PostgreSQL database) says so in one line and
names the fix, instead of ending in SQLAlchemy's "no such table" traceback (and an English
warning that the audit checkpoint failed for the same cause)."""

from __future__ import annotations

import os
import subprocess

import pytest

from govcred.core.cli import main
from govcred.testing import TEST_ENV
from tests.core.serving import GOVCRED

TOUR_RECORDS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "tour", "records.csv")


@pytest.mark.parametrize(
    ("argv", "table"),
    [
        (["keys", "list"], "signing_keys"),
        (["purge", "--dry-run"], "job_runs"),
        (["records", "import", TOUR_RECORDS], "zj_registrations"),
    ],
)
def test_a_data_directory_never_initialised_is_named_with_the_fix(argv, table, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    env.update(TEST_ENV)
    env["GOVCRED_AUDIT_WITNESS_DIR"] = str(tmp_path / "witness")
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), *argv], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()  # no traceback, no checkpoint warning before it
    assert line.startswith(f"错误 [DATABASE_NOT_MIGRATED]: 数据库中没有表 {table}："), done.stderr
    assert "govcred init" in line and "govcred db upgrade" in line


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_named_with_the_fix(tmp_path, monkeypatch, capsys, postgres):
    with postgres.throwaway() as url:
        for k, v in TEST_ENV.items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("GOVCRED_AUDIT_WITNESS_DIR", str(tmp_path / "witness"))
        monkeypatch.setenv("GOVCRED_DATABASE_URL", url)
        with pytest.raises(SystemExit) as exited:
            main(["--data-dir", str(tmp_path / "var"), "outbox", "list"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("错误 [DATABASE_NOT_MIGRATED]: 数据库中没有表 outbox：")


def test_a_command_that_works_before_init_warns_of_no_checkpoint(tmp_path):
    """`govcred plugins` on a data directory not initialised yet worked, then warned in English
    "audit checkpoint after the command failed: no such table: audit_pending"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    env.update(TEST_ENV)
    env["GOVCRED_AUDIT_WITNESS_DIR"] = str(tmp_path / "witness")
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), "plugins"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "zhejiang_residence" in done.stdout
    assert done.stderr == "", done.stderr
