"""The province's signed trust list: `govcred trust sign|verify|show`, and a verifier that adopts
only lists signed by its pinned root, never a lower version (not even after a restart), and
verifies a real issuer's permits (served on 127.0.0.1) through the list's URLs and scopes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from govcred.core.cli import build_cli
from govcred.core.clock import utcnow
from govcred.core.keys import encrypt_private_key, generate_private_key
from govcred.core.web import create_app as issuer_app
from govcred.verifier.app import create_app
from govcred.verifier.cache import fetch_source
from tests.core.credential_rows import make_credential
from tests.verifier.issuers import publish, trust_of
from tests.verifier.test_refresh_http import Served

PROVINCE = "https://zj.example.gov.cn/trust"
PASSPHRASE = "province root passphrase 2026"


@pytest.fixture
def admin(tmp_path, monkeypatch):
    """The administrator's desk: an encrypted root key, and a `govcred trust ...` runner."""
    monkeypatch.setenv("GOVCRED_TRUST_ROOT_PASSPHRASE", PASSPHRASE)

    def root_key(name="root"):
        path = tmp_path / f"{name}.pem"
        path.write_bytes(encrypt_private_key(generate_private_key("ES256"), PASSPHRASE))
        return path

    def run(*args):
        return CliRunner().invoke(build_cli(), ["trust", *map(str, args)])

    return root_key, run


def source_file(tmp_path, iss, divisions=("331121",), name="source.toml"):
    path = tmp_path / name
    path.write_text(
        f'[[issuer]]\niss = "{iss}"\nname = "青田县公安局"\njwks = "{iss}/.well-known/jwks.json"\n'
        f'status_lists = "{iss}/status"\ndivisions = {json.dumps(list(divisions))}\ncredential_types = ["zj-rp"]\n'
    )
    return path


def signed(run, tmp_path, key, source, version, name=None, root_out=None):
    out = tmp_path / (name or f"list-{version}.jwt")
    args = ["sign", source, "--key", key, "--issuer", PROVINCE, "--version", version, "--days", 30, "--out", out]
    result = run(*args, *(["--root-out", root_out] if root_out else []))
    assert result.exit_code == 0, result.output
    return out


def test_sign_verify_show_and_every_refusal(admin, tmp_path):
    root_key, run = admin
    key, root = root_key(), tmp_path / "root.json"
    source = source_file(tmp_path, "https://qt.example.gov.cn")
    seven = signed(run, tmp_path, key, source, 7, root_out=root)
    assert "版本 7" in run("verify", seven, "--root", root).output
    shown = json.loads(run("show", seven, "--root", root, "--json").output)
    assert (shown["province"], shown["version"]) == (PROVINCE, 7)
    assert shown["issuers"] == [
        {
            "iss": "https://qt.example.gov.cn",
            "name": "青田县公安局",
            "jwks": "https://qt.example.gov.cn/.well-known/jwks.json",
            "status_lists": "https://qt.example.gov.cn/status",
            "divisions": ["331121"],
            "credential_types": ["zj-rp"],
        }
    ]
    lower = run("verify", seven, "--root", root, "--held-version", 8, "--json")
    assert lower.exit_code == 1 and json.loads(lower.output)["reason"] == "ROLLBACK"
    forged = signed(run, tmp_path, root_key("stolen"), source, 9)
    refused = run("verify", forged, "--root", root, "--json")
    assert refused.exit_code == 1 and json.loads(refused.output)["reason"] == "NOT_SIGNED_BY_ROOT"
    assert run("show", forged, "--root", root).exit_code == 1


def test_sign_names_every_problem_of_the_source(admin, tmp_path):
    root_key, run = admin
    bad = tmp_path / "bad.toml"
    bad.write_text('[[issuer]]\niss = "https://qt.example.gov.cn"\njwks = "keys/qt.json"\ndivisions = ["33"]\n')
    result = run("sign", bad, "--key", root_key(), "--issuer", PROVINCE, "--version", 1, "--days", 1, "--out", "x")
    assert result.exit_code == 1
    assert "缺少 divisions 和 credential_types" in result.output
    wrong = run(
        "sign", source_file(tmp_path, "https://qt.example.gov.cn"), "--key", root_key(), "--issuer", PROVINCE,
        "--version", 1, "--out", "x",
    )  # fmt: skip
    assert wrong.exit_code == 2 and "请给出 --expires 或 --days 之一" in wrong.output


