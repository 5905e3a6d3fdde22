"""A real HTTP server on 127.0.0.1 standing in for an external gateway, scripted per request.

``GatewayStub(handler)``: ``handler(request) -> Reply`` decides each answer; every request
is recorded (method, path, headers, body). Used by the SMS and provincial-push tests.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)


class Hang:
    """A handler for a gateway that hangs: it answers ``reply`` only once :meth:`release` is
    called, so the answer comes after any client timeout however slow the machine is.

    ``with GatewayStub(hang) as stub, hang: ...`` releases on the way out."""

    def __init__(self, reply: Reply | None = None):
        self.reply = reply or Reply(200, {"id": "too-late"})
        self._released = threading.Event()

    def __call__(self, request: Request) -> Reply:
        self._released.wait(60)  # the cap only keeps a broken test from hanging the server thread
        return self.reply

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> Hang:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class GatewayStub:
    def __init__(self, handler: Callable[[Request], Reply] | None = None):
        self.handler = handler or (lambda request: Reply(200, {"ok": True}))
        self.requests: list[Request] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                stub.requests.append(request)
                reply = stub.handler(request)
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def __enter__(self) -> GatewayStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/send"
