"""Signing keys at rest: encrypted private keys in the database, the JWKS, rotation.

The private key is PKCS#8 encrypted with the passphrase (``GOVCRED_KEY_PASSPHRASE``);
development mode generates a passphrase in the data directory and says so loudly, and
production refuses to start with a key that was made in development. A retired key stays in
the JWKS until the last credential it signed has expired (``verify_until``), with the time it
stopped signing (``retired_at``), so verifiers refuse a token it signed later.

Every process of one issuer shares the key table, not a key in memory: before each signature
the store reads which key is the newest active one (one row of a table of a handful) and
decrypts it again only when that changed, so ``govcred keys rotate`` or ``keys revoke`` in one
process reaches every other without a restart.

A compromised key is revoked (``govcred keys revoke KID --compromised --reason ...``): it leaves
the JWKS's ``keys`` and is listed under ``revoked_keys`` (kid, ``revoked_at``, reason code), which
govcred's verifiers read on their next refresh and answer KEY_REVOKED for every token it signed.
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
from govcred.core.exceptions import ConfigError, Conflict, FieldError, KeyStoreError, NotFound, ValidationError
from govcred.core.unit_of_work import UnitOfWork

#: Longest revocation reason kept (the column's size).
MAX_REASON_CHARS = 500

log = logging.getLogger("govcred.keys")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    development: bool
    created_at: dt.datetime
    retired_at: dt.datetime | None
    verify_until: dt.datetime | None
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None

    @classmethod
    def of_row(cls, r) -> KeyInfo:
        return cls(
            r["kid"],
            r["alg"],
            r["development"],
            r["created_at"],
            r["retired_at"],
            r["verify_until"],
            r["revoked_at"],
            r["revocation_reason"],
        )


@dataclass(frozen=True)
class Revocation:
    """What ``keys revoke`` did: the key, when, and what it means for holders."""

    kid: str
    revoked_at: dt.datetime
    reason: str
    #: the key that signs from now on, when the revoked one was the active key
    replaced_by: str | None
    #: valid or suspended credentials under the revoked key, no longer accepted by verifiers
    credentials_affected: int


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
        return [KeyInfo.of_row(r) for r in rows]

    def ensure_key(self) -> KeyInfo:
        """Create the first signing key if there is none (``govcred init``)."""
        infos = [k for k in self.list() if k.active]
        return infos[-1] if infos else self.rotate(actor="system")

    def rotate(self, *, actor: str = "admin") -> KeyInfo:
        """Make a new active key; the previous one is retired but stays published."""
        new_key = self._new_key()
        with self._uow() as uow:
            info = self._install(uow, new_key, actor)
            uow.commit()
        self._active = None
        return info

    def revoke(self, kid: str, *, reason: str, actor: str = "admin") -> Revocation:
        """Declare ``kid`` compromised: out of the JWKS, listed as revoked, audited with ``reason``.

        Revoking the key that signs now first puts a new key in its place (same transaction), so
        issuing never stops; credentials the revoked key signed fail at every verifier from its
        next refresh, and their holders need them issued again.
        """
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason or len(reason) > MAX_REASON_CHARS:
            raise ValidationError(
                [FieldError("reason", "REQUIRED", f"请说明吊销原因（--reason，1 至 {MAX_REASON_CHARS} 个字符）")]
            )
        new_key = self._new_key()  # generated outside the transaction; unused unless kid is active
        now = self._clock.now()
        with self._uow() as uow:
            row = uow.signing_keys.get(kid)
            if row is None:
                raise NotFound(f"没有签名密钥 {kid}（见 govcred keys list）", code="KEY_NOT_FOUND")
            if row["revoked_at"] is not None:
                raise Conflict(
                    f"签名密钥 {kid} 已于 {row['revoked_at']:%Y-%m-%d %H:%M} UTC 吊销", code="KEY_ALREADY_REVOKED"
                )
            replaced_by = self._install(uow, new_key, actor).kid if row["retired_at"] is None else None
            uow.signing_keys.revoke(kid, now, reason)
            affected = uow.credentials.count_live_signed_by(kid, now)
            uow.audit.append(
                actor=actor,
                role="admin",
                action="key.revoked",
                object_type="signing_key",
                object_id=kid,
                details={
                    "compromised": True,
                    "reason": reason,
                    "replaced_by": replaced_by,
                    "credentials_affected": affected,
                },
            )
            uow.commit()
        self._active = None
        return Revocation(kid, now, reason, replaced_by, affected)

    def _new_key(self) -> tuple[rawkeys.PrivateKey, dict[str, str], bool, bytes]:
        settings = self._settings
        passphrase, development = passphrase_for(settings)
        private = rawkeys.generate_private_key(settings.key_algorithm)
        jwk = rawkeys.public_jwk(private, settings.key_algorithm)
        return private, jwk, development, rawkeys.encrypt_private_key(private, passphrase)

    def _install(self, uow: UnitOfWork, new_key, actor: str) -> KeyInfo:
        """Retire every active key and add ``new_key`` as the active one, audited, in ``uow``."""
        _, jwk, development, private_pem_enc = new_key
        alg = self._settings.key_algorithm
        now = self._clock.now()
        for old in uow.signing_keys.active_kids():
            uow.signing_keys.retire(old, now, uow.credentials.last_expiry_signed_by(old) or now)
            uow.audit.append(actor=actor, role="admin", action="key.retired", object_type="signing_key", object_id=old)
        uow.signing_keys.add(
            kid=jwk["kid"],
            alg=alg,
            public_jwk=jwk,
            private_pem_enc=private_pem_enc,
            development=development,
            created_at=now,
        )
        uow.audit.append(
            actor=actor,
            role="admin",
            action="key.created",
            object_type="signing_key",
            object_id=jwk["kid"],
            details={"alg": alg, "development": development},
        )
        return KeyInfo(jwk["kid"], alg, development, now, None, None)

    # -- use ----------------------------------------------------------------------------
    def active_kid(self) -> str | None:
        """The kid new tokens are signed with, read from the database (None when there is none)."""
        with self._uow(readonly=True) as uow:
            return uow.signing_keys.newest_active_kid()

    def active_key(self) -> rawkeys.SigningKey:
        """The key new tokens are signed with: which one is read on every call (another process
        may have rotated or revoked it), its private key decrypted only when it changed."""
        held = self._active
        with self._uow(readonly=True) as uow:
            kid = uow.signing_keys.newest_active_kid()
            if held is not None and held.kid == kid:
                return held
            row = uow.signing_keys.newest_active()
        if row is None:
            raise KeyStoreError(
                "没有可用的签名密钥：请先运行 govcred init 或 govcred keys rotate", code="NO_SIGNING_KEY"
            )
        settings = self._settings
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
        if held is not None:
            log.info("signing key changed from %s to %s (rotated or revoked elsewhere)", held.kid, row["kid"])
        return self._active

    def held_key(self) -> rawkeys.SigningKey:
        """The key :meth:`active_key` last returned (reading it when there is none), not checked
        against the database: for a caller that checks it in its own write transaction
        (:meth:`still_active`), which costs a statement there instead of a transaction here."""
        return self._active or self.active_key()

    @staticmethod
    def still_active(uow: UnitOfWork, key: rawkeys.SigningKey) -> bool:
        """Whether ``key`` is still the one new tokens are signed with, read in ``uow`` (another
        process may have rotated or revoked it since)."""
        return uow.signing_keys.newest_active_kid() == key.kid

    def published_development_keys(self) -> list[tuple[str, bool]]:
        """``(kid, active)`` of every development key the JWKS still publishes: verifiers would
        accept what anyone holding the data directory's plain-text passphrase signs with it."""
        with self._uow(readonly=True) as uow:
            published = uow.signing_keys.published(self._clock.now())
        return [(row["kid"], row["retired_at"] is None) for row in published if row["development"]]

    def jwks(self) -> dict:
        """Published keys: active ones and retired ones still needed to verify live credentials
        (with ``retired_at``), and the ``revoked_keys`` when there are any."""
        now = self._clock.now()
        with self._uow(readonly=True) as uow:
            published = uow.signing_keys.published(now)
            revoked = uow.signing_keys.revoked()
        keys = []
        for row in published:
            jwk = dict(row["public_jwk"])
            if row["retired_at"] is not None:
                jwk["retired_at"] = int(row["retired_at"].timestamp())
            keys.append(jwk)
        document: dict = {"keys": keys}
        if revoked:
            document[rawkeys.REVOKED_KEYS_MEMBER] = [
                rawkeys.revocation_entry(r["kid"], r["revoked_at"]) for r in revoked
            ]
        return document