def test_a_bad_source_is_named_before_the_passphrase_is_asked(admin, tmp_path, monkeypatch):
    root_key, _run = admin
    monkeypatch.delenv("GOVCRED_TRUST_ROOT_PASSPHRASE")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[issuer]]\niss = "https://qt.example.gov.cn"\njwks = "keys/qt.json"\n')
    args = ["trust", "sign", bad, "--key", root_key(), "--issuer", PROVINCE, "--version", 1, "--days", 1]
    result = CliRunner().invoke(build_cli(), [*map(str, args), "--out", str(tmp_path / "list.jwt")], input="")
    assert result.exit_code == 1
    assert "缺少 divisions 和 credential_types" in result.output
    assert "根密钥口令" not in result.output  # nobody was asked for the passphrase of a list that cannot be signed
    assert not (tmp_path / "list.jwt").exists()


def test_a_verifier_adopts_only_its_roots_lists_and_never_a_lower_version(admin, sqlite_runtime, tmp_path):
    root_key, run = admin
    rt = sqlite_runtime
    rt.clock.set(utcnow())  # `trust sign` signs on the real clock
    cred = make_credential(rt)
    served = Served(issuer_app(rt))
    base = f"http://127.0.0.1:{served.port}"
    key, root = root_key(), tmp_path / "root.json"
    iss = rt.settings.issuer
    seven = signed(run, tmp_path, key, source_file(tmp_path, iss), 7, root_out=root)
    six = signed(run, tmp_path, key, source_file(tmp_path, iss, divisions=["33"]), 6)
    out_of_scope = signed(run, tmp_path, key, source_file(tmp_path, iss, divisions=["3301"]), 8)
    published = tmp_path / "published.jwt"

    def verifier():
        config = {
            "trust_list": str(published),
            "trust_root": str(root),
            "benefit_plugins": ("zhejiang_residence",),
            "data_dir": tmp_path / "verifier",
            "clock": rt.clock,
            "background_refresh": False,
            "fetch": lambda source: fetch_source(source.replace(iss, base)),
        }
        app = create_app(config)
        return app.extensions["verifier"].cache, app.extensions["verifier"].verifier

    try:
        published.write_bytes(seven.read_bytes())
        cache, v = verifier()
        assert cache.trust_list.version == 7 and v.verify_text(cred.token).valid

        published.write_bytes(six.read_bytes())  # a rollback
        problems = cache.refresh()
        assert any("低于已持有的版本 7" in p for p in problems) and cache.trust_list.version == 7
        published.write_bytes(signed(run, tmp_path, root_key("other"), source_file(tmp_path, iss), 9).read_bytes())
        assert any("不是由固定的省级根密钥签名的" in p for p in cache.refresh())
        assert cache.trust_list.version == 7 and v.verify_text(cred.token).valid

        published.write_bytes(six.read_bytes())
        cache, v = verifier()  # restarted, offered the lower version: still refused
        assert cache.trust_list.version == 7 and v.verify_text(cred.token).valid

        published.write_bytes(out_of_scope.read_bytes())
        cache.refresh()
        assert cache.trust_list.version == 8
        assert v.verify_text(cred.token).reasons == ["ISSUER_OUT_OF_SCOPE"]
    finally:
        served.stop()


