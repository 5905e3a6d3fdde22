"""Who may read what govcred writes: data, database and secret files 0600, directories 0700.

The data directory holds personal data (the SQLite database, encrypted uploads, the
provincial push files) and secrets (development keys, demo log-ins): no other local user has
business reading any of it. Every process that builds a runtime, and the command line,
creates files with umask 077 -- which also covers the files SQLite makes beside the
database (``-wal``, ``-shm``, journals) -- and what an older version left world-readable is
tightened when it is next opened.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def restrict_new_files() -> None:
    """New files and directories of this process: owner only (process-wide, on purpose)."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700; an existing one of ours is tightened."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int = FILE_MODE) -> None:
    """Take group and other permissions away from ``path`` if it exists and is ours."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        st = path.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            path.chmod(st.st_mode & mode & 0o777)


def tighten_sqlite(database: Path) -> None:
    """The database file and the files SQLite keeps beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten(database.with_name(database.name + suffix))
