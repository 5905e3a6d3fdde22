"""`govcred verifier serve` run as a user runs it: a real process (gunicorn unless --dev) on a
free port of 127.0.0.1, and plain HTTP calls to it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, path: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@contextlib.contextmanager
def verifier_process(data: Path, *args: str, env: dict | None = None):
    """A running verifier; yields its port once /healthz answers ready."""
    port = free_port()
    govcred = Path(sys.executable).with_name("govcred")
    log = open(data.parent / f"verifier-{port}.log", "wb")
    process = subprocess.Popen(
        [str(govcred), "--data-dir", str(data), "verifier", "serve", "--port", str(port), *args],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(150):
            try:
                status, body = call(port, "/healthz")
                if status == 200 and body.get("ready"):
                    break
            except OSError:
                pass
            if process.poll() is not None:
                raise AssertionError((data.parent / f"verifier-{port}.log").read_text())
            time.sleep(0.2)
        else:
            raise AssertionError("verifier never became ready: " + (data.parent / f"verifier-{port}.log").read_text())
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
