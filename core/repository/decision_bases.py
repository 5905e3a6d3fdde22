"""What each decision was judged on (decision_bases); the records snapshot encrypted at rest."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.orm import decision_bases
from govcred.core.repository.held import execute_rows

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.crypto import Secrets


@dataclass(frozen=True)
class DecisionBasis:
    decision_id: str
    ruleset: str
    input_digest: str
    records_digest: str
    as_of: dt.date
    already_holds: bool
    #: the records snapshot as judged: ``{"source": ..., "data": ...}``
    records: dict[str, Any]


_INSERT = sa.insert(decision_bases)
#: built once (json.dumps with arguments builds an encoder for each call; one a decision)
_RECORDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _aad(decision_id: str) -> bytes:
    return f"decision_bases|records|{decision_id}".encode()


class DecisionBasisRepository:
    def __init__(self, session: Session, secrets: Secrets):
        self._s = session
        self._cipher = secrets.cipher
        self._held: list[dict[str, Any]] | None = None

    def hold(self) -> None:
        """Collect the bases added from now on; :meth:`release` inserts them with one
        executemany (after the decisions they refer to are flushed)."""
        self._held = []

    def release(self) -> None:
        rows, self._held = self._held or [], None
        execute_rows(self._s, _INSERT, rows)

    def add(self, basis: DecisionBasis) -> None:
        plain = _RECORDS_JSON.encode(basis.records).encode()
        row = {
            "decision_id": basis.decision_id,
            "ruleset": basis.ruleset,
            "input_digest": basis.input_digest,
            "records_digest": basis.records_digest,
            "as_of": basis.as_of,
            "already_holds": basis.already_holds,
            "records_enc": self._cipher.encrypt(plain, _aad(basis.decision_id)),
        }
        if self._held is not None:
            self._held.append(row)
        else:
            self._s.flush()  # the decision row first: the basis refers to it
            self._s.execute(_INSERT, row)

    def get(self, decision_id: str) -> DecisionBasis | None:
        row = self._s.execute(sa.select(decision_bases).where(decision_bases.c.decision_id == decision_id)).first()
        if row is None:
            return None
        records = json.loads(self._cipher.decrypt(row.records_enc, _aad(decision_id)))
        return DecisionBasis(
            row.decision_id, row.ruleset, row.input_digest, row.records_digest, row.as_of, row.already_holds, records
        )
