"""Domain objects. Plain Python: no Flask, no SQL. ``core.orm`` maps the persistent ones.

The application state machine lives here so that every entry point (API, pages, CLI,
demo) moves applications through the same legal transitions.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govcred.core.exceptions import Conflict
from govcred.core.reference import reference_of

if TYPE_CHECKING:  # pragma: no cover
    import sqlalchemy as sa

    from govcred.core.config import Settings


def random_uuid_bytes() -> bytes:
    """The 16 bytes of a random (version 4) UUID, the same bits ``uuid.uuid4()`` sets, without
    building the UUID object: a third of the time, and a batched issuance makes four ids."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return bytes(raw)


def new_id() -> str:
    """A random UUID in its canonical text form (``str(uuid.uuid4())``)."""
    h = random_uuid_bytes().hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ---- eligibility ----------------------------------------------------------------------

BLOCKING = "blocking"
ADVISORY = "advisory"


@dataclass(frozen=True)
class Finding:
    """The result of one failing rule: stable code, severity, Chinese message, legal basis."""

    code: str
    severity: str
    message_zh: str
    basis: str
    field: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in (BLOCKING, ADVISORY):
            raise ValueError(f"severity must be blocking or advisory, got {self.severity!r}")

    @property
    def blocking(self) -> bool:
        return self.severity == BLOCKING

    def as_dict(self) -> dict[str, Any]:
        d = {"code": self.code, "severity": self.severity, "message_zh": self.message_zh, "basis": self.basis}
        if self.field:
            d["field"] = self.field
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["code"], d["severity"], d["message_zh"], d["basis"], d.get("field"))


@dataclass(frozen=True)
class PersonRecords:
    """What a records source knows about a person, as one opaque snapshot.

    Core never reads ``data``: it passes the snapshot from the records source
    (:func:`govcred_person_records`, or the credential type's ``records_from_document`` in a
    dry run) to the credential type's rules. ``data`` is JSON-serialisable -- objects with
    string keys, lists, strings, numbers, booleans, ``None``; dates as ISO strings -- and its
    shape belongs to the credential type that reads it. ``source`` names where it came from
    (``none`` when no source knew the person, ``document`` in a dry run).

    ``parsed`` is an in-process convenience, never stored or compared: the object the
    credential type built ``data`` from (or reads it into), so that rules running thousands
    of times a second need not parse the same snapshot again. A reader must still accept a
    snapshot without it (one that was stored, or sent by another process).
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    source: str = "unknown"
    parsed: Any = field(default=None, compare=False, repr=False)


@dataclass
class EligibilityContext:
    as_of: dt.date
    records: PersonRecords
    settings: Settings | None = None
    #: the person already holds a valid permit of this county or has an application in progress
    already_holds: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MigrationSource:
    """A plugin's own tables: an Alembic branch ``label`` with revisions in ``directory``."""

    label: str
    directory: Path
    metadata: sa.MetaData


# ---- applications ---------------------------------------------------------------------

DRAFT, SUBMITTED, ACCEPTED, APPROVED, REJECTED, WITHDRAWN = (
    "draft",
    "submitted",
    "accepted",
    "approved",
    "rejected",
    "withdrawn",
)
#: 补正: returned to the applicant for more materials; resubmitting accepts it again and the
#: deadline restarts from that acceptance
RETURNED = "returned"
APPLICATION_STATES = (DRAFT, SUBMITTED, ACCEPTED, APPROVED, REJECTED, WITHDRAWN, RETURNED)
_TRANSITIONS = {
    DRAFT: {SUBMITTED, WITHDRAWN},
    SUBMITTED: {ACCEPTED, WITHDRAWN, REJECTED, RETURNED},
    ACCEPTED: {APPROVED, REJECTED, WITHDRAWN, RETURNED},
    RETURNED: {ACCEPTED, WITHDRAWN},
    APPROVED: set(),
    REJECTED: set(),
    WITHDRAWN: set(),
}
IN_PROGRESS = (DRAFT, SUBMITTED, ACCEPTED, RETURNED)


#: What residents and officers read for each application state (pages, look-up, API).
APPLICATION_STATE_ZH = {
    DRAFT: "草稿",
    SUBMITTED: "已提交，待受理",
    ACCEPTED: "已受理，审核中",
    APPROVED: "已批准",
    REJECTED: "不予批准",
    WITHDRAWN: "已撤回",
    RETURNED: "待补正材料",
}


def state_zh(state: str) -> str:
    """An application state as people read it (官方用语), for messages: never the code."""
    return APPLICATION_STATE_ZH.get(state, state)


