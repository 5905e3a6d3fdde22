"""``govcred verifier-client add`` prints a working key once and stores only its hash;
``govcred verifier serve`` answers on the port it was given."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govcred.core.cli import build_cli
from govcred.core.keys import SigningKey, jwks_document
from govcred.verifier.db import clients, make_verifier_engine
from tests.core.credential_rows import make_credential
from tests.core.serving import GOVCRED
from tests.verifier.issuers import publish


def test_client_add_prints_the_key_once_and_serve_accepts_it(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    from govcred.core.clock import utcnow

    rt.clock.set(utcnow())  # the served verifier runs on the real clock
    cred = make_credential(rt)
    entry = publish(rt, tmp_path / "trust")
    trust = tmp_path / "trust.toml"
    trust.write_text(
        f'benefit_plugins = ["zhejiang_residence"]\n[[issuer]]\niss = "{entry.iss}"\n'
        f'jwks = "{entry.jwks}"\nstatus_list_files = {json.dumps(list(entry.status_list_files))}\n'
    )
    data = tmp_path / "var"
    out = CliRunner().invoke(build_cli(), ["--data-dir", str(data), "verifier-client", "add", "青田县实验小学"])
    assert out.exit_code == 0, out.output
    key = out.output.strip().splitlines()[-1]
    assert key.startswith("gcv_")
    engine = make_verifier_engine(f"sqlite:///{data / 'verifier' / 'verifier.sqlite3'}")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(clients)).mappings().one()
    assert stored["name"] == "青田县实验小学" and key.split("_", 2)[2] not in json.dumps(dict(stored), default=str)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    govcred = Path(sys.executable).with_name("govcred")
    server = subprocess.Popen(
        [str(govcred), "--data-dir", str(data), "verifier", "serve", "--trust", str(trust), "--port", str(port)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        for _ in range(100):
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/verify",
                    data=json.dumps({"token": cred.token}).encode(),
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None and body["valid"] is True
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_names_a_port_in_use_before_it_starts(tmp_path):
    trust = tmp_path / "trust.toml"
    trust.write_text('[[issuer]]\niss = "https://qt.example.gov.cn"\njwks = "keys/qt.json"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(Path(sys.executable).with_name("govcred")), "--data-dir", str(tmp_path / "var")]
            + ["verifier", "serve", "--trust", str(trust), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"无法监听 127.0.0.1:{port}：端口已被占用" in done.stderr and "Traceback" not in done.stderr
    assert "核验服务 (verifier) on" not in done.stdout


def test_verify_names_a_path_that_is_no_file_instead_of_judging_it_as_a_token(tmp_path):
    """``govcred verify /wrong/credential.png`` said 无效 (not valid): MALFORMED, as if the
    path were the token; a staff member would think the permit forged."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document([SigningKey.generate("ES256")])), encoding="utf-8")
    cli = build_cli()
    for given, problem in (
        (str(tmp_path / "missing" / "credential.png"), "不存在"),
        ("credential.png", "不存在"),
        (str(tmp_path), "是目录，应为文件"),
    ):
        out = CliRunner().invoke(cli, ["verify", given, "--jwks", str(jwks)])
        assert out.exit_code == 2, out.output
        assert f"文件 {given} {problem}" in out.output
        assert "MALFORMED" not in out.output
    # token or QR text is still judged as such (here: refused by the verifier, not as a path)
    for text in ("GC2:/1234567", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"):
        out = CliRunner().invoke(cli, ["verify", text, "--jwks", str(jwks)])
        assert out.exit_code == 1 and "不存在" not in out.output, out.output


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "无法作为公钥集 (JWKS) 读取：不是有效的 JSON，第 1 行第 2 列有误"),
        (b'{"issuer": "https://qt.example.gov.cn"}', "不是公钥集 (JWKS)：应为含非空 keys 列表的 JSON 对象"),
        (b'{"keys": [{"kty": "RSA"}]}', "中的公钥无效"),
    ],
)
def test_verify_names_a_jwks_file_it_cannot_use_before_judging_the_token(tmp_path, content, why):
    """A broken --jwks file answered 无效 (not valid): UNKNOWN_ISSUER, a verdict on the token,
    with an English "refresh: ... keys not refreshed" line: the file is the operator's to fix."""
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(content)
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL3F0LmV4YW1wbGUuZ292LmNuIn0.c2ln"
    done = subprocess.run([GOVCRED, "verify", "--jwks", str(jwks), token], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "", (done.stdout, done.stderr)
    assert f"错误：--jwks 的值无效：文件 {jwks} {why}" in done.stderr, done.stderr
    assert "UNKNOWN_ISSUER" not in done.stderr and "refresh" not in done.stderr and "Traceback" not in done.stderr


def test_serve_refuses_bad_limits_from_the_environment_as_the_wsgi_entry_does(tmp_path):
    """GOVCRED_VERIFIER_LIMIT_* were read by the WSGI entry only: under ``verifier serve`` a
    systemd unit's limits were silently ignored, a bad one as much as a good one."""
    trust = tmp_path / "trust.toml"
    trust.write_text('[[issuer]]\niss = "https://qt.example.gov.cn"\njwks = "keys/qt.json"\n')
    env = {
        **os.environ,
        "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS": "lots",
        "GOVCRED_VERIFIER_LIMIT_DECODES_PER_KEY": "0",
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("govcred")), "--data-dir", str(tmp_path / "var")]
        + ["verifier", "serve", "--trust", str(trust), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "GOVCRED_VERIFIER_LIMIT_VERIFY_PER_ADDRESS" in done.stderr
    assert "GOVCRED_VERIFIER_LIMIT_DECODES_PER_KEY" in done.stderr
    assert "核验服务 (verifier) on" not in done.stdout


def test_verify_names_a_picture_without_a_qr_code_instead_of_judging_a_permit(tmp_path):
    """A photo without a QR code, or a PDF given by mistake, answered 无效 (not valid): MALFORMED,
    as if the permit were forged; the API says QR_NOT_FOUND for the same photo."""
    from PIL import Image

    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document([SigningKey.generate("ES256")])), encoding="utf-8")
    blank = tmp_path / "photo.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(b"%PDF-1.4\n\x00\xff\xfe binary")
    cli = build_cli()
    for given, problem in (
        (blank, "图片中没有找到二维码：请重新拍摄，让二维码完整、清晰地出现在画面中。"),
        (pdf, "既不是二维码图片（PNG、JPEG），也不是令牌或二维码文本"),
    ):
        out = CliRunner().invoke(cli, ["verify", str(given), "--jwks", str(jwks)])
        assert out.exit_code == 2, out.output
        assert f"文件 {given}" in out.output and problem in out.output
        assert "MALFORMED" not in out.output


