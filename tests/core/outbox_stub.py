"""A scripted HTTP gateway on 127.0.0.1 and the outbox channel that posts to it.

The gateway deduplicates by ``Idempotency-Key`` the way a real receiver must: the first
request with a key takes effect, later ones are answered from the stored receipt. It
records every request, so tests can tell transport duplicates (allowed) from duplicate
effects (never allowed), and which worker process sent what.

Both halves are used by the worker tests, the crash tests (the channel is installed in the
``govcred`` entry-point group of a throwaway distribution) and ``bench/bench_outbox.py``.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from govcred import core
from govcred.core.http_delivery import send

#: An action for one request: ``("ok",)``, ``("status", code)``, ``("status", code, {headers})``,
#: ``("hold",)`` (take effect, then answer only
#: once the test calls ``gateway.released.set()``: later than any client timeout, however slow the
#: machine), ``("close",)`` (drop the connection unanswered),
#: ``("kill_sender",)`` (take effect, then SIGKILL the worker process named in ``X-Worker-Pid``
#: before answering: the "sent, crashed before recording" case), ``("garbage",)`` (take effect,
#: answer 200 with a body that is not JSON).
Action = tuple


@dataclass
class Received:
    key: str
    body: dict[str, Any]
    worker_pid: str
    at: float
    answered: int | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; no 40 ms delayed-ACK stall
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if len(raw) < length:  # the sender died mid-body: nothing arrived, nothing takes effect
            self.close_connection = True
            return
        gateway = self.server.gateway
        key = self.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        action = gateway.next_action(key, body)
        kind = action[0]
        if kind == "close":
            gateway.record(key, body, self.headers.get("X-Worker-Pid", ""), None)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "status" and not 200 <= action[1] < 300:
            gateway.record(key, body, self.headers.get("X-Worker-Pid", ""), action[1])
            headers = action[2] if len(action) > 2 else {}
            self._answer(action[1], {"error": "scripted failure"}, headers)
            return
        receipt = gateway.apply(key, body, self.headers.get("X-Worker-Pid", ""))
        if kind == "kill_sender":
            pid = int(self.headers["X-Worker-Pid"])
            gateway.killed_pids.add(pid)
            os.kill(pid, signal.SIGKILL)
            self.close_connection = True
            return
        if kind == "hold":
            gateway.released.wait(60)  # the cap only keeps a broken test from hanging the server
        if kind == "garbage":  # 200, effect taken, but a body the client cannot parse
            self._answer(200, None, raw=b"<html>ok")
            return
        try:
            self._answer(200, {"receipt": receipt})
        except OSError:  # the client gave up waiting (read timeout): the effect stands
            pass

    def _answer(
        self, status: int, document: dict | None, headers: dict[str, str] | None = None, *, raw: bytes | None = None
    ) -> None:
        data = raw if raw is not None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, gateway: StubGateway):
        self.gateway = gateway
        super().__init__(address, _Handler)


class StubGateway:
    """The receiving end. ``script`` is consumed one action per request; afterwards
    ``default`` (or ``responder(key, body)``) decides."""

    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self.script: collections.deque[Action] = collections.deque()
        self.responder: Callable[[str, dict], Action] | None = None
        self.requests: list[Received] = []
        self.effects: collections.Counter[str] = collections.Counter()
        self.effect_order: list[str] = []
        self.killed_pids: set[int] = set()
        #: ends every ``("hold",)``; set it once the client has given up
        self.released = threading.Event()
        self._receipts: dict[str, str] = {}
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> StubGateway:
        self._server = _Server(("127.0.0.1", self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop_listening(self) -> None:
        """Close the listening socket: new connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubGateway:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop_listening()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/messages"

    # -- behaviour --------------------------------------------------------------------
    def next_action(self, key: str, body: dict) -> Action:
        with self._lock:
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(key, body)
        return ("ok",)

    def record(self, key: str, body: dict, pid: str, answered: int | None) -> None:
        with self._lock:
            self.requests.append(Received(key, body, pid, time.monotonic(), answered))

    def apply(self, key: str, body: dict, pid: str) -> str:
        """Take effect once per key; a repeat gets the first receipt back."""
        with self._lock:
            self.requests.append(Received(key, body, pid, time.monotonic(), 200))
            if key not in self._receipts:
                self._receipts[key] = f"r-{len(self._receipts) + 1}"
                self.effects[key] += 1
                self.effect_order.append(key)
            return self._receipts[key]

    # -- what the tests check -------------------------------------------------------------
    def requests_for(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.key == key]

    def answered_ok_times(self) -> list[float]:
        """``time.monotonic()`` of every request answered 200, in order."""
        with self._lock:
            return sorted(r.at for r in self.requests if r.answered == 200)

    def check_history(self, committed_ids: set[str]) -> dict[str, Any]:
        """The R-11 checker: lost, unexpected and duplicate effects (must all be empty),
        plus transport duplicates (allowed, reported)."""
        with self._lock:
            received = collections.Counter(r.key for r in self.requests)
            effected = set(self.effects)
            return {
                "lost": committed_ids - effected,
                "unexpected": set(received) - committed_ids,
                "duplicate_effects": {k: n for k, n in self.effects.items() if n > 1},
                "transport_duplicates": {k: n for k, n in received.items() if n > 1},
            }


