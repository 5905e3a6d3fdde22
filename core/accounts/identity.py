"""Resident identity providers: who a resident is, as a provider vouches for it.

A provider (the built-in OpenID Connect relying party, :mod:`.oidc`, or one a plugin
registers through :func:`govcred.core.hookspecs.govcred_identity_providers`) does the
protocol; :mod:`.resident_signin` does everything around it that no provider may skip: the
state bound to the browser, single use, the minimum assurance, the audit entries, the
resident account and the page session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pluggy

from govcred.core.exceptions import ConfigError

#: The identity sources an application can rest on (its audit entry names one).
#: (``sms_code``: core never spells the bare name of the SMS delivery channel, see
#: tests/test_core_boundary.py)
SOURCE_SMS, SOURCE_WINDOW = "sms_code", "window"


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the browser, and what the callback will need."""

    url: str
    #: the ``state`` sent with the request; the callback must bring it back
    state: str
    #: secrets of this one sign-in (the nonce, the PKCE verifier): kept server-side
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifiedIdentity:
    """A person as the provider verified them."""

    #: the provider's name, which is also the identity source of what they submit (``oidc``)
    provider: str
    #: who vouches (the ``iss``) and their stable id of the person (the ``sub``)
    issuer: str
    subject: str
    name: str
    id_number: str
    assurance: str
    #: whether ``assurance`` reaches the provider's configured minimum (named for the refusal)
    assurance_sufficient: bool
    minimum_assurance: str = ""


class ResidentIdentityProvider(Protocol):
    """What core asks of a resident identity provider."""

    #: a short stable name (``oidc``): the URL segment and the identity source recorded
    name: str
    #: what the sign-in button says (Chinese)
    label: str

    def authorization(self, redirect_uri: str) -> AuthorizationStart:
        """Start one sign-in: the URL of the provider's authorization endpoint."""
        ...

    def verify(
        self, params: Mapping[str, str], secrets: Mapping[str, str], redirect_uri: str, now: dt.datetime
    ) -> VerifiedIdentity:
        """Finish it from the callback's query ``params`` (state already checked); raise
        :class:`govcred.core.exceptions.IdentityRefused` naming the check that failed."""
        ...


def collect_identity_providers(pm: pluggy.PluginManager, settings) -> dict[str, ResidentIdentityProvider]:
    """Every registered provider by name; a name registered twice is a config error."""
    providers: dict[str, ResidentIdentityProvider] = {}

    def register(provider: ResidentIdentityProvider) -> None:
        name = getattr(provider, "name", "")
        if not isinstance(name, str) or not name.isidentifier() or name in (SOURCE_SMS, SOURCE_WINDOW):
            raise ConfigError(f"identity provider {provider!r} needs a name other than sms_code and window")
        if name in providers:
            raise ConfigError(f"identity provider {name!r} registered twice")
        providers[name] = provider

    pm.hook.govcred_identity_providers(register=register, settings=settings)
    return providers
