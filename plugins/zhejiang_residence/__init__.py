"""浙江省居住证 (Zhejiang residence permit): eligibility rules, claims and benefits.

The county is configuration (``[plugins.zhejiang_residence]``, Qingtian by default):
``govcred_configure`` builds a configured object (configured.py) with the county, the
credential type and the records store, and registers it; the module keeps no state. Only
thin hook implementations live here; the logic is in the modules next to this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from govcred.core import MigrationSource, hookimpl
from govcred.plugins.zhejiang_residence.configured import NAME, ZhejiangResidence
from govcred.plugins.zhejiang_residence.document import SCHEMA
from govcred.plugins.zhejiang_residence.permit_type import CREDENTIAL_TYPE

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import PluginHost, Settings

__all__ = ["CREDENTIAL_TYPE", "SCHEMA"]


@hookimpl
def govcred_configure(settings: Settings, host: PluginHost) -> None:
    host.register(ZhejiangResidence(host), NAME)


@hookimpl
def govcred_migrations() -> MigrationSource:
    from govcred.plugins.zhejiang_residence.records_store import metadata

    return MigrationSource("zhejiang_residence", Path(__file__).with_name("migrations"), metadata)


@hookimpl
def govcred_cli_commands(cli: Any) -> None:
    from govcred.plugins.zhejiang_residence.records_import import records

    cli.add_command(records)


@hookimpl
def govcred_demo_journey(now):
    from govcred.plugins.zhejiang_residence.demo import demo_journey

    return demo_journey(now)