# -- the channel ------------------------------------------------------------------------


class HttpChannel:
    """An outbox channel handler that POSTs the message as JSON to ``url`` through
    :func:`govcred.core.http_delivery.send`, the request and error mapping real channels use.
    One keep-alive session per delivering thread."""

    def __init__(self, url: str, *, connect_timeout: float = 3.0, read_timeout: float = 10.0):
        self.url = url
        self.timeout = (connect_timeout, read_timeout)
        self._local = threading.local()
        self.pid = str(os.getpid())

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def __call__(self, message) -> dict[str, Any]:
        body = json.dumps(
            {
                "id": message.id,
                "event_type": message.event_type,
                "aggregate_type": message.aggregate_type,
                "aggregate_id": message.aggregate_id,
                "seq": message.aggregate_seq,
                "payload": message.payload,
                "to": message.secrets.get("phone", ""),
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.id, "X-Worker-Pid": self.pid}
        response = send("POST", self.url, data=body, headers=headers, timeout=self.timeout, session=self._session())
        return {"status": response.status_code, "receipt": response.json().get("receipt")}


class ChannelPlugin:
    """Registers ``channel_name`` -> ``handler`` through ``govcred_delivery_channels``."""

    def __init__(self, handler: Callable, channel_name: str = "test_http"):
        self.handler = handler
        self.channel_name = channel_name

    @core.hookimpl
    def govcred_delivery_channels(self, register, settings) -> None:
        register(self.channel_name, self.handler)


def plugin_from_env() -> ChannelPlugin:
    """What the throwaway distribution's entry point loads in a worker subprocess."""
    return ChannelPlugin(
        HttpChannel(os.environ["OUTBOX_STUB_URL"], read_timeout=float(os.environ.get("OUTBOX_STUB_READ_TIMEOUT", "10")))
    )


# -- worker processes -------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def install_channel_distribution(site: Path) -> Path:
    """Make ``site`` a directory that, on ``sys.path``, installs the ``test_http`` channel:
    a module plus a ``*.dist-info`` whose ``entry_points.txt`` names it in the ``govcred``
    group, which is how every plugin reaches a ``govcred`` process."""
    dist_info = site / "govcred_outbox_test_channel-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (site / "outbox_test_channel.py").write_text(
        "from tests.core.outbox_stub import plugin_from_env\nplugin = plugin_from_env()\n", encoding="utf-8"
    )
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: govcred-outbox-test-channel\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[govcred]\noutbox_test_channel = outbox_test_channel:plugin\n", encoding="utf-8"
    )
    return site


def worker_env(
    site: Path, data_dir: Path, database_url: str, gateway_url: str, *, read_timeout: float = 5.0
) -> dict[str, str]:
    """The environment of a ``govcred worker`` process that delivers ``test_http`` to the
    stub. The SMS and push plugins are blocked so only the relay is measured or tested."""
    from govcred.testing import TEST_ENV

    return {
        **os.environ,
        **TEST_ENV,
        "GOVCRED_DATA_DIR": str(data_dir),
        "GOVCRED_DATABASE_URL": database_url,
        "GOVCRED_DISABLE_PLUGINS": "sms_gateway,provincial_push",
        "OUTBOX_STUB_URL": gateway_url,
        "OUTBOX_STUB_READ_TIMEOUT": str(read_timeout),
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``govcred worker ARGS`` as a child process (stdout and stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-c", "from govcred.core.cli import main; main()", "worker", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def seed_messages(rt, aggregates: int, per_aggregate: int, *, channel: str = "test_http") -> list[str]:
    """Commit ``aggregates * per_aggregate`` messages (each with an encrypted phone number)."""
    with rt.uow() as uow:
        ids = [
            uow.outbox.add(
                channel,
                f"credential.e{seq}",
                {"seq": seq},
                aggregate_type="credential",
                aggregate_id=f"c{a:05d}",
                secret={"phone": "13800138000"},
            )
            for a in range(aggregates)
            for seq in range(1, per_aggregate + 1)
        ]
        uow.commit()
    return ids


@pytest.fixture
def gateway():
    """A running :class:`StubGateway` (import this fixture into a test module to use it)."""
    with StubGateway() as gw:
        yield gw