def test_without_a_current_list_nothing_is_valid(admin, sqlite_runtime, tmp_path):
    import datetime as dt

    root_key, run = admin
    rt = sqlite_runtime
    rt.clock.set(utcnow())  # `trust sign` signs on the real clock
    cred = make_credential(rt)
    key, root = root_key(), tmp_path / "root.json"
    listed = signed(run, tmp_path, key, source_file(tmp_path, rt.settings.issuer), 1, root_out=root)
    app = create_app(
        {
            "trust_list": str(tmp_path / "not-published-yet.jwt"),
            "trust_root": str(root),
            "data_dir": tmp_path / "verifier",
            "clock": rt.clock,
            "background_refresh": False,
        }
    )
    state = app.extensions["verifier"]
    answer = state.verifier.verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["STATUS_UNAVAILABLE"], "TRUST_LIST_NOT_LOADED")
    (tmp_path / "not-published-yet.jwt").write_bytes(listed.read_bytes())
    state.cache.refresh()
    assert state.cache.trust_list.version == 1
    rt.clock.set(dt.datetime.fromtimestamp(state.cache.trust_list.expires_at, dt.UTC))
    answer = state.verifier.verify_text(cred.token)
    assert (answer.valid, answer.reasons, answer.detail) == (False, ["STATUS_UNAVAILABLE"], "TRUST_LIST_EXPIRED")


def test_moving_from_a_trust_file_to_the_signed_list_sets_the_old_copies_aside_in_one_line(
    admin, sqlite_runtime, tmp_path, caplog
):
    """The stored copies of a trust file's issuers were each warned about on the first start
    with --trust-list (``stored copy of list:... skipped (LIST_OF_UNTRUSTED_ISSUER)``), as if
    they were faulty: the new source simply does not list their issuer (yet)."""
    import logging

    root_key, run = admin
    rt = sqlite_runtime
    rt.clock.set(utcnow())
    cred = make_credential(rt)
    data = tmp_path / "verifier"
    before = create_app(
        {
            "trust": trust_of(publish(rt, tmp_path / "files")),
            "data_dir": data,
            "clock": rt.clock,
            "background_refresh": False,
        }
    )
    assert before.extensions["verifier"].verifier.verify_text(cred.token).valid
    root = tmp_path / "root.json"
    signed(run, tmp_path, root_key(), source_file(tmp_path, rt.settings.issuer), 1, root_out=root)
    caplog.set_level(logging.WARNING)
    create_app(
        {
            "trust_list": str(tmp_path / "not-published-yet.jwt"),
            "trust_root": str(root),
            "data_dir": data,
            "clock": rt.clock,
            "background_refresh": False,
        }
    )
    restored = [r.getMessage() for r in caplog.records if r.getMessage().startswith("restore:")]
    assert restored == [
        f"restore: 存档中 1 份状态列表的签发机关（{rt.settings.issuer}）不在当前信任来源中，未恢复；若其仍受信任，将重新获取 "
        "(skipped: issuer not in the trust source)"
    ]
    assert "LIST_OF_UNTRUSTED_ISSUER" not in caplog.text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a key\n", "不是 PEM 格式的私钥"),
        ("plain", "未加密：私钥须以口令加密保存"),
    ],
)
def test_a_key_file_of_the_wrong_form_is_named_before_the_passphrase_is_asked(tmp_path, content, problem):
    """``trust sign --key notes.txt`` asked for the root key's passphrase first, and only then
    said the file could not be decrypted."""
    import os
    import subprocess

    from cryptography.hazmat.primitives import serialization

    from tests.core.serving import GOVCRED

    if content == "plain":
        content = generate_private_key("ES256").private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    key = tmp_path / "root.pem"
    key.write_bytes(content)
    args = ["trust", "sign", source_file(tmp_path, "https://qt.example.gov.cn"), "--key", key, "--issuer", PROVINCE]
    env = {k: v for k, v in os.environ.items() if k != "GOVCRED_TRUST_ROOT_PASSPHRASE"}
    done = subprocess.run(
        [GOVCRED, *map(str, args), "--version", "1", "--days", "1", "--out", str(tmp_path / "list.jwt")],
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"错误：--key 的值无效：根密钥文件 {key} {problem}" in done.stderr, done.stderr
    assert "根密钥口令 (root key passphrase)" not in done.stdout + done.stderr  # never prompted
    assert not (tmp_path / "list.jwt").exists()
