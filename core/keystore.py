"""Signing keys at rest: encrypted private keys in the database, the JWKS, rotation.

The private key is PKCS#8 encrypted with the passphrase (``GOVCRED_KEY_PASSPHRASE``);
development mode generates a passphrase in the data directory and says so loudly, and
production refuses to start with a key that was made in development. A retired key stays in
the JWKS until the last credential it signed has expired (``verify_until``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets as pysecrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from govcred.core import keys as rawkeys
from govcred.core.clock import Clock
from govcred.core.config import Settings
from govcred.core.crypto import development_secret_file
from govcred.core.exceptions import ConfigError, KeyStoreError
from govcred.core.unit_of_work import UnitOfWork

log = logging.getLogger("govcred.keys")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    development: bool
    created_at: dt.datetime
    retired_at: dt.datetime | None
    verify_until: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.retired_at is None


def passphrase_for(settings) -> tuple[str, bool]:
    """The key passphrase and whether it is a generated development one."""
    if settings.key_passphrase:
        return settings.key_passphrase, False
    if settings.production:
        raise ConfigError("production mode needs GOVCRED_KEY_PASSPHRASE")
    path = Path(settings.data_dir) / "secrets" / "dev-key-passphrase"
    value = development_secret_file(
        path,
        lambda: pysecrets.token_urlsafe(32),
        "开发模式：签名密钥口令保存在 %s —— DEVELOPMENT MODE: the signing-key passphrase is stored in "
        "plain text at %s. Production needs GOVCRED_KEY_PASSPHRASE and a key created with it.",
    )
    return value, True


class KeyStore:
    """The signing keys of one issuer, read and written through ``uow`` (a unit-of-work factory)."""

    def __init__(self, uow: Callable[..., UnitOfWork], settings: Settings, clock: Clock):
        self._uow = uow
        self._settings = settings
        self._clock = clock
        self._active: rawkeys.SigningKey | None = None

    # -- administration ---------------------------------------------------------------
    def list(self) -> list[KeyInfo]:
        with self._uow(readonly=True) as uow:
            rows = uow.signing_keys.all()
        return [
            KeyInfo(r["kid"], r["alg"], r["development"], r["created_at"], r["retired_at"], r["verify_until"])
            for r in rows
        ]

    def ensure_key(self) -> KeyInfo:
        """Create the first signing key if there is none (``govcred init``)."""
        infos = [k for k in self.list() if k.active]
        return infos[-1] if infos else self.rotate(actor="system")

    def rotate(self, *, actor: str = "admin") -> KeyInfo:
        """Make a new active key; the previous one is retired but stays published."""
        settings = self._settings
        passphrase, development = passphrase_for(settings)
        private = rawkeys.generate_private_key(settings.key_algorithm)
        jwk = rawkeys.public_jwk(private, settings.key_algorithm)
        now = self._clock.now()
        with self._uow() as uow:
            for old in uow.signing_keys.active_kids():
                uow.signing_keys.retire(old, now, uow.credentials.last_expiry_signed_by(old) or now)
                uow.audit.append(
                    actor=actor, role="admin", action="key.retired", object_type="signing_key", object_id=old
                )
            uow.signing_keys.add(
                kid=jwk["kid"],
                alg=settings.key_algorithm,
                public_jwk=jwk,
                private_pem_enc=rawkeys.encrypt_private_key(private, passphrase),
                development=development,
                created_at=now,
            )
            uow.audit.append(
                actor=actor,
                role="admin",
                action="key.created",
                object_type="signing_key",
                object_id=jwk["kid"],
                details={"alg": settings.key_algorithm, "development": development},
            )
            uow.commit()
        self._active = None
        return KeyInfo(jwk["kid"], settings.key_algorithm, development, now, None, None)

    # -- use ----------------------------------------------------------------------------
    def active_key(self) -> rawkeys.SigningKey:
        """The key new tokens are signed with (decrypted once, then cached)."""
        if self._active is not None:
            return self._active
        settings = self._settings
        with self._uow(readonly=True) as uow:
            row = uow.signing_keys.newest_active()
        if row is None:
            raise KeyStoreError(
                "没有可用的签名密钥：请先运行 govcred init 或 govcred keys rotate", code="NO_SIGNING_KEY"
            )
        if settings.production and row["development"]:
            raise ConfigError(
                f"production mode refuses the development signing key {row['kid']}: run `govcred keys rotate` "
                "with GOVCRED_KEY_PASSPHRASE set"
            )
        passphrase, _ = passphrase_for(settings)
        private = rawkeys.decrypt_private_key(row["private_pem_enc"], passphrase)
        self._active = rawkeys.SigningKey(
            kid=row["kid"],
            alg=row["alg"],
            private_key=private,
            public_jwk=row["public_jwk"],
            created_at=row["created_at"],
            not_after_signing=None,
            verify_until=None,
            development=row["development"],
        )
        return self._active

    def jwks(self) -> dict:
        """Published keys: active ones and retired ones still needed to verify live credentials."""
        now = self._clock.now()
        with self._uow(readonly=True) as uow:
            return {"keys": uow.signing_keys.published(now)}
