"""What govcred writes in its data directory is the owner's only: files 0600, directories 0700.

Run as a user runs it: the real command line in a fresh process (whose umask is the usual
022), through init, a whole demo journey and the outbox worker (SMS log, push files,
uploads, keys, secrets, the SQLite database and its WAL).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from govcred.testing import TEST_ENV


def _govcred(data: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    # development mode with generated secrets: the secret files are what we want to see
    env.update({"GOVCRED_ISSUER": TEST_ENV["GOVCRED_ISSUER"]})
    done = subprocess.run(
        [str(Path(sys.executable).with_name("govcred")), "--data-dir", str(data), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _too_open(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode & ~wanted:
            found.append(f"{path.relative_to(root)}: {oct(mode)}")
    return found


def test_everything_in_the_data_directory_is_private(tmp_path):
    data = tmp_path / "var"
    _govcred(data, "init")
    _govcred(data, "demo", "--out", str(tmp_path / "demo"))
    _govcred(data, "worker", "--drain", "--max-seconds", "60")
    names = {p.relative_to(data).as_posix() for p in data.rglob("*")}
    assert "govcred.sqlite3" in names and any(n.startswith("uploads/") for n in names)
    assert any(n.startswith("secrets/") for n in names)
    assert _too_open(data) == []


def test_a_database_an_older_version_left_readable_is_tightened(tmp_path):
    data = tmp_path / "var"
    _govcred(data, "init")
    database = data / "govcred.sqlite3"
    database.chmod(0o644)
    data.chmod(0o755)
    _govcred(data, "audit", "verify")
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
