"""A checkpoint witness served over real HTTP on 127.0.0.1 (the protocol of
``govcred.core.witnesses.HttpWitness``): POST a signed note, GET ``?origin=`` for the latest."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class WitnessServer:
    def __init__(self):
        self.notes: dict[str, list[str]] = {}
        self.refusing = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if server.refusing:
                    self.send_response(503)
                    self.end_headers()
                    return
                server.notes.setdefault(body.split("\n", 1)[0], []).append(body)
                self.send_response(201)
                self.end_headers()

            def do_GET(self):
                origin = parse_qs(urlsplit(self.path).query).get("origin", [""])[0]
                held = server.notes.get(origin)
                if not held:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = held[-1].encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/checkpoints"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> WitnessServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
