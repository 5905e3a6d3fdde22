"""Helpers for the page tests: officers with TOTP, log-in through the real forms, CSRF tokens
scraped from the rendered HTML (the way a browser gets them)."""

from __future__ import annotations

import re

import pyotp

from govcred.core.accounts.officers import create_officer
from govcred.core.accounts.totp import enrol, exempt

PASSWORD = "a long enough passphrase 42"
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def add_officer(rt, username: str, role: str, *, with_totp: bool | None = None) -> str | None:
    """Create an officer and return their TOTP seed. Every role signs in with TOTP; a clerk
    is exempted by an administrator (password only, seed None) unless ``with_totp``."""
    with_totp = role != "clerk" if with_totp is None else with_totp
    with rt.uow() as uow:
        officer = create_officer(
            uow, username=username, display_name=f"{role}-{username}", role=role, password=PASSWORD, now=rt.clock.now()
        )
        seed = None
        if with_totp:
            uri = enrol(uow, officer, rt.secrets.cipher)
            seed = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
        else:
            exempt(uow, officer, reason="窗口受理员暂无手机（测试）")
        uow.commit()
    return seed


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = _TOKEN.search(text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def code_id_of(html: bytes | str) -> str:
    """The sign-in code's id the resident log-in page keeps in its form (sent back with the code)."""
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="code_id" value="([^"]+)"', text)
    assert match, "no code_id in the page"
    return match.group(1)


def totp_code(seed: str, rt, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(seed)
    return totp.generate_otp(totp.timecode(rt.clock.now()) + offset_steps)


def officer_login(client, rt, username: str, seed: str | None, *, code: str | None = None):
    page = client.get("/officer/login")
    data = {"csrf_token": csrf_of(page.data), "username": username, "password": PASSWORD}
    if seed is not None or code is not None:
        data["totp"] = code if code is not None else totp_code(seed, rt)
    return client.post("/officer/login", data=data)


def https_client(app):
    """A test client that talks https, as behind the production proxy (Secure cookies)."""
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https"})
    return client
