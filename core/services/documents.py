"""What core checks of an application document without knowing its schema: that its
credential type validates it and names its subject, which attachments it references, whether its materials are
complete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from govcred.core.credential_types import CredentialTypes
from govcred.core.exceptions import ConfigError, FieldError, MalformedInput, ValidationError


def attachment_references(document: Any) -> list[tuple[str, str]]:
    """Every ``(path, attachment id)`` the document references.

    Core knows no schema: any member named ``attachments`` holding a list is a list of
    attachment ids, wherever it sits (``conditions[0].attachments`` in document v1).
    """
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                if key == "attachments" and isinstance(item, list):
                    found.extend((f"{sub}[{i}]", ref) for i, ref in enumerate(item) if isinstance(ref, str))
                else:
                    walk(item, sub)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(document, "")
    return found


def materials_complete(document: Any) -> bool:
    """材料齐全: every ``attachments`` list of the document names at least one file (that the
    files exist and belong to the applicant is checked before this)."""

    def lists(value: Any) -> Iterator[Any]:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key == "attachments":
                    yield item
                else:
                    yield from lists(item)
        elif isinstance(value, list):
            for item in value:
                yield from lists(item)

    return all(isinstance(item, list) and item for item in lists(document))


def validate_document(credential_types: CredentialTypes, document: Any) -> Mapping[str, str]:
    """Check a document against its credential type; return its subject. Every error at once."""
    credential_type = credential_types.for_document(document)
    errors = credential_type.validate(document)
    if errors:
        raise ValidationError(list(errors))
    subject = credential_type.subject(document)
    if not subject or not subject.get("id_number") or not subject.get("name"):
        raise ConfigError(f"credential type {credential_type.name!r} names no subject")
    return subject


def document_errors(credential_types: CredentialTypes, document: Any) -> list[FieldError]:
    try:
        validate_document(credential_types, document)
    except ValidationError as exc:
        return exc.errors
    return []


def _under(path: str, parent: str) -> bool:
    return path.startswith((parent + ".", parent + "[")) if parent else bool(path)


def form_errors(credential_types: CredentialTypes, document: Any, today: dt.date) -> list[FieldError]:
    """Every problem of a document typed into a form: its type's form checks first, then
    the structural errors they did not already name. A structural error about a whole
    missing object (``applicant``) is left out when the form checks named its fields."""
    try:
        credential_type = credential_types.for_document(document)
    except MalformedInput:
        raise
    except ValidationError as exc:
        return exc.errors
    checked = list(credential_type.form_errors(document, today))
    named = {e.field for e in checked}
    structural = [
        e
        for e in credential_type.validate(document)
        if e.field not in named and not any(_under(field, e.field) for field in named)
    ]
    return checked + structural
