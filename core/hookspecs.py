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

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    import click

    from govcred.core.accounts.identity import ResidentIdentityProvider
    from govcred.core.calendar.working import WorkingCalendar
    from govcred.core.config import Settings
    from govcred.core.credential_types import CredentialType
    from govcred.core.models import (
        Application,
        Credential,
        Decision,
        EligibilityContext,
        Finding,
        MigrationSource,
        PersonRecords,
    )
    from govcred.core.notifications import Notification
    from govcred.core.outbox import Outbox
    from govcred.core.plugin_host import PluginHost
    from govcred.core.retention import RetentionRule
    from govcred.core.unit_of_work import UnitOfWork

PROJECT = "govcred"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---- configuration and registration ---------------------------------------------------


@hookspec(historic=True)
def govcred_configure(settings: Settings, host: PluginHost) -> None:
    """Receive the host context once, before any other hook is called.

    Historic: a plugin registered later still receives the call. A plugin reads its own
    table with ``host.plugin_settings("<name>")``, builds a configured object and registers
    it with ``host.register(obj, name)`` -- never module globals, since one process may run
    several runtimes. Name it ``"<plugin>.<anything>"`` (``zhejiang_residence.configured``)
    and ``govcred plugins`` lists its hooks with the plugin's. Invalid values raise
    :class:`govcred.core.exceptions.ConfigError` naming every one of them.

    :param settings: the effective :class:`govcred.core.config.Settings` (also ``host.settings``).
    :param host: the :class:`govcred.core.plugin_host.PluginHost`: settings, clock, secrets,
        engine and unit-of-work factory of the runtime (``None`` without a database), and
        ``register``.
    """


@hookspec
def govcred_credential_types(register: Callable[[CredentialType], None]) -> None:
    """Register the credential types a plugin issues: ``register(credential_type)`` once per type.

    A credential type is one object (:class:`govcred.core.credential_types.CredentialType`):
    its application schema, validation, subject, rules, claims, benefit check and
    endorsement window. Core looks a document's type up by its ``schema`` and calls the
    object. A plugin whose types depend on its configuration implements this hook on the
    object it registers from :func:`govcred_configure`. Core rejects a duplicate name or
    schema.

    :param register: the registration callback; it takes one ``CredentialType``.
    """


# ---- eligibility ---------------------------------------------------------------------


@hookspec
def govcred_eligibility_rules(application: Application, context: EligibilityContext) -> Iterable[Finding] | None:
    """Add eligibility rules to those of the application's credential type.

    Core first runs the type's own rules
    (:meth:`~govcred.core.credential_types.CredentialType.eligibility_findings`), then calls
    every implementation of this hook, always (一次性告知: a rejection lists every blocking
    reason at once), and concatenates the findings in call order. Return the findings of
    rules that *fail* (an empty list or ``None`` when everything passes, or when the
    application's ``schema`` is not one the rule is about). A finding with severity
    ``blocking`` makes the applicant ineligible.

    :param application: the application, with its ``schema`` and ``document``.
    :param context: ``as_of`` (the decision date T), ``records`` (the person's records
        snapshot from :func:`govcred_person_records`, or the document's own when
        dry-running), ``settings`` and ``already_holds`` (whether the person already holds a
        permit or has an application in progress).
    """


@hookspec(firstresult=True)
def govcred_person_records(
    id_number: str, as_of: dt.date, settings: Settings, uow: UnitOfWork | None
) -> PersonRecords | None:
    """Look up a person's residence registrations and existing permits.

    Stops at first non-None result. In production a plugin asks the provincial population
    system; the built-in source is the local table filled by ``govcred records import``.
    Network plugins should use ``tryfirst=False, trylast=False`` and raise on outage rather
    than return ``None`` (which means "this source does not know the person"). The result
    is an opaque, JSON-serialisable snapshot that core hands to the credential type's rules.

    :param id_number: the 18-character resident ID number.
    :param as_of: the date the records must describe.
    :param settings: the effective settings of the calling runtime: a process may run
        several runtimes.
    :param uow: the caller's unit of work: a source that reads the issuer's database reads
        through ``uow.session``, inside the decision's own transaction. ``None`` when the
        caller has no database.
    """