def test_verify_names_a_status_list_file_that_holds_no_status_list(sqlite_runtime, tmp_path):
    """--status-list naming the JWKS or the credential by mistake answered STATUS_UNAVAILABLE
    with an English "status list not refreshed (LIST_MALFORMED); keeping the last good copy"."""
    rt = sqlite_runtime
    cred = make_credential(rt)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(rt.keystore.jwks()), encoding="utf-8")
    token = tmp_path / "credential.jwt"
    token.write_text(cred.token, encoding="ascii")
    good = tmp_path / "status-list.jwt"
    good.write_text(rt.status_list_publisher.current(cred.status_list_id).token, encoding="ascii")
    cli = build_cli()
    for wrong in (jwks, token):
        done = subprocess.run(
            [GOVCRED, "verify", str(token), "--jwks", str(jwks), "--status-list", str(wrong)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2 and done.stdout == "", (done.stdout, done.stderr)
        assert f"错误：--status-list 的值无效：文件 {wrong} 不是状态列表" in done.stderr, done.stderr
        assert "STATUS_UNAVAILABLE" not in done.stderr and "refreshed" not in done.stderr
    # the real list is taken as one (judged by the verifier: here expired, the test's clock is fixed)
    out = CliRunner().invoke(cli, ["verify", str(token), "--jwks", str(jwks), "--status-list", str(good)])
    assert out.exit_code == 1 and "不是状态列表" not in out.output, out.output


def test_verify_usage_names_the_argument_input():
    out = CliRunner().invoke(build_cli(), ["verify", "--help"])
    assert "verify [OPTIONS] INPUT\n" in out.output


def test_verify_names_a_benefit_code_no_credential_type_knows(tmp_path):
    """A misspelt --benefit answered 权益 compulsory_educaton: 不符合, as if the holder did not
    qualify for schooling; it is refused naming the codes there are."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document([SigningKey.generate("ES256")])), encoding="utf-8")
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL3F0LmV4YW1wbGUuZ292LmNuIn0.c2ln"
    out = CliRunner().invoke(build_cli(), ["verify", token, "--jwks", str(jwks), "--benefit", "compulsory_educaton"])
    assert out.exit_code == 2, out.output
    assert "不认识的权益代码 compulsory_educaton；可选：" in out.output
    assert "compulsory_education（义务教育）" in out.output and "不符合" not in out.output


@pytest.mark.parametrize("command", [["verifier-client", "add", "青田县实验小学"], ["verifier", "purge", "--dry-run"]])
def test_a_verifier_database_url_no_driver_reads_is_named_without_a_traceback(command, tmp_path):
    """A typo in --database-url (postgres://, an unknown scheme) ended in SQLAlchemy's
    NoSuchModuleError traceback; the password of the URL stays hidden."""
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), *command, "--database-url", "postgres://u:geheim@db/verifier"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert (
        "核验服务的数据库地址不可用 (--database-url / GOVCRED_VERIFIER_DATABASE_URL: postgres://u:***@db/verifier)"
        in done.stderr
    )
    assert "geheim" not in done.stderr


def test_serve_refuses_a_verifier_database_url_no_driver_reads_before_it_starts(tmp_path):
    trust = tmp_path / "trust.toml"
    trust.write_text('[[issuer]]\niss = "https://qt.example.gov.cn"\njwks = "keys/qt.json"\n')
    done = subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), "verifier", "serve", "--trust", str(trust)]
        + ["--database-url", "nosuch://db/verifier", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "核验服务的数据库地址不可用" in done.stderr and "核验服务 (verifier) on" not in done.stdout
