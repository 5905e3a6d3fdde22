"""Unit of work: one transaction, its repositories, its outbox and its audit log.

Use it as a context manager; nothing is committed unless ``commit()`` is called, and an
exception inside the block rolls everything back -- business rows, outbox rows and audit
entries together.

Inside a request bound to an idempotency lease (``govcred.core.idempotency``) the first
``commit()`` checks the lease and leaves the transaction open; later units of work of that
request join it, and the key's stored answer commits with the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from govcred.core.audit import AuditLog
from govcred.core.db import READONLY
from govcred.core.idempotency import bound_claim
from govcred.core.outbox import Outbox
from govcred.core.repository import (
    ApplicationRepository,
    ApplicationReturnRepository,
    AttachmentRepository,
    CredentialRepository,
    DecisionBasisRepository,
    DecisionRepository,
    FormDraftRepository,
    OfficerContactRepository,
    OfficerRepository,
    RatingRepository,
    ReminderChoiceRepository,
    ReportQueries,
    ReservedBlockRepository,
    ResidentRepository,
    SigningKeyRepository,
    StatusListRepository,
    SweepRunRepository,
)

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.clock import Clock
    from govcred.core.crypto import Secrets


class UnitOfWork:
    session: Session

    def __init__(self, session_factory: sessionmaker, secrets: Secrets, clock: Clock, *, readonly: bool = False):
        self._factory = session_factory
        self._secrets = secrets
        self._clock = clock
        self._readonly = readonly

    def __enter__(self) -> UnitOfWork:
        for name in _PARTS:  # parts made in an earlier entry belong to that entry's session
            self.__dict__.pop(name, None)
        claim = bound_claim()
        self._joined = claim is not None and claim.session is not None
        self._savepoint = None
        if self._joined:
            # the request already changed something: read and write in that transaction; a
            # savepoint keeps this unit's own all-or-nothing
            self.session = claim.session
            if not self._readonly:
                self._savepoint = self.session.begin_nested()
        else:
            self.session = self._factory()
            if self._readonly:
                self.session.connection(execution_options={READONLY: True})
        # read by the mapper's document events only (why: the note in govcred.core.orm)
        self.session.info["cipher"] = self._secrets.cipher
        return self

    # The repositories, the outbox and the audit log are made on first use: a unit of work
    # touches a few of them, and building all twenty on every entry cost a tenth of a
    # decision's own Python time (a decision enters two units of work).
    outbox: Outbox = cached_property(lambda u: Outbox(u.session, u._clock, u._secrets.cipher))
    audit: AuditLog = cached_property(lambda u: AuditLog(u.session, u._clock))
    applications: ApplicationRepository = cached_property(lambda u: ApplicationRepository(u.session, u._secrets))
    decisions: DecisionRepository = cached_property(lambda u: DecisionRepository(u.session))
    decision_bases: DecisionBasisRepository = cached_property(lambda u: DecisionBasisRepository(u.session, u._secrets))
    credentials: CredentialRepository = cached_property(lambda u: CredentialRepository(u.session))
    officers: OfficerRepository = cached_property(lambda u: OfficerRepository(u.session))
    residents: ResidentRepository = cached_property(lambda u: ResidentRepository(u.session, u._secrets))
    status_lists: StatusListRepository = cached_property(lambda u: StatusListRepository(u.session))
    signing_keys: SigningKeyRepository = cached_property(lambda u: SigningKeyRepository(u.session))
    sweep_runs: SweepRunRepository = cached_property(lambda u: SweepRunRepository(u.session))
    reserved_blocks: ReservedBlockRepository = cached_property(lambda u: ReservedBlockRepository(u.session))
    reminder_choices: ReminderChoiceRepository = cached_property(lambda u: ReminderChoiceRepository(u.session))
    attachments: AttachmentRepository = cached_property(lambda u: AttachmentRepository(u.session))
    form_drafts: FormDraftRepository = cached_property(lambda u: FormDraftRepository(u.session, u._secrets))
    application_returns: ApplicationReturnRepository = cached_property(lambda u: ApplicationReturnRepository(u.session))
    ratings: RatingRepository = cached_property(lambda u: RatingRepository(u.session, u._secrets))
    officer_contacts: OfficerContactRepository = cached_property(
        lambda u: OfficerContactRepository(u.session, u._secrets)
    )
    reports: ReportQueries = cached_property(lambda u: ReportQueries(u.session))

    def __exit__(self, exc_type, *exc) -> None:
        claim = bound_claim()
        if claim is not None and claim.session is self.session:
            # held for the request's answer (committed or not by the idempotency store)
            if self._savepoint is not None and self._savepoint.is_active:
                self._savepoint.rollback()  # this unit did not commit
            return
        try:
            if exc_type is None:
                # Leaving normally (after commit, or read-only): what was loaded stays
                # readable after the block. Rolling back would expire every object, so
                # detach them first; whatever was not committed is still discarded.
                self.session.expunge_all()
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        if self._readonly:
            raise RuntimeError("read-only unit of work")
        claim = bound_claim()
        if claim is None:
            self.session.commit()
        elif self._joined:
            if self._savepoint is not None and self._savepoint.is_active:
                self._savepoint.commit()
        else:
            claim.hold(self.session)

    def rollback(self) -> None:
        claim = bound_claim()
        if self._savepoint is not None:
            if self._savepoint.is_active:
                self._savepoint.rollback()
            return
        if claim is not None and claim.session is self.session:
            claim.poisoned = True  # rolls back the change already made: none of it may stay
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()

    @contextmanager
    def held_writes(self) -> Iterator[None]:
        """Set-based writing for a batch of decisions: the decided applications' new state,
        credentials, decisions, audit entries, outbox rows, decision bases and key extensions are
        collected inside the block and written at its end with one executemany each, after the
        ORM rows they refer to are flushed. Leaving by an exception writes nothing (the unit of
        work rolls back anyway)."""
        # in the order of their references: a basis names its decision, a decision its credential
        held = (self.credentials, self.decisions, self.decision_bases, self.signing_keys, self.audit, self.outbox)
        for part in (self.applications, *held):
            part.hold()
        yield
        self.applications.release()  # before the flush, which would write each application itself
        self.session.flush()
        for part in held:
            part.release()


#: the parts made on first use (the cached properties above)
_PARTS = tuple(name for name, value in vars(UnitOfWork).items() if isinstance(value, cached_property))
