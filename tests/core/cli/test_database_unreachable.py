"""A command run while the database cannot be reached says so in one line (exit 1), as the web
app answers 503, instead of ending in SQLAlchemy's traceback."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from govcred.core.cli import main
from govcred.testing import TEST_ENV
from tests.core.serving import GOVCRED


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


@pytest.mark.parametrize("argv", [["db", "check"], ["keys", "list"], ["outbox", "list"]])
def test_unreachable_database_is_named_without_a_traceback(argv, tmp_path, monkeypatch, capsys):
    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("GOVCRED_AUDIT_WITNESS_DIR", str(tmp_path / "witness"))
    monkeypatch.setenv("GOVCRED_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{_closed_port()}/govcred")
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(tmp_path / "var"), *argv])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "错误 [SERVICE_UNAVAILABLE]: 无法连接数据库，请检查数据库是否运行后重试" in err.splitlines()[-1]
    assert "Connection refused" in err.splitlines()[-1]


def test_the_outage_is_the_only_line_from_the_shell(tmp_path):
    """An English "audit checkpoint after the command failed: (psycopg.OperationalError) ..."
    (three lines) came first: the command's checkpoint, tried on the way out, failed for the
    very cause the command did."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    env.update(TEST_ENV)
    env["GOVCRED_AUDIT_WITNESS_DIR"] = str(tmp_path / "witness")
    env["GOVCRED_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{_closed_port()}/govcred"
    (tmp_path / "var").mkdir()
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), "keys", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("错误 [SERVICE_UNAVAILABLE]: 无法连接数据库，请检查数据库是否运行后重试"), done.stderr
