"""What a plugin is given at start-up: the host's collaborators, never the runtime itself.

A process may run several runtimes (two counties, a test and its fixture), each with its own
plugin manager. A plugin therefore keeps no configuration in module globals: its
``govcred_configure(host)`` builds a configured object from ``host`` and registers it with
``host.register(obj, name)``; the hooks that need configuration live on that object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from govcred.core.clock import Clock
    from govcred.core.config import Settings
    from govcred.core.crypto import Secrets
    from govcred.core.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PluginHost:
    """The host context handed to ``govcred_configure``.

    ``engine`` and ``unit_of_work`` are ``None`` where the host has no database (a dry run
    such as ``govcred eligibility check``); ``secrets`` likewise.
    """

    settings: Settings
    clock: Clock
    register: Callable[[Any, str], Any]
    engine: Engine | None = None
    secrets: Secrets | None = None
    unit_of_work: Callable[..., UnitOfWork] | None = None

    def plugin_settings(self, name: str) -> Mapping[str, Any]:
        """The ``[plugins.<name>]`` table of the settings (empty when absent)."""
        return self.settings.plugin(name)

    @property
    def environ(self) -> Mapping[str, str]:
        """The host's ``GOVCRED_*`` environment variables no core setting reads: a plugin's own
        overrides of its table (``GOVCRED_<PLUGIN>_<KEY>`` and the like), read by the plugin itself."""
        return self.settings.environ
