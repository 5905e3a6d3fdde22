"""What the use cases work with: a unit-of-work factory, the plugin manager whose hooks they
call, the settings, the clock, the signing keys, the blind index of personal identifiers,
the field cipher (uploads at rest) and the notifier that tells holders what happened.

The runtime (the composition root) builds one; web views and CLI commands hand it to the use
case they call, as cosmicpython's handlers receive their unit of work. A use case gets nothing
else: no engine, no delivery channels, no runtime.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from govcred.core.allocation import NumberAllocator
from govcred.core.clock import Clock
from govcred.core.config import Settings
from govcred.core.credential_types import CredentialTypes, collect_credential_types
from govcred.core.crypto import FieldCipher
from govcred.core.keystore import KeyStore
from govcred.core.notifications import Notifier
from govcred.core.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Collaborators:
    #: ``uow()`` opens a write transaction, ``uow(readonly=True)`` a read-only one
    uow: Callable[..., UnitOfWork]
    pm: pluggy.PluginManager
    settings: Settings
    clock: Clock
    keys: KeyStore
    #: ``blind_index(value, purpose)``: the keyed index a personal identifier is looked up by
    blind_index: Callable[[str, str], str]
    #: encrypts what is kept outside the database (uploaded proofs)
    cipher: FieldCipher

    # Asked of the plugins on first use, not when the runtime is built: a command that never
    # computes a deadline never loads the working calendar.
    @functools.cached_property
    def credential_types(self) -> CredentialTypes:
        return collect_credential_types(self.pm)

    @functools.cached_property
    def calendar(self) -> Any:
        return self.pm.hook.govcred_working_calendar(settings=self.settings)

    @functools.cached_property
    def identity_providers(self) -> dict[str, Any]:
        """The resident identity providers by name (they cache their discovery documents)."""
        from govcred.core.accounts.identity import collect_identity_providers

        return collect_identity_providers(self.pm, self.settings)

    @functools.cached_property
    def allocator(self) -> NumberAllocator:
        """Status-list indices and permit numbers, a reserved block at a time (one per runtime)."""
        return NumberAllocator(self.uow)

    @functools.cached_property
    def notifier(self) -> Notifier:
        return Notifier(self.pm, self.credential_types)