@dataclass(eq=False)
class Application:
    schema: str
    channel: str
    document: dict[str, Any]
    id: str = field(default_factory=new_id)
    state: str = DRAFT
    kind: str = "first_issue"  # first_issue | endorsement | replacement
    #: the resident account that owns it (online) -- None for window intake without an account
    owner_id: str | None = None
    #: the clerk who entered it at the window
    created_by: str | None = None
    subject_name_masked: str = ""
    subject_id_masked: str = ""
    subject_index: str = ""
    county: str = ""
    created_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    deadline_provisional: bool = False
    decided_at: dt.datetime | None = None
    permit_no: str | None = None
    version: int = 1
    #: the identity it rests on (source, acting as applicant or agent, assurance); None
    #: for applications stored before identities were recorded
    identity: dict[str, Any] | None = None
    #: the 办件编号 people are told (:func:`govcred.core.reference.reference_of` of the id),
    #: kept in its own column so that an officer can search by it
    reference: str = ""
    #: blind index of the applicant's phone, for the officers' search (None: not yet filled)
    phone_index: str | None = None

    def __post_init__(self) -> None:
        if not self.reference:
            self.reference = reference_of(self.id)

    def _move(self, new: str) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise Conflict(f"申请状态为“{state_zh(self.state)}”，不能变为“{state_zh(new)}”", code="INVALID_STATE")
        self.state = new

    def submit(self, at: dt.datetime) -> None:
        self._move(SUBMITTED)
        self.submitted_at = at

    def accept(self, at: dt.datetime, deadline: dt.datetime, provisional: bool) -> None:
        self._move(ACCEPTED)
        self.accepted_at = at
        self.deadline = deadline
        self.deadline_provisional = provisional

    def decide(self, approved: bool, at: dt.datetime) -> None:
        self._move(APPROVED if approved else REJECTED)
        self.decided_at = at

    def withdraw(self) -> None:
        self._move(WITHDRAWN)

    def return_for_materials(self) -> None:
        """补正: back to the applicant; no deadline runs until it is accepted again."""
        self._move(RETURNED)
        self.deadline = None
        self.deadline_provisional = False

    @property
    def in_progress(self) -> bool:
        return self.state in IN_PROGRESS


@dataclass(eq=False)
class Decision:
    application_id: str
    approved: bool
    findings: list[dict[str, Any]]
    officer_reasons: list[str]
    reviewer_id: str | None
    decided_at: dt.datetime
    id: str = field(default_factory=new_id)
    credential_id: str | None = None

    @property
    def blocking_findings(self) -> list[Finding]:
        return [Finding.from_dict(f) for f in self.findings if f["severity"] == BLOCKING]


# ---- credentials ----------------------------------------------------------------------

VALID, SUSPENDED, REVOKED = "valid", "suspended", "revoked"
REPLACED, CANCELLED, SUPERSEDED = "replaced", "cancelled", "superseded"
#: What holders, clerks and verifiers read for each credential status (pages and CLI alike).
CREDENTIAL_STATUS_ZH = {
    VALID: "有效",
    SUSPENDED: "已中止",
    REVOKED: "已吊销",
    REPLACED: "已换领",
    CANCELLED: "已注销",
    SUPERSEDED: "已由新版本替代",  # endorsed, or signed again with a new key
}


def credential_status_zh(status: str) -> str:
    """A credential status as people read it, for messages: never the code."""
    return CREDENTIAL_STATUS_ZH.get(status, status)


#: Token Status List values (2 bits): what each credential status publishes.
STATUS_LIST_VALUE = {VALID: 0, REVOKED: 1, SUSPENDED: 2, REPLACED: 1, CANCELLED: 1, SUPERSEDED: 0}


@dataclass(eq=False)
class Credential:
    """One signed credential. ``id`` is its ``jti``; ``permit_no`` stays the same across
    endorsements (``version`` counts them), and a replacement gets a new permit number."""

    application_id: str
    permit_no: str
    credential_type: str
    subject_index: str
    issued_at: dt.datetime
    not_before: dt.datetime
    expires_at: dt.datetime
    kid: str
    token: str
    claims: dict[str, Any]
    status_list_id: str
    status_idx: int
    id: str = field(default_factory=new_id)
    version: int = 1
    status: str = VALID
    status_reason: str = ""
    status_changed_at: dt.datetime | None = None
    residence_start: dt.date | None = None
    owner_id: str | None = None


# ---- accounts -------------------------------------------------------------------------

ROLES = ("clerk", "reviewer", "admin")


@dataclass(eq=False)
class Officer:
    username: str
    display_name: str
    role: str
    password_hash: str
    id: str = field(default_factory=new_id)
    totp_secret_enc: bytes | None = None
    totp_last_step: int = 0
    active: bool = True
    created_at: dt.datetime | None = None
    totp_exempt: bool = False
    demo: bool = False


@dataclass(eq=False)
class Resident:
    """A holder account, identified by phone number (stored encrypted + blind index)."""

    phone_index: str
    phone_enc: bytes
    id: str = field(default_factory=new_id)
    created_at: dt.datetime | None = None
