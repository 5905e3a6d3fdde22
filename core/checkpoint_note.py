"""Signed audit checkpoints in the format Sigstore's Rekor and the Go checksum database use:
a C2SP ``tlog-checkpoint`` body (origin, tree size, base64 root hash, then a ``time`` extension
line) in a C2SP ``signed-note`` with an Ed25519 signature.

The signing key is a file in the data directory's ``secrets/`` (PKCS#8 PEM, 0600), never a row
of the database: whoever can rewrite the database file cannot re-sign its checkpoints without
also taking that file, and the witnesses already hold the earlier ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govcred.core.clock import as_utc
from govcred.core.exceptions import CheckpointError

#: signed-note signature lines start with an em dash and a space
SIGNATURE_PREFIX = "\u2014 "
ED25519 = b"\x01"  # the signed-note signature type byte of Ed25519


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    at: dt.datetime

    def body(self) -> str:
        return (
            f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n"
            f"time {as_utc(self.at).isoformat(timespec='seconds').replace('+00:00', 'Z')}\n"
        )


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / "secrets" / "audit-checkpoint.ed25519"


def load_key_or_none(data_dir: Path) -> CheckpointKey | None:
    """The checkpoint key if its file is there (verifying never makes one)."""
    try:
        return CheckpointKey.load(key_path(data_dir))
    except CheckpointError:
        return None


class CheckpointKey:
    """The Ed25519 key that signs this issuer's checkpoints, named by the log's origin."""

    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        self.public = private.public_key()
        self.public_raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> CheckpointKey:
        path = key_path(data_dir)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            # written whole under a temporary name, then linked into place: a process that
            # loses the race to create it never reads a half-written key
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:  # another process made it first
                pass
            finally:
                temporary.unlink()
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> CheckpointKey:
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise CheckpointError(f"没有审计检查点签名密钥 (no checkpoint signing key at {path})") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise CheckpointError(f"{path} is not an Ed25519 private key")
        return cls(private)

    def key_hash(self, name: str) -> bytes:
        return hashlib.sha256(name.encode() + b"\n" + ED25519 + self.public_raw).digest()[:4]

    def verifier_key(self, name: str) -> str:
        """The note verifier key (``name+hash+base64``) a witness is configured with."""
        return f"{name}+{self.key_hash(name).hex()}+{base64.b64encode(ED25519 + self.public_raw).decode()}"

    def sign(self, checkpoint: Checkpoint) -> str:
        body = checkpoint.body()
        sig = self._private.sign(body.encode())
        line = base64.b64encode(self.key_hash(checkpoint.origin) + sig).decode()
        return f"{body}\n{SIGNATURE_PREFIX}{checkpoint.origin} {line}\n"

    def open(self, note: str, origin: str) -> Checkpoint:
        """Parse ``note`` and check its signature by this key; raises :class:`CheckpointError`."""
        body, sep, signatures = note.partition("\n\n")
        if not sep:
            raise CheckpointError("a checkpoint without a signature")
        body += "\n"
        lines = body.splitlines()
        if len(lines) < 3:
            raise CheckpointError("a checkpoint needs an origin, a size and a root hash")
        if lines[0] != origin:
            raise CheckpointError(f"a checkpoint of another log ({lines[0]!r}, expected {origin!r})")
        try:
            size = int(lines[1])
            root = base64.b64decode(lines[2], validate=True)
        except ValueError:
            raise CheckpointError("a checkpoint whose size or root hash is unreadable") from None
        at = None
        for extra in lines[3:]:
            if extra.startswith("time "):
                try:
                    at = dt.datetime.fromisoformat(extra[5:].replace("Z", "+00:00"))
                except ValueError:
                    raise CheckpointError("a checkpoint whose time is unreadable") from None
        if size < 0 or len(root) != 32 or at is None:
            raise CheckpointError("a checkpoint with a negative size, a root that is not 32 bytes or no time")
        want = self.key_hash(origin)
        for line in signatures.splitlines():
            if not line.startswith(SIGNATURE_PREFIX):
                continue
            name, _, blob = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
            try:
                raw = base64.b64decode(blob, validate=True)
            except ValueError:
                continue
            if name != origin or raw[:4] != want:
                continue
            try:
                self.public.verify(raw[4:], body.encode())
            except InvalidSignature:
                raise CheckpointError("a checkpoint whose signature does not verify") from None
            return Checkpoint(origin, size, root, as_utc(at))
        raise CheckpointError("a checkpoint not signed by this issuer's checkpoint key")
