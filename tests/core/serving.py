"""Run ``govcred serve`` / ``govcred worker`` as real processes on 127.0.0.1 for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from govcred.testing import TEST_ENV

GOVCRED = str(Path(sys.executable).with_name("govcred"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVCRED_", "PROMETHEUS_"))}
    env.update(TEST_ENV)
    env["GOVCRED_DATA_DIR"] = str(data_dir)
    if database_url:
        env["GOVCRED_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def govcred(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([GOVCRED, *args], env=env, capture_output=True, text=True, timeout=timeout)


class Process:
    """A govcred command running in the background, its output in a file."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path, *, wrapper: tuple[str, ...] = ()):
        """``wrapper``: a command that runs the govcred command given after it (e.g. in a namespace)."""
        self.log = log
        self._out = open(log, "wb")
        self.proc = subprocess.Popen([*wrapper, GOVCRED, *args], env=env, stdout=self._out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def children(self) -> set[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return {int(p) for p in path.read_text().split()} if path.exists() else set()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 40) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()
        return self.proc.returncode


class Server(Process):
    def __init__(
        self, env: dict[str, str], log: Path, *serve_args: str, port: int | None = None, wrapper: tuple[str, ...] = ()
    ):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(env, ["serve", "--port", str(self.port), *serve_args], log, wrapper=wrapper)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"govcred serve exited {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"govcred serve did not answer in {timeout} s:\n{self.output()}")

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.base + path, timeout=10, **kwargs)


def wait_for(predicate, timeout: float, message: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message)
