"""The built-in audit witnesses: places outside the database that keep the signed checkpoints
(:func:`govcred.core.hookspecs.govcred_audit_witnesses`).

A witness has ``name``, ``publish(origin, note)`` (keep one more signed checkpoint; raise
:class:`WitnessError` when it could not) and ``checkpoints(origin)`` (the notes it holds for the
log, oldest first; an HTTP witness answers with its latest only). ``govcred audit verify``
trusts none of them blindly: every note's signature is checked.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import quote

import requests

from govcred.core.exceptions import GovcredError, WitnessError
from govcred.core.http_delivery import send


class FileWitness:
    """An append-only file of every checkpoint, one JSON line each (fsynced), in a directory that
    should be on another disk or machine than the data directory."""

    def __init__(self, directory: Path, *, earlier: Path | None = None):
        self.directory = Path(directory)
        self.name = f"file:{self.directory}"
        #: a directory this witness wrote to before (the old shared default): read, never written
        self.earlier = None if earlier is None else FileWitness(earlier)

    def path(self, origin: str) -> Path:
        # one file per log: several data directories may share one witness directory
        return self.directory / f"{hashlib.sha256(origin.encode()).hexdigest()[:32]}.checkpoints"

    def publish(self, origin: str, note: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path(origin), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps({"origin": origin, "note": note}) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WitnessError(f"{self.name}: {exc}") from exc

    def checkpoints(self, origin: str) -> list[str]:
        earlier = self.earlier.checkpoints(origin) if self.earlier is not None else []
        return earlier + [note for note in self._notes(origin) if note not in earlier]

    def _notes(self, origin: str) -> list[str]:
        try:
            text = self.path(origin).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise WitnessError(f"{self.name}: {exc}") from exc
        notes = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash; the signature check covers the rest
            if isinstance(record, dict) and record.get("origin") == origin and isinstance(record.get("note"), str):
                notes.append(record["note"])
        return notes


class HttpWitness:
    """A witness service (the provincial platform, a Rekor-like log): ``POST <url>`` with the
    note as ``text/plain`` stores a checkpoint; ``GET <url>?origin=...`` answers the latest one
    it holds for that log (404 when none)."""

    def __init__(self, url: str, timeout: tuple[float, float] = (3.0, 10.0)):
        self.url = url
        self.name = f"http:{url}"
        self._timeout = timeout

    def publish(self, origin: str, note: str) -> None:
        try:
            send(
                "POST",
                self.url,
                data=note.encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=self._timeout,
            )
        except GovcredError as exc:
            raise WitnessError(f"{self.name}: {exc.message}") from exc

    def checkpoints(self, origin: str) -> list[str]:
        separator = "&" if "?" in self.url else "?"
        try:
            response = requests.get(
                f"{self.url}{separator}origin={quote(origin, safe='')}", timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise WitnessError(f"{self.name}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise WitnessError(f"{self.name}: HTTP {response.status_code}")
        return [response.text]


def builtin_witnesses(settings) -> list:
    """The file witness (always) and one HTTP witness per ``audit_witness_urls``."""
    # A data directory on the default kept its checkpoints in the shared directory before
    # each got its own: they are still read, so that audit verify keeps seeing them.
    earlier = None if settings.audit_witness_dir else settings.shared_witness_dir
    return [
        FileWitness(settings.witness_dir, earlier=earlier),
        *(HttpWitness(url) for url in settings.audit_witness_urls),
    ]
