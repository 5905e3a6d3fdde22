"""Jobs that run once however many processes serve.

Every ``govcred serve`` process (each gunicorn worker) runs a :class:`ServerJobs` thread. It
offers two kinds of job, both behind a leader lease (:mod:`core.leases`):

- periodic jobs (the lifecycle sweep with its reminders; the purge): every ``poll`` seconds
  a process checks ``job_runs`` for whether the job is due, takes the job's lease if it is,
  checks again under the lease (another process may have just run it), runs it and records
  the run. So the job runs once per interval between all processes, and a dead leader's
  job is picked up by the next process that polls.
- the outbox relay thread: one process at a time holds the relay lease for as long as it
  lives and runs the worker loop; the others poll to take over. Standalone ``govcred worker``
  processes need no lease (they claim rows with SKIP LOCKED) and run beside it.

The command-line run of a periodic job (``govcred lifecycle sweep``) goes through
:func:`run_exclusively`, the same lease, and is refused while a server runs it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from govcred.core.clock import Clock
from govcred.core.exceptions import LeaseHeld
from govcred.core.leases import Lease, holder_name
from govcred.core.orm import job_runs
from govcred.core.outages import outage_kind
from govcred.core.worker import BackgroundWorker, Relay

log = logging.getLogger("govcred.jobs")

T = TypeVar("T")
DAY = 24 * 3600.0
RELAY = "outbox-relay"
SWEEP = "lifecycle-sweep"
PURGE = "retention-purge"
ALERTS = "officer-alerts"
OPTIMIZE = "database-optimize"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], Any]


@dataclass(frozen=True)
class JobPlace:
    """Where leases live and runs are recorded: the engine and the data directory."""

    engine: Engine
    data_dir: Path
    clock: Clock

    def lease(self, name: str) -> Lease:
        return Lease(self.engine, self.data_dir, name)


def last_started(place: JobPlace, name: str) -> dt.datetime | None:
    with place.engine.connect() as conn:
        return conn.execute(sa.select(job_runs.c.started_at).where(job_runs.c.name == name)).scalar()


def runs_of(place: JobPlace, name: str) -> int:
    """How many times the job has run (all processes together)."""
    with place.engine.connect() as conn:
        return conn.execute(sa.select(job_runs.c.runs).where(job_runs.c.name == name)).scalar() or 0


def _record_start(place: JobPlace, name: str) -> None:
    values = {"holder": holder_name(), "started_at": place.clock.now(), "finished_at": None, "last_error": None}
    with place.engine.begin() as conn:
        updated = conn.execute(
            sa.update(job_runs).where(job_runs.c.name == name).values(runs=job_runs.c.runs + 1, **values)
        ).rowcount
        if not updated:  # the first run ever; we hold the lease, so no one inserts beside us
            conn.execute(sa.insert(job_runs).values(name=name, runs=1, **values))


def _record_end(place: JobPlace, name: str, error: str | None) -> None:
    with place.engine.begin() as conn:
        conn.execute(
            sa.update(job_runs)
            .where(job_runs.c.name == name)
            .values(finished_at=place.clock.now(), last_error=error[:1000] if error else None)
        )


def _run_recorded(place: JobPlace, name: str, fn: Callable[[], T]) -> T:
    _record_start(place, name)
    try:
        result = fn()
    except Exception as exc:
        _record_end(place, name, f"{type(exc).__name__}: {exc}")
        raise
    _record_end(place, name, None)
    return result


def run_exclusively(place: JobPlace, name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` holding the job's lease (the command-line run of a server's job); raises
    :class:`LeaseHeld`, naming the holder, while another process runs it."""
    with place.lease(name) as lease:
        if not lease.acquire():
            holder = lease.holder()
            raise LeaseHeld(
                f"任务 {name} 正在由另一进程运行（{holder or '未知进程'}），请稍后再试 (another process holds the lease)",
                job=name,
                holder=holder,
            )
        return _run_recorded(place, name, fn)


def run_if_due(place: JobPlace, job: PeriodicJob) -> bool:
    """Run ``job`` if its interval has passed since its last run by any process; True if it ran here."""
    if not _is_due(place, job):
        return False
    with place.lease(job.name) as lease:
        if not lease.acquire() or not _is_due(place, job):  # someone else runs it, or just did
            return False
        _run_recorded(place, job.name, job.run)
        return True


def _is_due(place: JobPlace, job: PeriodicJob) -> bool:
    started = last_started(place, job.name)
    return started is None or (place.clock.now() - started).total_seconds() >= job.interval_seconds


def _log_failure(exc: Exception, what: str, retry_in: float) -> None:
    """An outage or a full disk in one line (it is expected and passes); anything else with its traceback."""
    if kind := outage_kind(exc):
        log.warning("%s: %s (%s); trying again in %.0f s", what, kind, type(exc).__name__, retry_in)
    else:
        log.exception("%s failed; trying again in %.0f s", what, retry_in)


class ServerJobs:
    """The jobs thread of one server process (see the module docstring)."""

    def __init__(
        self,
        place: JobPlace,
        periodic: list[PeriodicJob],
        relay: Relay | None,
        *,
        poll_seconds: float = 30.0,
    ):
        self._place = place
        self._periodic = periodic
        self._relay = relay
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="govcred-jobs", daemon=True)
        self._relay_lease: Lease | None = None
        self._worker: BackgroundWorker | None = None
        self.ran: dict[str, int] = {}

    def start(self) -> ServerJobs:
        self._thread.start()
        return self

    @property
    def relay_leader(self) -> bool:
        return self._worker is not None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._tend_relay()
            for job in self._periodic:
                if self._stop.is_set():
                    break
                try:
                    if run_if_due(self._place, job):
                        self.ran[job.name] = self.ran.get(job.name, 0) + 1
                except Exception as exc:  # the next poll tries again
                    _log_failure(exc, f"job {job.name}", self._poll)
            self._stop.wait(self._poll)

    def _tend_relay(self) -> None:
        """Become the relay's leader if no process is, and step down if the lease was lost."""
        if self._relay is None:
            return
        try:
            if self._worker is not None:
                if self._relay_lease is not None and self._relay_lease.held():
                    return
                log.warning("outbox relay: lease lost; stopping this process's relay")
                self._stop_relay()
            lease = self._place.lease(RELAY)
            if lease.acquire():
                self._relay_lease = lease
                self._worker = BackgroundWorker(self._relay).start()
                log.info("outbox relay: this process (%s) is the leader", holder_name())
        except Exception as exc:
            _log_failure(exc, "outbox relay lease", self._poll)

    def _stop_relay(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        lease, self._relay_lease = self._relay_lease, None
        if lease is not None:
            lease.release()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._stop_relay()