@hookspec
def govcred_person_records_many(
    id_numbers: Sequence[str], as_of: dt.date, settings: Settings, uow: UnitOfWork | None
) -> Mapping[str, PersonRecords] | None:
    """:func:`govcred_person_records` for many people at once (a batch of decisions): the
    records of those of ``id_numbers`` this source knows, keyed by ID number.

    Optional, and only used when every plugin that implements :func:`govcred_person_records`
    implements this one too (otherwise core asks person by person, so a live source that
    answers one at a time still comes first). Core takes, for each person, the first
    implementation's answer in the same order as :func:`govcred_person_records`.

    :param id_numbers: the 18-character resident ID numbers of the batch.
    :param as_of: the date the records must describe.
    :param settings: the effective settings of the calling runtime.
    :param uow: the caller's unit of work (the batch's transaction), or ``None``.
    """


# ---- resident identity ----------------------------------------------------------------


@hookspec
def govcred_identity_providers(register: Callable[[ResidentIdentityProvider], None], settings: Settings) -> None:
    """Register the identity providers residents may sign in with: ``register(provider)``.

    A provider vouches for who a resident is (a real-name service): it builds the
    authorization request and verifies the callback; core keeps the ``state`` bound to the
    browser, uses each sign-in once, refuses an assurance below the provider's minimum,
    audits every attempt and binds the resident's applications to the verified name and ID
    number. Core registers its OpenID Connect relying party (``oidc``) when the
    ``[identity.oidc]`` table is configured. Called once per runtime; a provider may cache
    what it fetches (discovery documents, keys) on itself.

    :param register: the registration callback; it takes one object with ``name`` (a short
        identifier, also the identity source recorded with each application; not ``sms_code`` or
        ``window``), ``label`` (the Chinese text of its sign-in button),
        ``authorization(redirect_uri)`` returning a
        :class:`govcred.core.accounts.identity.AuthorizationStart` and
        ``verify(params, secrets, redirect_uri, now)`` returning a
        :class:`govcred.core.accounts.identity.VerifiedIdentity` or raising
        :class:`govcred.core.exceptions.IdentityRefused` with a code naming the failed check.
        A name registered twice is a config error.
    :param settings: the effective settings (a plugin's provider reads its own table).
    """


# ---- the working-day clock ------------------------------------------------------------


@hookspec(firstresult=True)
def govcred_working_calendar(settings: Settings) -> WorkingCalendar | None:
    """Return the working-day calendar used for decision deadlines.

    Stops at first non-None result. Core provides the State Council table as a
    ``trylast`` default.

    :param settings: the effective settings.
    """


@hookspec
def govcred_config_placeholders(settings: Settings) -> Mapping[str, str] | None:
    """Name the effective settings of a plugin that are development placeholders.

    ``govcred config show`` lists them, so an administrator sees before go-live which
    values must still be replaced by the real ones (an authority's credit code no public
    source gives, an unconfirmed type code). A plugin that must not run in production with
    a placeholder refuses in ``govcred_configure`` as well; this hook only reports.

    :param settings: the effective settings.
    :returns: ``{"plugins.<name>.<key>": "why it is a placeholder (Chinese)"}`` or ``None``.
    """


@hookspec
def govcred_production_refusals(settings: Settings) -> Iterable[str] | None:
    """Name what a plugin's effective settings leave unsafe for production.

    Called at a production start-up (``govcred serve``, the WSGI app, ``govcred worker``) only,
    with core's own refusals (demo officers, a development signing key in the JWKS, the residents'
    sign-in): every problem of every plugin is listed together, so an operator fixes them in
    one go (:mod:`govcred.core.production_checks`). Unlike :func:`govcred_config_placeholders`,
    what is returned here stops the start-up.

    :param settings: the effective settings (``settings.production`` is true).
    :returns: one sentence per problem, naming the setting and how to fix it, or ``None``.
    """


