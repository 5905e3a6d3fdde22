"""The embedded push target: a JSON-lines drop directory the platform (or an operator) collects.

One file per day, ``<data_dir>/push/YYYY-MM-DD.jsonl`` (the delivery day, UTC+8); each line
is ``{"id": <outbox message id>, "event": ..., "record": {...}}``, appended and fsynced.

A redelivery after a crash must not add a second line, so before appending the backend
knows every id already in the day's file (and the day before's, for a retry that crossed
midnight). It reads each file once and afterwards only the bytes appended since, all
under an exclusive ``flock`` on the file, so several workers of one data directory agree.
A torn last line (a crash mid-write) is not counted and gets a newline before the next
record, so the redelivered record stands whole on its own line.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from govcred.core import BEIJING, Clock
from govcred.plugins.provincial_push.reconcile import record_digest


class _SeenIds:
    """Ids of one file, read incrementally: (bytes parsed up to the last newline, ids)."""

    def __init__(self) -> None:
        self.offset = 0
        self.inode = -1
        self.ids: set[str] = set()

    def refresh(self, fd: int) -> set[str]:
        stat = os.fstat(fd)
        if stat.st_ino != self.inode or stat.st_size < self.offset:  # replaced or truncated
            self.offset, self.inode, self.ids = 0, stat.st_ino, set()
        if stat.st_size > self.offset:
            chunk = os.pread(fd, stat.st_size - self.offset, self.offset)
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self.ids.update(_ids(complete))
            self.offset += len(complete)
        return self.ids


class JsonlBackend:
    name = "jsonl"

    def __init__(self, directory: Path, clock: Clock):
        self.directory = Path(directory)
        self._clock = clock
        self._seen: dict[Path, _SeenIds] = {}

    def path_for(self, day: dt.date) -> Path:
        return self.directory / f"{day.isoformat()}.jsonl"

    def push(self, message_id: str, event: str, record: dict[str, Any]) -> dict[str, Any]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        today = self._clock.now().astimezone(BEIJING).date()
        yesterday = self.path_for(today - dt.timedelta(days=1))
        if yesterday.exists() and message_id in self._ids_in(yesterday):
            return {"file": yesterday.name, "duplicate": True}
        path = self.path_for(today)
        line = json.dumps({"id": message_id, "event": event, "record": record}, ensure_ascii=False) + "\n"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if message_id in self._seen.setdefault(path, _SeenIds()).refresh(fd):
                return {"file": path.name, "duplicate": True}
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")  # end a torn line
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        return {"file": path.name}

    def _ids_in(self, path: Path) -> set[str]:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return self._seen.setdefault(path, _SeenIds()).refresh(fd)
        finally:
            os.close(fd)

    # -- reconciliation: this directory plays the platform --------------------------------
    def acknowledge(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Keep the manifest and answer what the drop files hold of it.

        The answer is written to ``acks/<date>.json`` the first time and read back from
        there afterwards, so an operator (or a test) can edit it to stand for a platform
        that lost or altered records; :meth:`forget_acknowledgement` drops it once the
        difference has been queued again, and the next run asks the drop files anew.
        """
        day = str(manifest["date"])
        _write_private(self.directory / "manifests" / f"{day}.json", manifest)
        ack_path = self.directory / "acks" / f"{day}.json"
        if ack_path.exists():
            return json.loads(ack_path.read_text(encoding="utf-8"))
        wanted = {entry["id"] for entry in manifest["entries"]}
        held: dict[str, str] = {}
        # every file: a record re-pushed later lands in a later day's file
        for path in sorted(self.directory.glob("*.jsonl")):
            for entry in read_records(path):
                if entry.get("id") in wanted and isinstance(entry.get("record"), dict):
                    held[entry["id"]] = record_digest(entry["record"])
        answer = {"date": day, "records": held}
        _write_private(ack_path, answer)
        return answer

    def forget_acknowledgement(self, day: str) -> None:
        (self.directory / "acks" / f"{day}.json").unlink(missing_ok=True)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, readable by the service account only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _ids(content: bytes) -> set[str]:
    return {entry["id"] for entry in _entries(content) if isinstance(entry.get("id"), str)}


def _entries(content: bytes) -> list[dict[str, Any]]:
    out = []
    for raw in content.splitlines():
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            continue  # a torn line (or one nested past what the parser recurses)
        if isinstance(entry, dict):
            out.append(entry)
    return out


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete line of one drop file (for operators and tests)."""
    return _entries(path.read_bytes()) if path.exists() else []


def drop_files_before(directory: Path, cutoff: dt.datetime) -> list[Path]:
    """The day files whose whole day (Beijing time) ended before ``cutoff``: the retention rule's
    candidates. Files not named like a day are not ours to remove."""
    if not directory.is_dir():
        return []
    last_day = cutoff.astimezone(BEIJING).date() - dt.timedelta(days=1)
    old = []
    for path in directory.glob("*.jsonl"):
        try:
            day = dt.date.fromisoformat(path.stem)
        except ValueError:
            continue
        if day <= last_day:
            old.append(path)
    return old
