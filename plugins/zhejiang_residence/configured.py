"""The plugin as one runtime configures it: its county, its credential type, its records.

``govcred_configure`` builds a :class:`ZhejiangResidence` from the host context and
registers it under :data:`NAME`; the hooks that depend on configuration live on it. Two
runtimes in one process (two counties) hold two of these, and nothing is shared but code.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from govcred.core import ConfigError, PersonRecords, PluginHost, hookimpl
from govcred.plugins.zhejiang_residence.county import PLUGIN_NAME, CountyConfig
from govcred.plugins.zhejiang_residence.permit_type import ResidencePermitType

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from govcred.core import CredentialType, Secrets, UnitOfWork
    from govcred.plugins.zhejiang_residence.records_store import RecordsStore

#: The name the configured object is registered under (next to the module's own name).
NAME = f"{PLUGIN_NAME}.configured"


class ZhejiangResidence:
    def __init__(self, host: PluginHost):
        self.county = CountyConfig.from_mapping(host.plugin_settings(PLUGIN_NAME))  # every bad value at once
        self.permit_type = ResidencePermitType(self.county)
        self._secrets: Secrets | None = host.secrets
        self._unit_of_work = host.unit_of_work

    @functools.cached_property
    def records(self) -> RecordsStore:
        # imported on first use: a verifier loads this plugin for its benefit checks and
        # must not pull in the database layer (tests/verifier/test_isolation.py)
        from govcred.plugins.zhejiang_residence.records_store import RecordsStore

        return RecordsStore(self._secrets)

    def __repr__(self) -> str:
        return f"<zhejiang_residence {self.county.county_code} {self.county.county_name}>"

    @hookimpl
    def govcred_credential_types(self, register: Callable[[CredentialType], None]) -> None:
        register(self.permit_type)

    # trylast: the local tables are the embedded default; a live records source wins
    @hookimpl(trylast=True)
    def govcred_person_records(self, id_number: str, uow: UnitOfWork | None) -> PersonRecords | None:
        if uow is None:  # a caller without a database: the local tables cannot know the person
            return None
        return self.records.lookup(uow.session, id_number)

    @hookimpl(trylast=True)
    def govcred_person_records_many(
        self, id_numbers: Sequence[str], uow: UnitOfWork | None
    ) -> Mapping[str, PersonRecords] | None:
        if uow is None:
            return None
        return self.records.lookup_many(uow.session, id_numbers)

    def import_people(self, people: Mapping[str, Mapping[str, list[dict[str, Any]]]], now: dt.datetime) -> int:
        """Replace the rows of every person in ``people`` in one transaction of the host's."""
        with self._new_unit_of_work() as uow:
            written = self.records.replace_people(uow.session, people, now)
            uow.commit()
        return written

    def count_rows(self) -> dict[str, int]:
        with self._new_unit_of_work(readonly=True) as uow:
            return self.records.count_rows(uow.session)

    def _new_unit_of_work(self, **kwargs: Any) -> UnitOfWork:
        if self._unit_of_work is None:
            raise ConfigError("zhejiang_residence: this host has no database")
        return self._unit_of_work(**kwargs)


def configured(pm: pluggy.PluginManager) -> ZhejiangResidence:
    """The object ``pm``'s runtime configured (``govcred records import`` uses its records)."""
    plugin = pm.get_plugin(NAME)
    if plugin is None:
        raise ConfigError("zhejiang_residence is not configured in this runtime")
    return plugin
