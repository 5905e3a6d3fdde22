"""Repositories: how aggregates are found and stored, and every query the use cases run, one
module an aggregate. Applicant-facing queries are scoped in the query itself
(``owner_id = :current``), never by checking after loading."""

from __future__ import annotations

from govcred.core.repository.accounts import OfficerRepository, ResidentRepository
from govcred.core.repository.application_returns import ApplicationReturnRepository
from govcred.core.repository.applications import ApplicationRepository
from govcred.core.repository.attachments import AttachmentRepository
from govcred.core.repository.blocks import ReservedBlockRepository
from govcred.core.repository.credentials import CredentialRepository
from govcred.core.repository.decision_bases import DecisionBasis, DecisionBasisRepository
from govcred.core.repository.decisions import DecisionRepository
from govcred.core.repository.form_drafts import FormDraftRepository
from govcred.core.repository.officer_contacts import OfficerContactRepository
from govcred.core.repository.ratings import RatingRepository
from govcred.core.repository.reminder_choices import ReminderChoiceRepository
from govcred.core.repository.reports import ReportQueries
from govcred.core.repository.signing_keys import SigningKeyRepository
from govcred.core.repository.status_lists import StatusListRepository
from govcred.core.repository.sweep_runs import SweepRunRepository

__all__ = [
    "ApplicationRepository",
    "ApplicationReturnRepository",
    "AttachmentRepository",
    "CredentialRepository",
    "DecisionBasis",
    "DecisionBasisRepository",
    "DecisionRepository",
    "FormDraftRepository",
    "OfficerContactRepository",
    "OfficerRepository",
    "RatingRepository",
    "ReminderChoiceRepository",
    "ReservedBlockRepository",
    "ReportQueries",
    "ResidentRepository",
    "SigningKeyRepository",
    "StatusListRepository",
    "SweepRunRepository",
]
