"""What a production start-up refuses, through the real entry points: ``govcred serve``,
``govcred worker``, gunicorn loading ``govcred.core.web.wsgi:app``, and the app factory.

A data directory made in development (``govcred init`` and ``govcred demo``: demo officers, a
development signing key that signed a live permit, the development SMS backend, the SMS-code
sign-in alone) is started in production; every refusal is listed at once, without a traceback,
and each goes away through the fix its message names, until the server starts and answers.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from govcred.core.config import load_settings
from govcred.core.exceptions import ConfigError
from govcred.core.runtime import Runtime
from govcred.core.web import create_app
from govcred.testing import TEST_ENV
from tests.production import PRODUCTION_TOML

BIN = Path(sys.executable).parent
GOVCRED = str(BIN / "govcred")
DEMO = "production mode refuses the demo officer account(s) admin, clerk, reviewer"
SIGN_IN = "production mode refuses the SMS-code sign-in of residents"
SMS_BACKEND = "production mode refuses the development SMS backend"
REAL_SMS = '[plugins.sms_gateway]\nbackend = "http"\nurl = "https://sms.example.gov.cn/send"\nsecret = "s3cret"\n'
SMS_FALLBACK = "[identity]\nsms_sign_in = true\n"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    return {**env, **TEST_ENV, "GOVCRED_AUDIT_WITNESS_DIR": str(tmp_path / "audit-witness"), **extra}


class Issuer:
    """A data directory made in development, then run in production."""

    def __init__(self, tmp_path: Path):
        self.data = tmp_path / "var"
        development = _env(tmp_path)
        # no passphrase in development: the key is a development one, its passphrase in a file
        development.pop("GOVCRED_KEY_PASSPHRASE")
        self.development = development
        self.production = _env(tmp_path, GOVCRED_MODE="production")
        self.toml = PRODUCTION_TOML

    def govcred(self, *args: str, production: bool = True, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [GOVCRED, "--data-dir", str(self.data), *args],
            env=self.production if production else self.development,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert not check or done.returncode == 0, done.stdout + done.stderr
        return done

    def configure(self, *tables: str) -> None:
        (self.data / "govcred.toml").write_text(self.toml + "".join(tables), encoding="utf-8")

    def refusals(self, done: subprocess.CompletedProcess) -> list[str]:
        """The problems a refused start printed, one a line (and never a traceback)."""
        assert "Traceback" not in done.stderr, done.stderr
        assert "production mode refuses to start:" in done.stderr, done.stderr
        return [line.strip()[2:] for line in done.stderr.splitlines() if line.strip().startswith("- ")]

    def app_factory_refusals(self) -> list[str]:
        rt = Runtime.create(load_settings(self.data, env=self.production))
        try:
            with pytest.raises(ConfigError) as refused:
                create_app(runtime=rt)
        finally:
            rt.close()
        return refused.value.details["problems"]

    def development_kids(self) -> list[str]:
        listed = self.govcred("keys", "list").stdout
        return [line.split()[0] for line in listed.splitlines() if "[development]" in line]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kinds(problems: list[str]) -> list[str]:
    """Which refusal each problem is (its opening words)."""
    return [next((k for k in (DEMO, SIGN_IN, SMS_BACKEND) if p.startswith(k)), p) for p in problems]


def _serve_refusals(issuer: Issuer) -> list[str]:
    done = issuer.govcred("serve", "--port", str(_free_port()), check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "正在运行" not in done.stdout  # refused before the banner: nothing listened
    return issuer.refusals(done)


@pytest.fixture
def issuer(tmp_path):
    made = Issuer(tmp_path)
    made.govcred("init", production=False)  # demo officers and a development key
    made.govcred("demo", "--out", str(tmp_path / "demo"), production=False)  # a permit that key signed
    made.configure()
    return made


def test_every_refusal_is_listed_at_once_by_every_entry_point(issuer, tmp_path):
    (kid,) = issuer.development_kids()
    problems = _serve_refusals(issuer)
    assert len(problems) == 4, problems
    demo, key, sign_in, sms = problems
    assert demo.startswith(DEMO) and "`govcred officer disable clerk`" in demo
    assert f"development signing key {kid}, active and published in the JWKS" in key
    assert "`govcred keys rotate`" in key
    assert sign_in.startswith(SIGN_IN) and "[identity.oidc]" in sign_in and "identity.sms_sign_in = true" in sign_in
    assert sms.startswith(SMS_BACKEND) and 'backend = "aliyun" or "http"' in sms

    assert issuer.app_factory_refusals() == problems

    worker = issuer.govcred("worker", "--drain", check=False)
    assert worker.returncode == 2 and issuer.refusals(worker) == problems

    gunicorn = subprocess.run(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{_free_port()}", "govcred.core.web.wsgi:app"],
        env={**issuer.production, "GOVCRED_DATA_DIR": str(issuer.data)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # gunicorn's "App failed to load": its master stops instead of booting worker after worker
    assert gunicorn.returncode == 4, gunicorn.stderr
    assert issuer.refusals(gunicorn) == problems


def test_each_refusal_goes_away_by_the_fix_it_names_then_the_server_starts(issuer, tmp_path):
    (kid,) = issuer.development_kids()
    for username in ("admin", "clerk", "reviewer"):
        issuer.govcred("officer", "disable", username)
    problems = _serve_refusals(issuer)
    assert not any(p.startswith(DEMO) for p in problems) and len(problems) == 3

    # rotated, the development key is retired, but the JWKS keeps it for the permit it signed
    issuer.govcred("keys", "rotate")
    key = _serve_refusals(issuer)[0]
    assert f"development signing key {kid}, retired but still published in the JWKS" in key
    assert f"`govcred keys revoke {kid} --compromised --reason ...`" in key
    issuer.govcred("keys", "revoke", kid, "--compromised", "--reason", "made in development")
    assert _kinds(_serve_refusals(issuer)) == [SIGN_IN, SMS_BACKEND]

    issuer.configure(REAL_SMS)
    assert _kinds(_serve_refusals(issuer)) == [SIGN_IN]
    assert _kinds(issuer.app_factory_refusals()) == [SIGN_IN]

    issuer.configure(REAL_SMS, SMS_FALLBACK)
    port = _free_port()
    server = subprocess.Popen(
        [GOVCRED, "--data-dir", str(issuer.data), "serve", "--port", str(port), "--workers", "1", "--no-worker"],
        env=issuer.production,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        assert ready.status_code == 200
        jwks = requests.get(f"http://127.0.0.1:{port}/.well-known/jwks.json", timeout=5).json()
        assert kid not in {k["kid"] for k in jwks["keys"]} and kid in {k["kid"] for k in jwks["revoked_keys"]}
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_development_starts_with_all_of_it(issuer):
    rt = Runtime.create(load_settings(issuer.data, env=issuer.development))
    try:
        assert create_app(runtime=rt).test_client().get("/healthz").status_code == 200
    finally:
        rt.close()


def test_the_refusals_are_what_the_readme_says(issuer):
    """README's "What production mode refuses" quotes each refusal's opening as the code prints it."""
    (kid,) = issuer.development_kids()
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text(encoding="utf-8")
    section = readme.split("### What production mode refuses", 1)[1].split("\n## ", 1)[0]
    problems = issuer.app_factory_refusals()
    assert len(problems) == 4
    for problem in problems:
        opening = re.split(r" \(|:", problem.replace(kid, "KID"))[0]
        assert opening in section, opening


def test_the_settings_refusals_come_first_one_a_line(tmp_path):
    """Before any database is opened: every problem of the settings, each on its own line."""
    env = _env(tmp_path, GOVCRED_MODE="production", GOVCRED_ISSUER="http://qt.example.gov.cn")
    del env["GOVCRED_KEY_PASSPHRASE"], env["GOVCRED_SECRET_KEY"]
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), "serve"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert [line.strip() for line in done.stderr.splitlines() if line.strip().startswith("- ")] == [
        "- production mode needs GOVCRED_KEY_PASSPHRASE",
        "- production mode needs GOVCRED_SECRET_KEY",
        "- production mode needs an https:// issuer",
    ]
