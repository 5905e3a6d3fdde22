"""Every hook govcred calls, with its contract.

One name, ``govcred``, is the pluggy project name, the marker name and the entry-point
group. Plugins implement hooks with ``from govcred.core import hookimpl``. Hooks evolve by adding
arguments (a hookimpl may accept fewer arguments than its spec); a hook's result
semantics never change.

Hooks that run inside a write transaction (the lifecycle events) receive the ``outbox``
of that transaction: they may only add rows to it. Network I/O there is forbidden --
delivery happens later, in the worker, through the channel a plugin registers with
:func:`govcred_delivery_channels`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click
    import datetime as dt

    from govcred.core.config import Settings
    from govcred.core.models import (
        Application,
        Credential,
        Decision,
        EligibilityContext,
        Finding,
        MigrationSource,
        PersonRecords,
    )
    from govcred.core.outbox import Outbox
    from govcred.core.plugin_host import PluginHost
    from govcred.core.calendar.working import WorkingCalendar

PROJECT = "govcred"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---- configuration and registration ---------------------------------------------------


@hookspec(historic=True)
def govcred_configure(settings: "Settings", host: "PluginHost") -> None:
    """Receive the host context once, before any other hook is called.

    Historic: a plugin registered later still receives the call. A plugin reads its own
    table with ``host.plugin_settings("<name>")``, builds a configured object and registers
    it with ``host.register(obj, name)`` -- never module globals, since one process may run
    several runtimes. Invalid values raise :class:`govcred.core.exceptions.ConfigError`
    naming every one of them.

    :param settings: the effective :class:`govcred.core.config.Settings` (also ``host.settings``).
    :param host: the :class:`govcred.core.plugin_host.PluginHost`: settings, clock, secrets,
        engine and unit-of-work factory of the runtime (``None`` without a database), and
        ``register``.
    """


@hookspec
def govcred_credential_types(register: Callable[..., None]) -> None:
    """Register the credential types a plugin issues.

    Call ``register(name, *, application_schema, display_name, benefits)`` once per type.
    ``application_schema`` is the ``schema`` value of application documents for this type
    (e.g. ``zj-residence/application@1``); ``benefits`` is a mapping of benefit code to
    its Chinese label. Core rejects a duplicate name or schema.

    :param register: the registration callback.
    """


@hookspec(firstresult=True)
def govcred_validate_application(document: Mapping[str, Any]) -> "list | None":
    """Validate an application document whose ``schema`` this plugin owns.

    Stops at first non-None result. Return ``None`` for documents of another schema, else
    the list of :class:`core.exceptions.FieldError` found -- *every* problem at once; an
    empty list means the document is valid.

    :param document: the parsed JSON document.
    """


@hookspec(firstresult=True)
def govcred_application_subject(document: Mapping[str, Any]) -> "Mapping[str, str] | None":
    """Name the person an application is about, for indexing and masking.

    Stops at first non-None result. Return ``None`` for documents of another schema, else
    ``{"name", "id_number", "phone", "county"}`` taken from the (valid) document. Core
    stores the ID number and phone encrypted, with a keyed blind index for look-ups.

    :param document: a document that passed :func:`govcred_validate_application`.
    """


# ---- eligibility ---------------------------------------------------------------------


@hookspec
def govcred_eligibility_rules(application: "Application", context: "EligibilityContext") -> "Iterable[Finding] | None":
    """Evaluate eligibility rules for an application.

    Every implementation is called, always (一次性告知: a rejection lists every blocking
    reason at once); core concatenates the findings in call order. Return the findings of
    rules that *fail* (an empty list or ``None`` when everything passes). A finding with
    severity ``blocking`` makes the applicant ineligible.

    :param application: the application, with its ``document``.
    :param context: ``as_of`` (the decision date T), ``records`` (the person's records from
        :func:`govcred_person_records`, or the document's own when dry-running), ``settings``
        and ``existing`` (whether the person already holds a permit or has an application
        in progress).
    """


@hookspec(firstresult=True)
def govcred_person_records(id_number: str, as_of: "dt.date", settings: "Settings") -> "PersonRecords | None":
    """Look up a person's residence registrations and existing permits.

    Stops at first non-None result. In production a plugin asks the provincial population
    system; the built-in source is the local table filled by ``govcred records import``.
    Network plugins should use ``tryfirst=False, trylast=False`` and raise on outage rather
    than return ``None`` (which means "this source does not know the person").

    :param id_number: the 18-character resident ID number.
    :param as_of: the date the records must describe.
    :param settings: the effective settings of the calling runtime (database, data dir,
        the plugin's own table): a process may run several runtimes.
    """


@hookspec(firstresult=True)
def govcred_records_from_document(document: Mapping[str, Any]) -> "PersonRecords | None":
    """Read the person's records from the application document itself (dry runs).

    Stops at first non-None result. ``govcred eligibility check`` evaluates a document
    without the live records source: the plugin that owns the document's schema turns
    its declared registrations and existing permit into :class:`core.models.PersonRecords`.

    :param document: a valid application document.
    """


@hookspec
def govcred_credential_claims(application: "Application", decision: "Decision", context: "EligibilityContext") -> "Mapping[str, Any] | None":
    """Contribute claims to the credential issued on approval.

    Every implementation is called; core merges the mappings and raises on a key two
    plugins both set. Reserved claims (``iss``, ``iat``, ``nbf``, ``exp``, ``jti``,
    ``status``) are core's alone. The special key ``exp`` may be returned *only* as
    ``"_exp"`` (an aware datetime): the plugin's idea of when the permit's use lapses.

    :param application: the approved application.
    :param decision: the decision being recorded.
    :param context: as for :func:`govcred_eligibility_rules`.
    """


@hookspec
def govcred_benefit_codes(register: Callable[[str, str], None]) -> None:
    """Register benefit codes (``register(code, label_zh)``) a credential can cover."""


@hookspec(firstresult=True)
def govcred_benefit_check(claims: Mapping[str, Any], benefit: str) -> "bool | None":
    """Say whether a verified credential's holder qualifies for ``benefit``.

    Stops at first non-None result; ``None`` means "not my benefit". A plugin can only
    narrow what core verified: a ``True`` never makes an invalid credential valid.

    :param claims: the verified claims.
    :param benefit: a benefit code such as ``compulsory_education``.
    """


# ---- the working-day clock ------------------------------------------------------------


@hookspec(firstresult=True)
def govcred_working_calendar(settings: "Settings") -> "WorkingCalendar | None":
    """Return the working-day calendar used for decision deadlines.

    Stops at first non-None result. Core provides the State Council table as a
    ``trylast`` default.

    :param settings: the effective settings.
    """


# ---- delivery ------------------------------------------------------------------------


@hookspec
def govcred_delivery_channels(register: Callable[[str, Callable[..., Any]], None], settings: "Settings") -> None:
    """Register outbox channels: ``register("sms", handler)``.

    The worker calls ``handler(message)`` with a :class:`core.outbox.OutboxMessage` after
    the transaction that wrote it has committed. ``message.id`` is the idempotency key to
    send downstream. The handler returns a mapping recorded with the delivery (provider
    message id, segment count ...) or raises
    :class:`core.exceptions.RetryableDeliveryError` /
    :class:`core.exceptions.PermanentDeliveryError`.

    :param register: the registration callback; a duplicate channel name is an error.
    :param settings: the effective settings (backend choice, URLs, secrets).
    """


# ---- lifecycle events (inside the write transaction) ----------------------------------


@hookspec
def govcred_application_accepted(application: "Application", outbox: "Outbox") -> None:
    """An application was accepted and its deadline set.

    :param application: the accepted application (``deadline`` set).
    :param outbox: the transaction's outbox; only ``outbox.add`` is allowed here.
    """


@hookspec
def govcred_application_decided(application: "Application", decision: "Decision", outbox: "Outbox") -> None:
    """An application was approved or rejected.

    :param application: the decided application.
    :param decision: the decision with its findings and officer reasons.
    :param outbox: the transaction's outbox.
    """


@hookspec
def govcred_credential_issued(credential: "Credential", application: "Application", outbox: "Outbox") -> None:
    """A credential was issued (first issue, endorsement or replacement).

    :param credential: the new credential (its token and status-list slot are set).
    :param application: the application it was issued for.
    :param outbox: the transaction's outbox.
    """


@hookspec
def govcred_credential_status_changed(credential: "Credential", application: "Application", old_status: str, new_status: str, reason: str, outbox: "Outbox") -> None:
    """A credential was suspended, revoked, reinstated, replaced or cancelled.

    :param credential: the credential after the change.
    :param application: the application the credential was issued for (holder contact).
    :param old_status: its status before (``valid``, ``suspended`` ...).
    :param new_status: its status now.
    :param reason: the officer's or the system's reason, in Chinese.
    :param outbox: the transaction's outbox.
    """


@hookspec
def govcred_demo_journey(now: "dt.datetime") -> "Mapping[str, Any] | None":
    """Offer a sample application for ``govcred demo``, with a fresh person in it.

    Every implementation is called; the demo runs the first journey whose ``schema`` a
    loaded plugin registered. Return ``{"schema", "document", "phone", "records_csv"}``:
    the application document (core replaces ``{{attachment}}`` with the id of the proof it
    uploads), the applicant's phone (their resident account), and the lines of a file for
    ``govcred records import`` (empty when the records need none).

    :param now: the demo's clock, for dates in the sample.
    """


# ---- extension points of the host ----------------------------------------------------


@hookspec
def govcred_cli_commands(cli: "click.Group") -> None:
    """Add commands to the ``govcred`` command line (``cli.add_command(...)``).

    :param cli: the root click group.
    """


@hookspec
def govcred_blueprints(register: Callable[..., None]) -> None:
    """Add Flask blueprints to the issuer app: ``register(blueprint, url_prefix=...)``."""


@hookspec
def govcred_migrations() -> "MigrationSource | None":
    """Declare a plugin's own tables and Alembic migrations.

    Return a :class:`core.models.MigrationSource` (branch label, directory of revision
    files, SQLAlchemy ``MetaData``) or ``None``. Each plugin's revisions form their own
    Alembic branch that ``depends_on`` core's base revision; ``govcred db upgrade``
    applies every head.
    """


# ---- the permit after issue ------------------------------------------------------------


@hookspec(firstresult=True)
def govcred_endorsement_window(credential: "Credential") -> "tuple[dt.date, dt.date] | None":
    """The endorsement (签注) window of a credential's current cycle, as local dates.

    Stops at first non-None result. Return ``None`` for credentials of another type (or
    types that are never endorsed), else ``(first_day, last_day)``, both inclusive. Core
    refuses an endorsement requested before ``first_day`` and names both dates; after the
    credential lapses (``expires_at``) an endorsement is late: core reinstates the permit
    and restarts its continuous-residence start date on the endorsement day. Whether the
    holder still qualifies is decided by :func:`govcred_eligibility_rules`, called with an
    application of kind ``endorsement``; the claims of the re-issued credential come from
    :func:`govcred_credential_claims` with ``context.extra`` holding ``previous_credential``
    (the version being endorsed or replaced), ``late`` and ``residence_start`` (a date or
    ``None``), and their ``_exp`` must be the next lapse of the permit's use.

    :param credential: the permit's current version (``expires_at`` = when its use lapses).
    """
