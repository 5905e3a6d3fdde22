"""Signing keys: active, retired, published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import signing_keys


class SigningKeyRepository:
    def __init__(self, session: Session):
        self._s = session

    def all(self) -> Sequence[Mapping[str, Any]]:
        return self._s.execute(sa.select(signing_keys).order_by(signing_keys.c.created_at)).mappings().all()

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

    def published(self, now: dt.datetime) -> list[dict]:
        """Public JWKs of active keys and of retired ones still needed to verify live credentials."""
        return list(
            self._s.execute(
                sa.select(signing_keys.c.public_jwk)
                .where(
                    sa.or_(
                        signing_keys.c.retired_at.is_(None),
                        signing_keys.c.verify_until >= now,
                    )
                )
                .order_by(signing_keys.c.created_at)
            )
            .scalars()
            .all()
        )

    def add(self, **row: Any) -> None:
        self._s.execute(sa.insert(signing_keys).values(**row))

    def retire(self, kid: str, now: dt.datetime, verify_until: dt.datetime) -> None:
        self._s.execute(
            sa.update(signing_keys).where(signing_keys.c.kid == kid).values(retired_at=now, verify_until=verify_until)
        )

    def extend_verify_until(self, kid: str, expires_at: dt.datetime) -> None:
        """A credential was signed with a (possibly retired) key: keep it published long enough."""
        self._s.execute(
            sa.update(signing_keys)
            .where(
                signing_keys.c.kid == kid,
                signing_keys.c.retired_at.is_not(None),
                sa.or_(signing_keys.c.verify_until.is_(None), signing_keys.c.verify_until < expires_at),
            )
            .values(verify_until=expires_at)
        )
