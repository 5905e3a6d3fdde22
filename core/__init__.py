"""govcred core: generic machinery for issuing and verifying government e-credentials.

This module is the public plugin API: a plugin imports from core only the names in
``__all__``, always as ``from govcred.core import <name>`` (tests/test_plugin_api.py checks
every built-in plugin). Everything else in ``govcred.core.*`` may change without notice.

===========================  =============================================================
registration                 ``hookimpl``, ``PROJECT``, ``PluginHost`` (what
                             ``govcred_configure`` receives), ``Settings``
credential types             ``CredentialType`` (subclass it, register it with
                             ``govcred_credential_types``), ``IdentityPaths`` (where its
                             documents name the applicant and the agent)
models and findings          ``Application``, ``Decision``, ``Credential``, ``Finding``,
                             ``BLOCKING``, ``ADVISORY``, ``EligibilityContext``,
                             ``PersonRecords``, ``MigrationSource``, ``new_id``
claim names                  ``NAME_MASKED``, ``ID_MASKED``, ``COUNTY``
errors                       ``GovcredError`` (the root), ``ConfigError``, ``ValidationError``
                             (with ``FieldError`` items; ``ErrorList`` collects them),
                             ``NotFound``, ``Conflict``, ``PermissionDenied``,
                             ``DeliveryError``: ``RetryableDeliveryError`` (a retry may help)
                             or ``PermanentDeliveryError`` (it will not)
outbox and delivery          ``Outbox`` (lifecycle hooks may only ``add``), ``OutboxMessage``
                             (what a channel handler receives), ``http_send`` and
                             ``safe_excerpt`` (one outbound HTTP request with the error
                             mapping every gateway shares)
notifications                ``Notification`` (what ``govcred_notify`` receives) and
                             ``NotificationKind`` (its kinds, by name)
the clock                    ``Clock``, ``FixedClock``, ``BEIJING``, ``UTC``, ``as_utc``,
                             ``next_daytime``
masking                      ``mask_name``, ``mask_identifier``
printed forms                ``A4Page`` (an A4 PDF with the CJK font embedded: rows, sign boxes)
retention                    ``RetentionRule`` (what ``govcred_retention_rules`` registers)
a plugin's own tables        ``TZDateTime`` (aware UTC datetimes on SQLite and PostgreSQL),
                             ``READONLY`` (execution option of a connection that only reads),
                             ``UnitOfWork``, ``Secrets``, ``BlindIndex`` (types of the host's
                             collaborators)
===========================  =============================================================

Core never imports ``govcred.plugins.*``; built-in plugins are found through the ``govcred``
entry-point group exactly like third-party ones.

The names are resolved lazily (PEP 562 ``__getattr__``). Every ``import govcred.core.<x>``
runs this file first: importing the models, the ORM column types or the HTTP helper here
eagerly would make the verifier and the CLI load SQLAlchemy and ``requests`` for nothing,
and a core module that imports this package while it initialises would find it half built
(an import cycle). Lazily, ``import govcred.core`` costs nothing and imports no submodule.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> (module under govcred.core, attribute in it)
_EXPORTS: dict[str, tuple[str, str]] = {
    # registration
    "PROJECT": ("hookspecs", "PROJECT"),
    "hookimpl": ("hookspecs", "hookimpl"),
    "PluginHost": ("plugin_host", "PluginHost"),
    "Settings": ("config", "Settings"),
    "CredentialType": ("credential_types", "CredentialType"),
    "IdentityPaths": ("credential_types", "IdentityPaths"),
    # models and findings
    "Application": ("models", "Application"),
    "Decision": ("models", "Decision"),
    "Credential": ("models", "Credential"),
    "Finding": ("models", "Finding"),
    "BLOCKING": ("models", "BLOCKING"),
    "ADVISORY": ("models", "ADVISORY"),
    "EligibilityContext": ("models", "EligibilityContext"),
    "PersonRecords": ("models", "PersonRecords"),
    "MigrationSource": ("models", "MigrationSource"),
    "new_id": ("models", "new_id"),
    # claim names every credential shares
    "NAME_MASKED": ("claims", "NAME_MASKED"),
    "ID_MASKED": ("claims", "ID_MASKED"),
    "COUNTY": ("claims", "COUNTY"),
    # the exception hierarchy
    "GovcredError": ("exceptions", "GovcredError"),
    "ConfigError": ("exceptions", "ConfigError"),
    "FieldError": ("exceptions", "FieldError"),
    "ValidationError": ("exceptions", "ValidationError"),
    "ErrorList": ("exceptions", "ErrorList"),
    "NotFound": ("exceptions", "NotFound"),
    "Conflict": ("exceptions", "Conflict"),
    "PermissionDenied": ("exceptions", "PermissionDenied"),
    "DeliveryError": ("exceptions", "DeliveryError"),
    "RetryableDeliveryError": ("exceptions", "RetryableDeliveryError"),
    "PermanentDeliveryError": ("exceptions", "PermanentDeliveryError"),
    # outbox and delivery
    "Outbox": ("outbox", "Outbox"),
    "OutboxMessage": ("outbox", "OutboxMessage"),
    "http_send": ("http_delivery", "send"),
    "safe_excerpt": ("http_delivery", "safe_excerpt"),
    # notifications to holders
    "Notification": ("notifications", "Notification"),
    "NotificationKind": ("notifications", "Kind"),
    # the clock
    "Clock": ("clock", "Clock"),
    "FixedClock": ("clock", "FixedClock"),
    "BEIJING": ("clock", "BEIJING"),
    "UTC": ("clock", "UTC"),
    "as_utc": ("clock", "as_utc"),
    "next_daytime": ("clock", "next_daytime"),
    # masking
    "mask_name": ("masking", "mask_name"),
    "mask_identifier": ("masking", "mask_identifier"),
    # printed forms (a credential type's paper form)
    "A4Page": ("pdf.page", "A4"),
    # retention of what a plugin keeps (govcred_retention_rules)
    "RetentionRule": ("retention", "RetentionRule"),
    # a plugin's own tables and the host's collaborators
    "TZDateTime": ("orm", "TZDateTime"),
    "READONLY": ("db", "READONLY"),
    "UnitOfWork": ("unit_of_work", "UnitOfWork"),
    "Secrets": ("crypto", "Secrets"),
    "BlindIndex": ("crypto", "BlindIndex"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        # not ours: let ``from govcred.core import <submodule>`` fall back to the import system
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
