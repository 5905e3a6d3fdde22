"""What core tells the holder's notification plugins happened -- never how it is delivered.

Core names no channel and no message text. At every event a holder hears about, it builds one
:class:`Notification` and calls ``govcred_notify(notification, outbox)`` inside the event's
write transaction; a plugin (the SMS gateway, say) maps the kind to its own templates and adds
its own outbox rows. A kind no plugin delivers simply goes nowhere.

Every notification carries ``kind``, ``phone`` (the recipient's mobile number in clear, as the
application names it, ``""`` when it names none: the plugin keeps it encrypted), ``occurred_at``
and, for everything about an application, ``application_id``, ``application_ref`` and
``application_kind``. The other fields, by kind:

=============================================  ==================================================
kind                                           fields
=============================================  ==================================================
``accepted`` (受理; the deadline runs)          ``deadline``
``approved``                                   (``permit_no`` once the credential is issued)
``rejected``                                   ``findings`` (every blocking one), ``officer_reasons``
``returned`` (补正: more materials needed)      ``items`` (every item listed, Chinese text)
``resubmitted`` (accepted again after 补正;     ``deadline``
the deadline restarts)
``issued`` (first issue, endorsement or        ``credential_id``, ``permit_no``, ``version``
replacement: see ``application_kind``)
``reissued`` (signed again because the key     ``credential_id``, ``permit_no``, ``version``
that signed it was revoked: same permit,
nothing for the holder to do)
``suspended``, ``reinstated``, ``revoked``,    ``credential_id``, ``permit_no``, ``version``,
``replaced``, ``cancelled``, ``superseded``    ``old_status``, ``reason`` (Chinese, for the holder)
``reminder`` (the holder chose it)             ``reminder`` (:data:`govcred.core.services.reminders.REMINDERS`),
                                               ``credential_id``, ``permit_no``, ``version``,
                                               ``window`` (``None`` for ``after_suspension``),
                                               ``lapses_on`` (the Beijing date the permit's
                                               use lapses: what the reminder warns of),
                                               ``not_before``
``login_code``                                 ``code``, ``code_id`` (no application)
``progress_code`` (the public progress         ``code``, ``code_id``, ``application_ref`` (the
look-up, to the phone on file)                 application's other fields are not set)
``officer_digest`` (each working morning, to   ``officer_id``, ``due_today`` and ``overdue``
reviewers and administrators)                  (application references, earliest deadline first)
``deadline_passed`` (to administrators, once   ``officer_id``, ``deadline`` and the application
per application)                               fields
=============================================  ==================================================

The two officer kinds carry the officer's phone, not a holder's.

``occurred_at`` is when the event happened (the acceptance, the decision, the status change);
a plugin may hold a notice caused at night until the morning. ``not_before`` is core's own
earliest delivery time: reminders are never delivered outside
:data:`govcred.core.clock.DAYTIME_HOURS`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from govcred.core import models
from govcred.core.clock import BEIJING, next_daytime
from govcred.core.models import Finding
from govcred.core.reference import reference_of

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from govcred.core.credential_types import CredentialTypes
    from govcred.core.models import Application, Credential, Decision
    from govcred.core.outbox import Outbox


class Kind:
    """The notification kinds by name (``govcred.core.NotificationKind``); the values are
    what :attr:`Notification.kind` holds."""

    ACCEPTED, APPROVED, REJECTED, ISSUED = "accepted", "approved", "rejected", "issued"
    SUSPENDED, REINSTATED, REVOKED = "suspended", "reinstated", "revoked"
    REPLACED, CANCELLED, SUPERSEDED = "replaced", "cancelled", "superseded"
    REMINDER, LOGIN_CODE, PROGRESS_CODE = "reminder", "login_code", "progress_code"
    OFFICER_DIGEST, DEADLINE_PASSED = "officer_digest", "deadline_passed"
    RETURNED, RESUBMITTED = "returned", "resubmitted"
    REISSUED = "reissued"


#: The kinds of a credential's status change, by the status it moved to.
STATUS_KINDS = {
    models.VALID: Kind.REINSTATED,
    models.SUSPENDED: Kind.SUSPENDED,
    models.REVOKED: Kind.REVOKED,
    models.REPLACED: Kind.REPLACED,
    models.CANCELLED: Kind.CANCELLED,
    models.SUPERSEDED: Kind.SUPERSEDED,
}
KINDS = (
    Kind.ACCEPTED,
    Kind.APPROVED,
    Kind.REJECTED,
    Kind.RETURNED,
    Kind.RESUBMITTED,
    Kind.ISSUED,
    Kind.REISSUED,
    *STATUS_KINDS.values(),
    Kind.REMINDER,
    Kind.LOGIN_CODE,
    Kind.PROGRESS_CODE,
    Kind.OFFICER_DIGEST,
    Kind.DEADLINE_PASSED,
)


def application_ref(application_id: str) -> str:
    """The 办件编号 a holder is told (:func:`govcred.core.reference.reference_of`): the same
    one every page and the receipt print."""
    return reference_of(application_id)


@dataclass(frozen=True)
class Notification:
    """One thing a holder is to be told (see the module docstring for which fields each kind sets)."""

    kind: str
    phone: str
    occurred_at: dt.datetime | None
    application_id: str | None = None
    application_ref: str | None = None
    #: ``first_issue``, ``endorsement`` or ``replacement`` (:attr:`Application.kind`)
    application_kind: str | None = None
    deadline: dt.datetime | None = None
    findings: tuple[Finding, ...] = ()
    #: the reviewer's own reasons: free text that may name a person or an address
    officer_reasons: tuple[str, ...] = ()
    credential_id: str | None = None
    permit_no: str | None = None
    version: int | None = None
    old_status: str | None = None
    reason: str | None = None
    reminder: str | None = None
    window: tuple[dt.date, dt.date] | None = None
    #: the Beijing date the permit's use lapses (reminders): a re-signed version keeps it, an
    #: endorsement moves it, so a plugin counts a reminder as sent per (permit, this date)
    lapses_on: dt.date | None = None
    not_before: dt.datetime | None = None
    code: str | None = None
    code_id: str | None = None
    #: the officer told (the two officer kinds)
    officer_id: str | None = None
    due_today: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()
    #: 补正: what the applicant is asked to bring (Chinese, may name an address)
    items: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown notification kind {self.kind!r}")


class Notifier:
    """Builds the notification of each event from the domain objects and hands it to
    ``govcred_notify``; each method returns whether some plugin queued a message."""

    def __init__(self, pm: pluggy.PluginManager, credential_types: CredentialTypes):
        self._hook = pm.hook
        self._types = credential_types

    def emit(self, outbox: Outbox, notification: Notification) -> bool:
        return any(self._hook.govcred_notify(notification=notification, outbox=outbox))

    def _about(self, application: Application) -> dict:
        return {
            "phone": self._phone(application),
            "application_id": application.id,
            "application_ref": application_ref(application.id),
            "application_kind": application.kind,
        }

    def phone_of(self, application: Application) -> str:
        return self._phone(application)

    def _phone(self, application: Application) -> str:
        """The applicant's phone as the credential type reads it from the document; ``""`` when
        it cannot (a notification must never fail the event it reports)."""
        return str(self._types.subject_of(application).get("phone") or "")

    @staticmethod
    def _credential(credential: Credential) -> dict:
        return {"credential_id": credential.id, "permit_no": credential.permit_no, "version": credential.version}

    def accepted(self, outbox: Outbox, application: Application) -> bool:
        return self.emit(
            outbox,
            Notification(
                Kind.ACCEPTED,
                occurred_at=application.accepted_at,
                deadline=application.deadline,
                **self._about(application),
            ),
        )

    def decided(self, outbox: Outbox, application: Application, decision: Decision) -> bool:
        if decision.approved:
            return self.emit(
                outbox,
                Notification(
                    Kind.APPROVED,
                    occurred_at=decision.decided_at,
                    permit_no=application.permit_no,
                    **self._about(application),
                ),
            )
        return self.emit(
            outbox,
            Notification(
                Kind.REJECTED,
                occurred_at=decision.decided_at,
                findings=tuple(decision.blocking_findings),
                officer_reasons=tuple(decision.officer_reasons),
                **self._about(application),
            ),
        )

    def returned(self, outbox: Outbox, application: Application, items, at: dt.datetime) -> bool:
        return self.emit(
            outbox,
            Notification(
                Kind.RETURNED,
                occurred_at=at,
                items=tuple(str(i["text"]) for i in items),
                **self._about(application),
            ),
        )

    def resubmitted(self, outbox: Outbox, application: Application) -> bool:
        return self.emit(
            outbox,
            Notification(
                Kind.RESUBMITTED,
                occurred_at=application.accepted_at,
                deadline=application.deadline,
                **self._about(application),
            ),
        )

    def issued(self, outbox: Outbox, credential: Credential, application: Application) -> bool:
        return self._signed(Kind.ISSUED, outbox, credential, application)

    def reissued(self, outbox: Outbox, credential: Credential, application: Application) -> bool:
        """The permit was signed again (its key was revoked): the holder re-opens it, nothing more."""
        return self._signed(Kind.REISSUED, outbox, credential, application)

    def _signed(self, kind: str, outbox: Outbox, credential: Credential, application: Application) -> bool:
        return self.emit(
            outbox,
            Notification(
                kind, occurred_at=credential.issued_at, **self._credential(credential), **self._about(application)
            ),
        )

    def status_changed(
        self,
        outbox: Outbox,
        credential: Credential,
        application: Application,
        old_status: str,
        new_status: str,
        reason: str,
    ) -> bool:
        return self.emit(
            outbox,
            Notification(
                STATUS_KINDS[new_status],
                occurred_at=credential.status_changed_at,
                old_status=old_status,
                reason=reason,
                **self._credential(credential),
                **self._about(application),
            ),
        )

    def reminder(
        self,
        outbox: Outbox,
        credential: Credential,
        application: Application,
        reminder: str,
        *,
        window: tuple[dt.date, dt.date] | None,
        now: dt.datetime,
    ) -> bool:
        return self.emit(
            outbox,
            Notification(
                Kind.REMINDER,
                occurred_at=now,
                reminder=reminder,
                window=window,
                lapses_on=credential.expires_at.astimezone(BEIJING).date(),
                not_before=next_daytime(now),
                **self._credential(credential),
                **self._about(application),
            ),
        )

    def login_code(self, outbox: Outbox, phone: str, code: str, *, code_id: str, now: dt.datetime) -> bool:
        return self.emit(
            outbox, Notification(Kind.LOGIN_CODE, phone=phone, occurred_at=now, code=code, code_id=code_id)
        )

    def progress_code(
        self, outbox: Outbox, phone: str, code: str, *, code_id: str, application_id: str, now: dt.datetime
    ) -> bool:
        """The code of a public progress look-up, to the phone the application names."""
        return self.emit(
            outbox,
            Notification(
                Kind.PROGRESS_CODE,
                phone=phone,
                occurred_at=now,
                application_ref=application_ref(application_id),
                code=code,
                code_id=code_id,
            ),
        )
