"""Officers and residents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core import models
from govcred.core.orm import resident_identities

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


class OfficerRepository:
    def __init__(self, session: Session):
        self._s = session

    def add(self, officer: models.Officer) -> None:
        self._s.add(officer)

    def by_username(self, username: str) -> models.Officer | None:
        return self._s.execute(
            sa.select(models.Officer).where(models.Officer.username == username)
        ).scalar_one_or_none()

    def get(self, officer_id: str) -> models.Officer | None:
        return self._s.get(models.Officer, officer_id)

    def active_demo_usernames(self) -> list[str]:
        """Usernames of the demo officers (``govcred init``/``demo``) still able to sign in."""
        return list(
            self._s.execute(
                sa.select(models.Officer.username)
                .where(models.Officer.demo.is_(True), models.Officer.active.is_(True))
                .order_by(models.Officer.username)
            ).scalars()
        )

    def display_names(self, officer_ids: Iterable[str]) -> dict[str, str]:
        """``{id: display name}`` of the officers named (reports show who decided)."""
        ids = list(officer_ids)
        if not ids:
            return {}
        rows = self._s.execute(
            sa.select(models.Officer.id, models.Officer.display_name).where(models.Officer.id.in_(ids))
        )
        return dict(rows.all())


@dataclass(frozen=True)
class ResidentIdentity:
    """A resident account's real-name identity, decrypted."""

    resident_id: str
    provider: str
    name: str
    id_number: str
    assurance: str


class ResidentRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._secrets = secrets

    def by_phone(self, phone: str) -> models.Resident | None:
        index = self._secrets.index(phone, "phone")
        return self._s.execute(
            sa.select(models.Resident).where(models.Resident.phone_index == index)
        ).scalar_one_or_none()

    def get_or_create(self, phone: str, now) -> models.Resident:
        found = self.by_phone(phone)
        if found is not None:
            return found
        resident = models.Resident(phone_index=self._secrets.index(phone, "phone"), phone_enc=b"")
        resident.phone_enc = self._secrets.cipher.encrypt_text(phone, f"residents|phone|{resident.id}")
        resident.created_at = now
        self._s.add(resident)
        return resident

    def phone_of(self, resident: models.Resident) -> str:
        return self._secrets.cipher.decrypt_text(resident.phone_enc, f"residents|phone|{resident.id}")

    # ---- accounts signed in through an identity provider ----------------------------------

    def _identity_aad(self, resident_id: str, what: str) -> str:
        return f"resident_identities|{what}|{resident_id}"

    def by_identity_subject(self, subject_index: str) -> models.Resident | None:
        resident_id = self._s.execute(
            sa.select(resident_identities.c.resident_id).where(resident_identities.c.subject_index == subject_index)
        ).scalar_one_or_none()
        return self._s.get(models.Resident, resident_id) if resident_id else None

    def record_identity(
        self, subject_index: str, *, provider: str, name: str, id_number: str, assurance: str, now
    ) -> models.Resident:
        """The account of the person the provider knows as ``subject_index`` (created on first
        sign-in), its identity updated to what the provider verified just now."""
        resident = self.by_identity_subject(subject_index)
        cipher = self._secrets.cipher
        if resident is None:
            # the account's look-up key is the subject's index (see the note on resident_identities)
            resident = models.Resident(phone_index=subject_index, phone_enc=b"", created_at=now)
            resident.phone_enc = cipher.encrypt_text("", f"residents|phone|{resident.id}")
            self._s.add(resident)
            self._s.flush()
        values = {
            "provider": provider,
            "name_enc": cipher.encrypt_text(name, self._identity_aad(resident.id, "name")),
            "id_number_enc": cipher.encrypt_text(id_number, self._identity_aad(resident.id, "id_number")),
            "id_index": self._secrets.index(id_number, "id_number"),
            "assurance": assurance,
            "verified_at": now,
        }
        updated = self._s.execute(
            sa.update(resident_identities).where(resident_identities.c.resident_id == resident.id).values(**values)
        )
        if updated.rowcount == 0:
            self._s.execute(
                sa.insert(resident_identities).values(resident_id=resident.id, subject_index=subject_index, **values)
            )
        return resident

    def identity_of(self, resident_id: str) -> ResidentIdentity | None:
        """The verified identity of an account signed in through a provider; None for an
        account of the SMS-code sign-in (a phone, not a person)."""
        row = (
            self._s.execute(sa.select(resident_identities).where(resident_identities.c.resident_id == resident_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        cipher = self._secrets.cipher
        return ResidentIdentity(
            resident_id=resident_id,
            provider=row["provider"],
            name=cipher.decrypt_text(row["name_enc"], self._identity_aad(resident_id, "name")),
            id_number=cipher.decrypt_text(row["id_number_enc"], self._identity_aad(resident_id, "id_number")),
            assurance=row["assurance"],
        )
