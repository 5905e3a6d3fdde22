"""The runtime: the composition root. It builds, once from the settings, the engine, the
plugin manager, the secrets and the collaborators the use cases receive; it holds no logic.

The web app, the CLI, the worker and the tests all build a :class:`Runtime`; they hand its
:attr:`~Runtime.collaborators` to the use cases. Nothing connects, registers or reads the
environment at import time.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from govcred.core.audit_checkpoints import Checkpointer
from govcred.core.clock import Clock
from govcred.core.config import Settings
from govcred.core.crypto import Secrets, load_secrets
from govcred.core.db import make_engine
from govcred.core.filemodes import private_dir, restrict_new_files
from govcred.core.idempotency import IdempotencyStore
from govcred.core.keystore import KeyStore
from govcred.core.logredact import install_log_redaction
from govcred.core.orm import start_mappers
from govcred.core.plugin_host import PluginHost
from govcred.core.plugins import (
    collect_audit_witnesses,
    collect_benefits,
    collect_delivery_channels,
    configure_plugins,
    get_plugin_manager,
    registrar,
)
from govcred.core.services.collaborators import Collaborators
from govcred.core.status import StatusListPublisher
from govcred.core.unit_of_work import UnitOfWork
from govcred.core.worker import Relay


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    pm: pluggy.PluginManager
    secrets: Secrets
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        install_log_redaction()
        restrict_new_files()  # data, database and secret files 0600, directories 0700
        private_dir(Path(self.settings.data_dir))
        start_mappers()
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.keystore = KeyStore(self.uow, self.settings, self.clock)
        #: one per runtime, so every request shares its cache of signed lists
        self.status_list_publisher = StatusListPublisher(self.uow, self.settings, self.clock, self.keystore)
        self.collaborators = Collaborators(
            uow=self.uow,
            pm=self.pm,
            settings=self.settings,
            clock=self.clock,
            keys=self.keystore,
            blind_index=self.secrets.index,
            cipher=self.secrets.cipher,
        )
        configure_plugins(
            self.pm,
            PluginHost(
                settings=self.settings,
                clock=self.clock,
                register=registrar(self.pm),
                engine=self.engine,
                secrets=self.secrets,
                unit_of_work=self.uow,
            ),
        )

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        pm: pluggy.PluginManager | None = None,
        clock: Clock | None = None,
        engine: Engine | None = None,
    ) -> Runtime:
        if pm is None:
            pm = get_plugin_manager(disabled=settings.disable_plugins or None)
        return cls(
            settings=settings,
            engine=engine or make_engine(settings.database),
            pm=pm,
            secrets=load_secrets(settings),
            clock=clock or Clock(),
        )

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.secrets, self.clock, readonly=readonly)

    @property
    def calendar(self) -> Any:
        return self.collaborators.calendar

    @property
    def notifier(self):
        return self.collaborators.notifier

    @functools.cached_property
    def channels(self) -> dict[str, Any]:
        return collect_delivery_channels(self.pm, self.settings)

    @functools.cached_property
    def relay(self) -> Relay:
        """What the outbox worker receives."""
        return Relay(
            engine=self.engine,
            channels=lambda: self.channels,
            cipher=self.secrets.cipher,
            clock=self.clock,
            settings=self.settings,
        )

    def job_place(self):
        from govcred.core.jobs import JobPlace

        return JobPlace(engine=self.engine, data_dir=self.settings.data_dir, clock=self.clock)

    def server_jobs(self, *, relay: bool = True):
        """The jobs thread of one server process: the daily sweep (with its reminders), the daily
        purge (retention) and,
        unless ``relay`` is False, the outbox relay; each behind its leader lease."""
        from govcred.core.db import optimize
        from govcred.core.jobs import ALERTS, DAY, OPTIMIZE, PURGE, SWEEP, PeriodicJob, ServerJobs
        from govcred.core.retention import purge
        from govcred.core.services.alerts import send_alerts
        from govcred.core.services.sweep import run_sweep

        periodic = [
            PeriodicJob(SWEEP, DAY, lambda: run_sweep(self.collaborators)),
            PeriodicJob(PURGE, DAY, lambda: purge(self.collaborators)),  # the retention periods
            # hourly: the digest goes out at the first run after 08:00 of a working day
            PeriodicJob(ALERTS, 3600.0, lambda: send_alerts(self.collaborators)),
            PeriodicJob(OPTIMIZE, DAY, lambda: optimize(self.engine)),  # query-planner statistics
        ]

        def register(name: str, interval_seconds: float, run) -> None:
            periodic.append(PeriodicJob(name, float(interval_seconds), run))

        self.pm.hook.govcred_periodic_jobs(register=register)
        return ServerJobs(
            self.job_place(),
            periodic,
            self.relay if relay else None,
            poll_seconds=self.settings.job_poll_seconds,
        )

    @functools.cached_property
    def idempotency(self) -> IdempotencyStore:
        """Idempotency-Key leases and stored answers (the API's POST routes)."""
        return IdempotencyStore(
            self.uow,
            self.secrets.cipher,
            self.clock,
            lease=dt.timedelta(seconds=self.settings.idempotency_lease_seconds),
        )

    @functools.cached_property
    def audit_witnesses(self) -> list[Any]:
        return collect_audit_witnesses(self.pm, self.settings)

    @functools.cached_property
    def checkpointer(self) -> Checkpointer:
        """Integrates pending audit entries and publishes signed checkpoints to the witnesses."""
        return Checkpointer(self.uow, self.settings, self.clock, lambda: self.audit_witnesses, self.secrets.audit_key)

    @functools.cached_property
    def benefits(self) -> dict[str, str]:
        return collect_benefits(self.pm)

    @property
    def credential_types(self):
        return self.collaborators.credential_types

    def close(self) -> None:
        self.engine.dispose()
