"""``govcred verifier serve`` under gunicorn: the verifier app in N worker processes.

Each worker builds its own app after the fork (its own refresh thread, its own database
connections); what must hold across them -- used presentations, rate limits -- lives in Redis
or the verifier database, never in a worker's memory.

Why our own small ``BaseApplication`` (not core's ``IssuerServer``): the verifier imports no
issuer module beyond its allow-list, and it has no jobs or leases to wire into the workers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

TIMEOUT_SECONDS = 60
GRACEFUL_SECONDS = 30


class VerifierServer(BaseApplication):
    def __init__(self, build_app: Callable[[], Any], *, bind: str, workers: int, threads: int):
        self._build_app = build_app
        self._options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "timeout": TIMEOUT_SECONDS,
            "graceful_timeout": GRACEFUL_SECONDS,
            "preload_app": False,
            "proc_name": "govcred-verifier",
            "errorlog": "-",
            "control_socket_disable": True,
            "child_exit": _worker_gone,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # an older gunicorn lacks some (control_socket_disable)
                self.cfg.set(key, value)

    def load(self):
        return self._build_app()


def _worker_gone(_server, worker) -> None:
    """A worker's live gauges leave the scrape with it (its counters stay summed in)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


@contextlib.contextmanager
def metrics_dir(data_dir: Path) -> Iterator[Path]:
    """An empty folder of this server's own for its workers' metric samples, removed when it
    stops. Its own, not one per data directory: several verifier servers may share one (and
    its database); folders of servers that died without removing theirs go at the next start."""
    parent = Path(data_dir) / "run"
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in parent.glob("metrics-*"):
        pid = stale.name.removeprefix("metrics-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    path = parent / f"metrics-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
