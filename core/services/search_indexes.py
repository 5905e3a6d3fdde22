"""The keyed index an officer finds an application by its applicant's phone through.

Phones are personal data: the application keeps the number only inside its encrypted
document, and this blind index next to it (the same keyed HMAC, purpose ``phone``, that
resident accounts are found by). Rows stored before migration 0019 are filled by
:func:`fill_phone_indexes`, which ``govcred db upgrade`` and ``govcred init`` run right after
migrating: the migration itself has neither the key nor the credential types that read the
phone out of a document.
"""

from __future__ import annotations

from govcred.core import models
from govcred.core.services.collaborators import Collaborators

#: rows per transaction while filling: bounded memory and short locks on a large table
FILL_BATCH = 500
#: what is stored for a document without a phone: not NULL, so it is not visited again
NO_PHONE = ""


def normalise_phone(text: str) -> str:
    """The form a phone is indexed in: digits only, without the +86 / 0086 country prefix
    (``138 0000 0000``, ``138-0000-0000`` and ``+8613800000000`` are one number)."""
    digits = "".join(c for c in text if c.isdigit())
    for prefix in ("0086", "86"):
        if len(digits) == len(prefix) + 11 and digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits


def phone_index(deps: Collaborators, phone: str | None) -> str:
    """The blind index of ``phone`` (:data:`NO_PHONE` for none)."""
    number = normalise_phone(phone or "")
    return deps.blind_index(number, "phone") if number else NO_PHONE


def application_phone_index(deps: Collaborators, app: models.Application) -> str:
    """The phone index of ``app``'s applicant, read from its document by its credential type."""
    phone = deps.credential_types.subject_of(app).get("phone")  # {} for a type no longer installed
    return phone_index(deps, phone if isinstance(phone, str) else None)


def fill_phone_indexes(deps: Collaborators) -> int:
    """Index the phone of every application that has no index yet; how many were filled."""
    filled = 0
    while True:
        with deps.uow() as uow:
            batch = uow.applications.without_phone_index(FILL_BATCH)
            uow.applications.set_phone_indexes({app.id: application_phone_index(deps, app) for app in batch})
            uow.commit()
        filled += len(batch)
        if len(batch) < FILL_BATCH:
            return filled
