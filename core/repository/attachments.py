"""Rows of uploaded proofs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import attachments

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.accounts.officers import Principal


def _uploaded_by(principal: Principal):
    """A resident's own uploads, or those a clerk entered."""
    if principal.kind == "resident":
        return attachments.c.owner_id == principal.id
    return attachments.c.uploaded_by == principal.id


class AttachmentRepository:
    """Rows of uploaded proofs; the files themselves (encrypted) live in the uploads directory."""

    def __init__(self, session: Session):
        self._s = session

    def count_uploaded_by(self, principal: Principal) -> int:
        return (
            self._s.execute(sa.select(sa.func.count()).select_from(attachments).where(_uploaded_by(principal))).scalar()
            or 0
        )

    def add(self, **row: Any) -> None:
        self._s.execute(sa.insert(attachments).values(**row))

    def get(self, attachment_id: str, *, owner_id: str | None = None) -> Mapping[str, Any] | None:
        """One row; only the resident ``owner_id``'s when given."""
        stmt = sa.select(attachments).where(attachments.c.id == attachment_id)
        if owner_id is not None:
            stmt = stmt.where(attachments.c.owner_id == owner_id)
        return self._s.execute(stmt).mappings().first()

    def unlinked_of(self, ids: Sequence[str], principal: Principal) -> set[str]:
        """Those of ``ids`` that ``principal`` uploaded and no application uses yet."""
        rows = self._s.execute(
            sa.select(attachments.c.id, attachments.c.application_id).where(
                attachments.c.id.in_(ids), _uploaded_by(principal)
            )
        ).all()
        return {row.id for row in rows if row.application_id is None}

    def link(self, ids: Sequence[str], application_id: str) -> int:
        """Attach the unlinked ones of ``ids`` to the application; how many were linked."""
        return self._s.execute(
            sa.update(attachments)
            .where(attachments.c.id.in_(ids), attachments.c.application_id.is_(None))
            .values(application_id=application_id)
        ).rowcount

    def stored_names(self, names: Sequence[str]) -> set[str]:
        """Those of the upload file names ``names`` that a row names."""
        found: set[str] = set()
        names = list(names)
        for start in range(0, len(names), 500):  # bounded IN lists
            chunk = names[start : start + 500]
            found.update(
                self._s.execute(sa.select(attachments.c.storage_name).where(attachments.c.storage_name.in_(chunk)))
                .scalars()
                .all()
            )
        return found

    def for_application(self, application_id: str) -> Sequence[Mapping[str, Any]]:
        return (
            self._s.execute(
                sa.select(attachments)
                .where(attachments.c.application_id == application_id)
                .order_by(attachments.c.created_at)
            )
            .mappings()
            .all()
        )
