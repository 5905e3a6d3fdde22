"""Field encryption and keyed look-up indexes for personal data (PIPL art. 51).

One master secret (``GOVCRED_SECRET_KEY``) is stretched with HKDF into separate keys per
purpose: AES-256-GCM for fields (ID numbers, phones, documents, uploads, TOTP seeds), an
HMAC-SHA256 key for blind indexes, and a key for session/CSRF signing. Development mode
keeps a generated secret in ``<data dir>/secrets/dev-secret`` and says so loudly;
production refuses to start without a configured one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from govcred.core.exceptions import ConfigError, GovcredError

log = logging.getLogger("govcred.crypto")

_VERSION = b"\x01"


class DecryptionError(GovcredError):
    """Stored ciphertext failed authentication (tampered, moved to another row, or wrong key)."""

    code = "DECRYPTION_FAILED"


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"govcred/v1", info=purpose.encode()).derive(master)


class FieldCipher:
    """AES-256-GCM with associated data; output = version byte | 12-byte nonce | ciphertext."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if not blob or blob[:1] != _VERSION:
            raise DecryptionError("unknown ciphertext version")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], aad)
        except InvalidTag:
            raise DecryptionError() from None

    def encrypt_text(self, text: str, aad: str) -> bytes:
        return self.encrypt(text.encode(), aad.encode())

    def decrypt_text(self, blob: bytes, aad: str) -> str:
        return self.decrypt(blob, aad.encode()).decode()


class BlindIndex:
    """Keyed HMAC of a normalised value: equality look-ups without storing the value."""

    def __init__(self, key: bytes):
        self._key = key

    def __call__(self, value: str, purpose: str = "") -> str:
        normalised = value.strip().upper()
        return hmac.new(self._key, f"{purpose}|{normalised}".encode(), hashlib.sha256).hexdigest()


class Secrets:
    """The per-purpose keys derived from the master secret."""

    def __init__(self, master: bytes, *, development: bool):
        self.development = development
        self.cipher = FieldCipher(_derive(master, "field-encryption"))
        self.index = BlindIndex(_derive(master, "blind-index"))
        self.session_key = _derive(master, "web-session")
        self.audit_key = _derive(master, "audit-checkpoint")


def load_secrets(settings) -> Secrets:
    """The configured master secret, or (development only) the generated one in the data dir."""
    if settings.secret_key:
        return Secrets(_decode_secret(settings.secret_key), development=False)
    if settings.production:
        raise ConfigError("production mode needs GOVCRED_SECRET_KEY")
    path = Path(settings.data_dir) / "secrets" / "dev-secret"
    value = development_secret_file(
        path,
        lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "开发模式：已生成本地主密钥 %s —— DEVELOPMENT MODE: generated a master secret in %s; "
        "never use this data directory in production (set GOVCRED_SECRET_KEY).",
    )
    return Secrets(_decode_secret(value), development=True)


def development_secret_file(path: Path, generate, warning: str) -> str:
    """Read a development-only secret, creating it (mode 0600, once) and warning loudly."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(generate())
        log.warning(warning, path, path)
    return path.read_text().strip()


def _decode_secret(value: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if len(raw) >= 32:
            return raw
    except ValueError:
        pass
    if len(value) < 32:
        raise ConfigError("GOVCRED_SECRET_KEY must be at least 32 characters (or 32 bytes base64url)")
    return value.encode()
