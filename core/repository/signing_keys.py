"""Signing keys: active, retired, revoked, published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import signing_keys

#: built once: read before every signature, its construction cost more than its execution
_NEWEST_ACTIVE_KID = (
    sa.select(signing_keys.c.kid)
    .where(signing_keys.c.retired_at.is_(None))
    .order_by(signing_keys.c.created_at.desc())
    .limit(1)
)

#: a retired key's ``verify_until`` moved to ``until`` if that is later (once per decision)
_EXTEND_VERIFY_UNTIL = (
    sa.update(signing_keys)
    .where(
        signing_keys.c.kid == sa.bindparam("k"),
        signing_keys.c.retired_at.is_not(None),
        sa.or_(signing_keys.c.verify_until.is_(None), signing_keys.c.verify_until < sa.bindparam("until")),
    )
    .values(verify_until=sa.bindparam("until"))
)


class SigningKeyRepository:
    def __init__(self, session: Session):
        self._s = session
        self._held: dict[str, dt.datetime] | None = None

    def all(self) -> Sequence[Mapping[str, Any]]:
        return self._s.execute(sa.select(signing_keys).order_by(signing_keys.c.created_at)).mappings().all()

    def get(self, kid: str) -> Mapping[str, Any] | None:
        return self._s.execute(sa.select(signing_keys).where(signing_keys.c.kid == kid)).mappings().first()

    def newest_active_kid(self) -> str | None:
        """The kid new tokens are signed with: a read of a table of a handful of rows, cheap enough
        to make before every signature."""
        return self._s.execute(_NEWEST_ACTIVE_KID).scalar()

    def active_kids(self) -> Sequence[str]:
        return self._s.execute(sa.select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None))).scalars().all()

    def newest_active(self) -> Mapping[str, Any] | None:
        return (
            self._s.execute(
                sa.select(signing_keys)
                .where(signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created_at.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )

    def published(self, now: dt.datetime) -> Sequence[Mapping[str, Any]]:
        """``kid``, ``public_jwk``, ``retired_at`` and ``development`` of the active keys and of
        retired ones still needed to verify live credentials; never a revoked key."""
        return (
            self._s.execute(
                sa.select(
                    signing_keys.c.kid,
                    signing_keys.c.public_jwk,
                    signing_keys.c.retired_at,
                    signing_keys.c.development,
                )
                .where(
                    signing_keys.c.revoked_at.is_(None),
                    sa.or_(
                        signing_keys.c.retired_at.is_(None),
                        signing_keys.c.verify_until >= now,
                    ),
                )
                .order_by(signing_keys.c.created_at)
            )
            .mappings()
            .all()
        )

    def revoked(self) -> Sequence[Mapping[str, Any]]:
        """``kid`` and ``revoked_at`` of every revoked key, oldest revocation first."""
        return (
            self._s.execute(
                sa.select(signing_keys.c.kid, signing_keys.c.revoked_at)
                .where(signing_keys.c.revoked_at.is_not(None))
                .order_by(signing_keys.c.revoked_at, signing_keys.c.kid)
            )
            .mappings()
            .all()
        )

    def revoke(self, kid: str, now: dt.datetime, reason: str) -> None:
        """Revoked is also retired (from ``now`` if it was still signing): it never signs again."""
        key = signing_keys.c.kid == kid
        self._s.execute(sa.update(signing_keys).where(key).values(revoked_at=now, revocation_reason=reason))
        self._s.execute(sa.update(signing_keys).where(key, signing_keys.c.retired_at.is_(None)).values(retired_at=now))

    def add(self, **row: Any) -> None:
        self._s.execute(sa.insert(signing_keys).values(**row))

    def retire(self, kid: str, now: dt.datetime, verify_until: dt.datetime) -> None:
        self._s.execute(
            sa.update(signing_keys).where(signing_keys.c.kid == kid).values(retired_at=now, verify_until=verify_until)
        )

    def hold(self) -> None:
        """Keep only the latest expiry per key from now on; :meth:`release` extends each key
        once (a batch of credentials signed with one key is one UPDATE, not one each)."""
        self._held = {}

    def release(self) -> None:
        held, self._held = self._held or {}, None
        for kid, expires_at in held.items():
            self.extend_verify_until(kid, expires_at)

    def extend_verify_until(self, kid: str, expires_at: dt.datetime) -> None:
        """A credential was signed with a (possibly retired) key: keep it published long enough."""
        if self._held is not None:
            self._held[kid] = max(expires_at, self._held.get(kid, expires_at))
            return
        self._s.execute(_EXTEND_VERIFY_UNTIL, {"k": kid, "until": expires_at})