@hookspec
def govcred_report_verifications(settings: Settings, start: dt.datetime, end: dt.datetime) -> Mapping[str, int] | None:
    """Count the verifications a verification service recorded in ``[start, end)``.

    The bureau's report (``govcred report``, the operations page) shows verifications by
    institution; the issuer keeps no verification log of its own, so a verifier that shares
    the deployment answers from its log. All answers are summed.

    :param settings: the issuer's effective settings (its data directory).
    :param start: the period's first instant (UTC, inclusive).
    :param end: the period's end (UTC, exclusive).
    :returns: ``{institution name: count}`` or ``None`` when there is no log to read.
    """


# ---- delivery ------------------------------------------------------------------------


@hookspec
def govcred_delivery_channels(register: Callable[[str, Callable[..., Any]], None], settings: Settings) -> None:
    """Register outbox channels: ``register(name, handler)``.

    The worker calls ``handler(message)`` with a :class:`core.outbox.OutboxMessage` after
    the transaction that wrote it has committed. ``message.id`` is the idempotency key to
    send downstream. The handler returns a mapping recorded with the delivery (provider
    message id, segment count ...) or raises
    :class:`core.exceptions.RetryableDeliveryError` /
    :class:`core.exceptions.PermanentDeliveryError`.

    :param register: the registration callback; a duplicate channel name is an error.
    :param settings: the effective settings (backend choice, URLs, secrets).
    """


@hookspec
def govcred_retention_rules(register: Callable[[RetentionRule], None], settings: Settings) -> None:
    """Register how long what the plugin keeps outside core's tables is kept: ``register(rule)``.

    A :class:`core.retention.RetentionRule` with ``files(cutoff)`` yields the plugin's files
    past ``cutoff``; ``govcred purge`` and the daily job remove them (``--dry-run`` counts
    them) and audit the count. Its period comes from ``[retention] <name>`` or its default.

    :param register: the registration callback.
    :param settings: the effective settings (where the plugin keeps its files).
    """


# ---- lifecycle events (inside the write transaction) ----------------------------------


@hookspec
def govcred_application_accepted(application: Application, outbox: Outbox) -> None:
    """An application was accepted and its deadline set.

    :param application: the accepted application (``deadline`` set).
    :param outbox: the transaction's outbox; only ``outbox.add`` is allowed here.
    """


@hookspec
def govcred_application_decided(application: Application, decision: Decision, outbox: Outbox) -> None:
    """An application was approved or rejected.

    :param application: the decided application.
    :param decision: the decision with its findings and officer reasons.
    :param outbox: the transaction's outbox.
    """


@hookspec
def govcred_credential_issued(
    credential: Credential, application: Application, subject: Mapping[str, str], outbox: Outbox
) -> None:
    """A credential was issued (first issue, endorsement or replacement).

    :param credential: the new credential (its token and status-list slot are set).
    :param application: the application it was issued for.
    :param subject: the holder as the credential type names them (``name``, ``id_number``,
        ``phone``, ``county``: :meth:`CredentialType.subject`), so a plugin reads no document;
        empty when the document names no subject.
    :param outbox: the transaction's outbox.
    """


@hookspec
def govcred_credential_status_changed(
    credential: Credential,
    application: Application,
    subject: Mapping[str, str],
    old_status: str,
    new_status: str,
    reason: str,
    outbox: Outbox,
) -> None:
    """A credential was suspended, revoked, reinstated, replaced or cancelled.

    :param credential: the credential after the change.
    :param application: the application the credential was issued for (holder contact).
    :param subject: the holder as the credential type names them (as for
        :func:`govcred_credential_issued`).
    :param old_status: its status before (``valid``, ``suspended`` ...).
    :param new_status: its status now.
    :param reason: the officer's or the system's reason, in Chinese.
    :param outbox: the transaction's outbox.
    """


