"""The operations commands, run as a user runs them (click's runner on the real CLI)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
import time_machine
from click.testing import CliRunner

from govcred.core.cli import AppContext, build_cli
from govcred.testing import T0, TEST_ENV


@pytest.fixture
def run(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("GOVCRED_DATABASE_URL", database_url)
    monkeypatch.setenv("GOVCRED_AUDIT_WITNESS_DIR", str(tmp_path / "audit-witness"))
    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
    data = tmp_path / "var"
    cli = build_cli()

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj=AppContext(str(data)), input=input)

    invoke.data = data
    return invoke


def test_init_creates_key_and_demo_accounts(run):
    result = run("init")
    assert result.exit_code == 0, result.output
    assert "ES256" in result.output
    logins = (run.data / "secrets" / "demo-logins.txt").read_text(encoding="utf-8").splitlines()
    assert {line.split("\t")[0] for line in logins} == {"clerk", "reviewer", "admin"}
    again = run("init")  # idempotent: no second key, no second set of accounts
    assert again.exit_code == 0
    keys = json.loads(run("keys", "list", "--json").output)
    assert len(keys) == 1 and keys[0]["active"] and keys[0]["alg"] == "ES256"


def test_keys_rotate_keeps_the_old_key_published_until_its_verify_until(run):
    # The CLI reads the system clock: time stands still here so "now" is the same for rotate and
    # export, then moves one second on.
    with time_machine.travel(T0, tick=False) as traveller:
        run("init")
        old = json.loads(run("keys", "list", "--json").output)[0]["kid"]
        assert run("keys", "rotate").exit_code == 0
        keys = json.loads(run("keys", "list", "--json").output)
        assert [(k["kid"] == old, k["active"]) for k in keys] == [(True, False), (False, True)]
        # no credential was signed with the old key: it is needed until now, and no longer
        assert keys[0]["verify_until"] == keys[0]["retired_at"] is not None
        kids = [k["kid"] for k in json.loads(run("keys", "export-jwks").output)["keys"]]
        assert kids == [old, keys[1]["kid"]]
        traveller.shift(dt.timedelta(seconds=1))
        kids = [k["kid"] for k in json.loads(run("keys", "export-jwks").output)["keys"]]
        assert kids == [keys[1]["kid"]]


def test_config_show_hides_secrets(run, monkeypatch):
    monkeypatch.setenv("GOVCRED_PUSH_SECRET", "s3cret-push-value")
    run.data.mkdir(parents=True, exist_ok=True)
    (run.data / "govcred.toml").write_text(
        '[plugins.sms_gateway]\nbackend = "dev"\nsecret = "table-sms-secret"\n', encoding="utf-8"
    )
    out = run("config", "show").output
    shown = json.loads(out)
    assert shown["environ"]["GOVCRED_PUSH_SECRET"] == "********" and "s3cret-push-value" not in out
    assert shown["plugins"]["sms_gateway"] == {"backend": "dev", "secret": "********"}
    assert "table-sms-secret" not in out
    assert shown["key_passphrase"] == "********" and TEST_ENV["GOVCRED_KEY_PASSPHRASE"] not in out
    assert shown["mode"] == "development"


def test_config_show_names_the_placeholders_production_must_replace(run):
    shown = json.loads(run("config", "show").output)
    placeholders = shown["placeholders"]
    assert set(placeholders) == {"plugins.provincial_push.authority_uscc", "plugins.provincial_push.type_code"}
    assert "11331121002503437R" in placeholders["plugins.provincial_push.authority_uscc"]
    assert "占位" in placeholders["plugins.provincial_push.type_code"]
    run.data.mkdir(parents=True, exist_ok=True)
    (run.data / "govcred.toml").write_text(
        '[plugins.zhejiang_residence]\nauthority_uscc = "11331121MB12345678"\n'
        'permit_type_code = "11330000002482172J116"\n',
        encoding="utf-8",
    )
    assert json.loads(run("config", "show").output)["placeholders"] == {}


def test_officer_add_enforces_the_password_policy(run):
    run("init", "--no-demo-accounts")
    weak = run("officer", "add", "wang", "--role", "reviewer", "--password", "short")
    assert weak.exit_code != 0
    ok = run(
        "officer", "add", "wang", "--role", "reviewer", "--name", "王审核", "--password", "correct horse battery staple"
    )
    assert ok.exit_code == 0, ok.output
    dup = run("officer", "add", "wang", "--role", "clerk", "--password", "another long passphrase")
    assert dup.exit_code != 0


def test_officer_add_names_a_bad_or_taken_username_before_asking_for_the_password(run):
    from govcred.core.exceptions import Conflict, ValidationError

    run("init", "--no-demo-accounts")
    for username, refused in (("", ValidationError), ("wang li/1", ValidationError)):
        result = run("officer", "add", username, "--role", "reviewer", input="correct horse battery staple\n" * 2)
        assert isinstance(result.exception, refused), result.output
        assert result.exception.errors[0].code == "USERNAME_INVALID"
        assert "密码" not in result.output  # nothing was asked
    asked = run("officer", "add", "wang", "--role", "reviewer", input="correct horse battery staple\n" * 2)
    assert asked.exit_code == 0, asked.output
    assert "密码 (password)" in asked.output and "再次输入密码 (repeat for confirmation)" in asked.output
    taken = run("officer", "add", "wang", "--role", "clerk", input="another long passphrase\n" * 2)
    assert isinstance(taken.exception, Conflict) and taken.exception.code == "USERNAME_TAKEN"
    assert "密码" not in taken.output


def test_audit_log_refuses_update_and_delete(runtime):
    with runtime.uow() as uow:
        uow.audit.append(actor="t", role="admin", action="x", object_type="t", object_id="1")
        uow.commit()
    runtime.checkpointer.checkpoint()
    statements = ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log")
    for statement in (*statements, "UPDATE audit_tree SET leaf_hash = 'x'", "DELETE FROM audit_tree"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with runtime.engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_production_refuses_a_development_key(run, monkeypatch, tmp_path):
    """A key made without GOVCRED_KEY_PASSPHRASE is a development key; production will not use it."""
    monkeypatch.delenv("GOVCRED_KEY_PASSPHRASE")
    run("init", "--no-demo-accounts")
    from tests.production import PRODUCTION_TOML

    (run.data / "govcred.toml").write_text(PRODUCTION_TOML, encoding="utf-8")
    monkeypatch.setenv("GOVCRED_MODE", "production")
    monkeypatch.setenv("GOVCRED_KEY_PASSPHRASE", "production passphrase of some length")
    monkeypatch.setenv("GOVCRED_ISSUER", "https://qt.example.gov.cn")
    from govcred.core.config import load_settings
    from govcred.core.exceptions import ConfigError
    from govcred.core.runtime import Runtime

    rt = Runtime.create(load_settings(run.data))
    with pytest.raises(ConfigError, match="development signing key"):
        rt.keystore.active_key()
    rt.close()
