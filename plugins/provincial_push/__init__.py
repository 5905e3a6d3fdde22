"""Push of e-licence records (GB/T 36903 metadata, GB/T 36904 identifier) to the provincial
big-data platform: a JSON-lines drop directory by default, a signed HTTPS API at scale.

Settings live in ``[plugins.provincial_push]`` (``backend``, ``url``, ``secret``, the
authority and licence codes, timeouts; :mod:`.config`). The host's ``GOVCRED_PUSH_BACKEND``,
``GOVCRED_PUSH_URL`` and ``GOVCRED_PUSH_SECRET`` override the table; the plugin reads them
itself from ``host.environ``. ``govcred_configure`` registers a configured
:class:`.channel.ProvincialPush`, which holds the lifecycle hooks and the channel; nothing is
kept in module globals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from govcred.core import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import PluginHost, Settings


@hookimpl
def govcred_configure(settings: Settings, host: PluginHost) -> None:
    from govcred.plugins.provincial_push.channel import INSTANCE_NAME, ProvincialPush

    host.register(ProvincialPush.from_host(host), INSTANCE_NAME)  # raises ConfigError listing every problem


@hookimpl
def govcred_cli_commands(cli) -> None:
    from govcred.plugins.provincial_push.cli import reconcile

    cli.add_command(reconcile)


@hookimpl
def govcred_config_placeholders(settings: Settings) -> dict[str, str]:
    # module level, not on the configured object: production refuses to configure with a
    # placeholder, and ``config show`` must still be able to say which one
    from govcred.plugins.provincial_push.config import placeholders_in_effect

    return placeholders_in_effect(settings)