@hookspec
def govcred_notify(notification: Notification, outbox: Outbox) -> str | None:
    """Tell the holder what happened, on the plugin's own channel.

    Not firstresult: every implementation is called, once per event, inside the event's
    write transaction (acceptance, decision, issuance, every status change -- the sweep's
    suspensions included --, the reminders the holder chose, a sign-in code). The plugin
    maps ``notification.kind`` to its own messages and adds its own rows to ``outbox``;
    core names no channel and no template. It must not raise for a missing or unusable
    contact: a notification never rolls back a decision. The same event may be emitted
    again (a sweep run twice emits its reminders twice): the plugin queues each at most
    once (``outbox.add(dedupe_key=...)``).

    :param notification: a :class:`govcred.core.notifications.Notification`; its module
        lists the kinds and the fields each sets (the recipient's phone in clear, the
        application reference, permit number, dates, reasons ...).
    :param outbox: the transaction's outbox; only ``outbox.add`` is allowed here.
    :return: the id of the outbox row queued, or ``None`` (a kind the plugin does not
        deliver, a duplicate, no usable contact). Core counts a notification as queued
        when any implementation returned an id.
    """


@hookspec
def govcred_demo_journey(now: dt.datetime) -> Mapping[str, Any] | None:
    """Offer a sample application for ``govcred demo``, with a fresh person in it.

    Every implementation is called; the demo runs the first journey whose ``schema`` a
    loaded plugin registered. Return ``{"schema", "document", "phone", "records_csv"}``:
    the application document (core replaces ``{{attachment}}`` with the id of the proof it
    uploads), the applicant's phone (their resident account), and the lines of a file for
    ``govcred records import`` (empty when the records need none).

    :param now: the demo's clock, for dates in the sample.
    """


# ---- audit witnesses ---------------------------------------------------------------


@hookspec
def govcred_audit_witnesses(register: Callable[[Any], None], settings: Settings) -> None:
    """Register places outside the database that keep the audit log's signed checkpoints.

    Every implementation is called. A witness is an object with ``name`` (for messages),
    ``publish(origin, note)`` -- store one more signed checkpoint (a C2SP signed note of the
    tree size, root hash and time), raising when it could not -- and ``checkpoints(origin)``
    -- the notes it holds for that log, oldest first (a remote witness may answer its latest
    only). The checkpointer publishes to every witness after the tree's transaction commits;
    ``govcred audit verify`` reads them all, checks each note's signature and compares the
    entries with the newest. Core registers the built-in file witness and one HTTP witness
    per ``audit_witness_urls`` (:mod:`govcred.core.witnesses`); a plugin adds another (the
    provincial platform, say). Network I/O is allowed here: publishing happens outside any
    transaction.

    :param register: the registration callback; it takes one witness object.
    :param settings: the effective settings (witness directory, URLs, a plugin's own table).
    """


# ---- extension points of the host ----------------------------------------------------


@hookspec
def govcred_cli_commands(cli: click.Group) -> None:
    """Add commands to the ``govcred`` command line (``cli.add_command(...)``).

    :param cli: the root click group.
    """


@hookspec
def govcred_periodic_jobs(register: Callable[[str, float, Callable[[], Any]], None]) -> None:
    """Add jobs that every server process offers and exactly one runs per interval.

    ``register(name, interval_seconds, run)``: ``run()`` is called with no arguments (the
    plugin's configured object holds what it needs, ``host.unit_of_work`` included) behind
    the job's leader lease, however many ``govcred serve`` processes there are; a failure is
    logged and tried again at the next poll.

    :param register: the registration callback; names are ``"<plugin>-<job>"``.
    """


@hookspec
def govcred_blueprints(register: Callable[..., None]) -> None:
    """Add Flask blueprints to the issuer app: ``register(blueprint, url_prefix=...)``."""


@hookspec
def govcred_migrations() -> MigrationSource | None:
    """Declare a plugin's own tables and Alembic migrations.

    Return a :class:`core.models.MigrationSource` (branch label, directory of revision
    files, SQLAlchemy ``MetaData``) or ``None``. Each plugin's revisions form their own
    Alembic branch that ``depends_on`` core's base revision; ``govcred db upgrade``
    applies every head.
    """
