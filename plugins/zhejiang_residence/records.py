"""A person's residence records as the rules read them: registrations and existing permits.

Core carries a person's records as an opaque, JSON-serialisable snapshot
(:class:`govcred.core.PersonRecords`). This plugin writes that snapshot (from its records
store, or from an application document in a dry run) and reads it back here::

    {"registrations": [{"division": "331121", "declared": "2026-01-01", "ended": null}],
     "permits": [{"number": "…", "issuer_division": "330100", "issued": "2024-05-01",
                  "status": "valid"}]}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govcred.core import PersonRecords


@dataclass(frozen=True, slots=True)
class Registration:
    """One residence registration (居住登记): ``ended`` is the last day registered, None = current."""

    division: str
    declared: dt.date
    ended: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ExistingPermit:
    """A residence permit the person already holds, as the records say."""

    number: str
    issuer_division: str
    issued: dt.date
    status: str  # valid | suspended | revoked


@dataclass(frozen=True, slots=True)
class ResidenceRecords:
    registrations: tuple[Registration, ...] = ()
    permits: tuple[ExistingPermit, ...] = ()
    source: str = "unknown"

    def snapshot(self) -> PersonRecords:
        """The JSON-serialisable form core carries to the rules."""
        return PersonRecords(
            source=self.source,
            parsed=self,
            data={
                "registrations": [
                    {
                        "division": r.division,
                        "declared": r.declared.isoformat(),
                        "ended": r.ended.isoformat() if r.ended else None,
                    }
                    for r in self.registrations
                ],
                "permits": [
                    {
                        "number": p.number,
                        "issuer_division": p.issuer_division,
                        "issued": p.issued.isoformat(),
                        "status": p.status,
                    }
                    for p in self.permits
                ],
            },
        )

    @classmethod
    def of(cls, records: PersonRecords) -> ResidenceRecords:
        """Read a snapshot this plugin (or a records source speaking its shape) wrote."""
        if isinstance(records.parsed, cls):
            return records.parsed
        data = records.data
        return cls(
            registrations=tuple(registration(r) for r in data.get("registrations") or ()),
            permits=tuple(existing_permit(p) for p in data.get("permits") or ()),
            source=records.source,
        )


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def registration(row: Mapping[str, Any]) -> Registration:
    """A registration from ``{"division", "declared", "ended"}`` (dates as ISO strings or dates)."""
    ended = row.get("ended")
    return Registration(row["division"], _day(row["declared"]), _day(ended) if ended else None)


def existing_permit(row: Mapping[str, Any]) -> ExistingPermit:
    """An existing permit from ``{"number", "issuer_division", "issued", "status"}``."""
    return ExistingPermit(row["number"], row["issuer_division"], _day(row["issued"]), row["status"])


def snapshot(
    registrations: Iterable[Mapping[str, Any]] = (), permits: Iterable[Mapping[str, Any]] = (), *, source: str
) -> PersonRecords:
    """Rows as they come from a store or a document, as core's snapshot."""
    return ResidenceRecords(
        tuple(map(registration, registrations)), tuple(map(existing_permit, permits)), source
    ).snapshot()
