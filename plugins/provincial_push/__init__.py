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


@hookimpl
def govcred_retention_rules(register, settings: Settings) -> None:
    # the drop files carry the holder's name and ID number (GB/T 36903): kept until the
    # platform has surely collected them, not for ever
    from pathlib import Path

    from govcred.core import RetentionRule
    from govcred.plugins.provincial_push.jsonl import drop_files_before

    directory = Path(settings.data_dir) / "push"
    register(
        RetentionRule(
            "push_files",
            "已推送省平台的每日 JSONL 文件（含持证人身份信息）",
            "90d",
            files=lambda cutoff: drop_files_before(directory, cutoff),
        )
    )
