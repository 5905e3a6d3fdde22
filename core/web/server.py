"""``govcred serve`` under gunicorn: the issuer app in N worker processes.

Each worker builds its own runtime after the fork (no connection crosses a fork) and starts
its jobs thread (:class:`core.jobs.ServerJobs`): the sweep and the outbox relay run in one
worker at a time, whichever holds the lease. ``kill -HUP <master>`` reloads gracefully:
gunicorn starts new workers with the settings read again, then lets the old ones finish
their requests. ``kill -TERM`` stops gracefully.

Why a gunicorn ``BaseApplication`` rather than the ``gunicorn`` command: ``govcred serve``
keeps one command (the README's run command) that checks the data directory and the key
before any worker starts, holds the data directory's lock, and wires the jobs and the
metrics into gunicorn's worker hooks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger("govcred.server")

#: Stop a worker that has not answered for this long (a stuck request), and give a worker
#: this long to finish its requests on a graceful stop or reload.
TIMEOUT_SECONDS = 60
GRACEFUL_SECONDS = 30


def default_workers(sqlite: bool, cpus: int | None = None) -> int:
    """Sensible for the machine: 2 x cores + 1 on PostgreSQL (requests wait on the database
    as much as on the CPU), at most 12; on SQLite, whose writes take turns anyway, one per
    core, at least 2 and at most 4."""
    cpus = cpus or os.cpu_count() or 1
    return min(max(2, cpus), 4) if sqlite else min(2 * cpus + 1, 12)


class IssuerServer(BaseApplication):
    """gunicorn running ``build_app()`` in each worker; ``jobs(app)`` starts the worker's jobs
    thread and returns it (or None)."""

    def __init__(
        self,
        build_app: Callable[[], Any],
        *,
        bind: str,
        workers: int,
        threads: int,
        jobs: Callable[[Any], Any] | None = None,
        on_worker_gone: Callable[[int], None] | None = None,
    ):
        self._build_app = build_app
        self._jobs = jobs
        self._on_worker_gone = on_worker_gone
        self._options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            # threads > 1: gthread (a slow upload does not hold a whole process); else sync
            "worker_class": "gthread" if threads > 1 else "sync",
            "timeout": TIMEOUT_SECONDS,
            "graceful_timeout": GRACEFUL_SECONDS,
            "preload_app": False,
            "proc_name": "govcred",
            "errorlog": "-",
            # no gunicornc control socket: it would be one path in $HOME for every server
            "control_socket_disable": True,
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
            "child_exit": self._child_exit,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._build_app()

    def _post_worker_init(self, worker) -> None:
        if self._jobs is not None:
            worker.govcred_jobs = self._jobs(worker.wsgi)

    @staticmethod
    def _worker_exit(_server, worker) -> None:
        jobs = getattr(worker, "govcred_jobs", None)
        if jobs is not None:
            jobs.stop()

    def _child_exit(self, _server, worker) -> None:
        if self._on_worker_gone is not None:
            self._on_worker_gone(worker.pid)
