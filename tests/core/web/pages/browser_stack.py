"""The real issuer app and the real verifier app on 127.0.0.1, driven by Debian's Chromium.

Servers are werkzeug's ``make_server`` in threads over a fresh SQLite data dir; the browser is
Playwright with the kit's ``chromium_executable`` (Debian's ``/usr/bin/chromium``; ``playwright
install`` is never run).
Screenshots of each page at phone and desktop width go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[4] / "test-artifacts" / "screenshots"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    def __init__(self, app, port: int):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@dataclass
class Stack:
    rt: object
    issuer: ServerThread
    issuer_app: object
    verifier: ServerThread | None = None
    verifier_app: object = None
    verifier_key: str = ""
    shots: list[Path] = field(default_factory=list)

    def latest_sms_code(self, event_type: str = "login.code") -> str:
        """What the developer reads in the dev SMS log: the code in the newest login-code
        message (``progress.code``: the newest progress look-up code)."""
        from govcred.core.orm import outbox
        from govcred.core.outbox import reveal_secrets

        with self.rt.uow(readonly=True) as uow:
            message_id, payload = uow.session.execute(
                sa.select(outbox.c.id, outbox.c.payload)
                .where(outbox.c.event_type == event_type)
                .order_by(outbox.c.created_at.desc())
                .limit(1)
            ).one()
        return reveal_secrets(self.rt.secrets.cipher, message_id, payload)["code"]

    def warm_verifier(self, credential_id: str) -> None:
        """Let the verifier fetch the status list the credential names (as its refresh would)."""
        from govcred.core.exceptions import VerificationError

        with self.rt.uow(readonly=True) as uow:
            claims = uow.credentials.get(credential_id).claims
        uri = claims["status"]["status_list"]["uri"]
        cache = self.verifier_app.extensions["verifier"].cache
        try:
            cache.status_list(uri, claims["iss"])
        except VerificationError:
            pass
        cache.refresh()
        cache.status_list(uri, claims["iss"])


@contextlib.contextmanager
def chromium(executable: Path):
    """Debian's Chromium driven by Playwright (never a downloaded browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shoot(page, name: str, stack: Stack) -> None:
    """A full-page screenshot at phone and desktop width; the page is left at phone width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", VIEWPORTS["desktop"]), ("phone", VIEWPORTS["phone"])):
        page.set_viewport_size(size)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        stack.shots.append(path)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{name}: the page is {overflow}px wider than a 360px phone"


def field(name: str) -> str:
    """The CSS selector of a form field named by document path (see core.web.pages.views.field_id)."""
    return "#f-" + re.sub(r"[^0-9A-Za-z]", "-", name)


def y4m_of(png_path: Path, out: Path, size=(640, 480), frames: int = 5) -> Path:
    """A short YUV4MPEG2 clip showing the image: Chromium's fake camera plays it in a loop."""
    from PIL import Image

    picture = Image.open(png_path).convert("RGB")
    picture.thumbnail((size[0] - 80, size[1] - 80))
    canvas = Image.new("RGB", size, "white")
    canvas.paste(picture, ((size[0] - picture.width) // 2, (size[1] - picture.height) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            fh.write(b"FRAME\n" + frame)
    return out
