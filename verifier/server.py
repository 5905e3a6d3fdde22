"""``govcred verifier serve`` under gunicorn: the verifier app in N worker processes.

Each worker builds its own app after the fork (its own refresh thread, its own database
connections); what must hold across them -- used presentations, rate limits -- lives in Redis
or the verifier database, never in a worker's memory.

Why our own small ``BaseApplication`` (not core's ``IssuerServer``): the verifier imports no
issuer module beyond its allow-list, and it has no jobs or leases to wire into the workers.
"""

from __future__ import annotations

from collections.abc import Callable
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
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # an older gunicorn lacks some (control_socket_disable)
                self.cfg.set(key, value)

    def load(self):
        return self._build_app()
