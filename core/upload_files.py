"""Upload files on disk: written aside, moved into place only once their row has committed.

``<uploads>/.pending-<name>`` is written first (0600, fsynced); the database row commits;
then the file is renamed to ``<uploads>/<name>`` and the directory fsynced. A full disk
fails the write before anything commits, and the partial file is removed at once. A crash
leaves at most a pending file: :func:`clean_orphans` (run at start-up and by ``govcred
purge``) finishes the move when the row exists and deletes the file when it does not, and
removes any file that no row names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

PENDING = ".pending-"
#: Files younger than this are left alone by the clean-up: another process may be between
#: its write and its commit.
GRACE = dt.timedelta(minutes=10)


def pending_path(directory: Path, name: str) -> Path:
    return directory / f"{PENDING}{name}"


def write_pending(directory: Path, name: str, blob: bytes) -> Path:
    """Write ``blob`` aside; on any failure (a full disk) nothing is left behind."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = pending_path(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def publish(directory: Path, name: str) -> Path:
    """Move a pending file into place (its row has committed)."""
    final = directory / name
    os.replace(pending_path(directory, name), final)
    _fsync_dir(directory)
    return final


def discard(directory: Path, name: str) -> None:
    pending_path(directory, name).unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class OrphanReport:
    published: list[str] = field(default_factory=list)  # committed rows whose move a crash cut short
    removed: list[str] = field(default_factory=list)  # files no row names

    @property
    def count(self) -> int:
        return len(self.published) + len(self.removed)


def find_orphans(directory: Path, known: Callable[[Iterable[str]], set[str]], *, now: float | None = None):
    """``(pending names with a row, files with no row)``; ``known(names)`` says which have rows."""
    if not directory.is_dir():
        return [], []
    cutoff = (now if now is not None else time.time()) - GRACE.total_seconds()
    files = [p for p in directory.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    names = {p.name.removeprefix(PENDING) for p in files}
    with_rows = known(sorted(names))
    finish = [p for p in files if p.name.startswith(PENDING) and p.name.removeprefix(PENDING) in with_rows]
    orphans = [p for p in files if p.name.removeprefix(PENDING) not in with_rows]
    return finish, orphans


def clean_orphans(
    directory: Path, known: Callable[[Iterable[str]], set[str]], *, dry_run: bool = False, now: float | None = None
) -> OrphanReport:
    finish, orphans = find_orphans(directory, known, now=now)
    report = OrphanReport([p.name for p in finish], [p.name for p in orphans])
    if not dry_run:
        for path in finish:
            with contextlib.suppress(FileNotFoundError):  # its own request moved it meanwhile
                publish(directory, path.name.removeprefix(PENDING))
        for path in orphans:
            path.unlink(missing_ok=True)
    return report
