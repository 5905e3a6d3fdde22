"""``govcred credential`` and ``govcred verify`` through the real command line (CliRunner)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from govcred.core.cli import build_cli
from govcred.core.clock import utcnow
from govcred.core.qr import decode_image
from govcred.testing import TEST_ENV
from tests.core.credential_rows import make_credential


@pytest.fixture
def cli_env(sqlite_runtime, sqlite_url, monkeypatch):
    rt = sqlite_runtime
    rt.clock.set(utcnow())  # the command line runs on the real clock
    for name, value in {**TEST_ENV, "GOVCRED_DATABASE_URL": sqlite_url}.items():
        monkeypatch.setenv(name, value)
    return rt, CliRunner(), ["--data-dir", str(rt.settings.data_dir)]


def test_status_commands_show_and_qr(cli_env, tmp_path):
    rt, runner, base = cli_env
    cred = make_credential(rt)
    cli = build_cli()
    out = runner.invoke(cli, [*base, "credential", "suspend", cred.id, "--reason", "居住地址变更待核实"])
    assert out.exit_code == 0, out.output
    assert f"证件 {cred.id} 状态已变更为“已中止” (status is now suspended)" in out.output
    out = runner.invoke(cli, [*base, "credential", "reinstate", cred.id, "--reason", "核实无误"])
    assert out.exit_code == 0, out.output
    assert runner.invoke(cli, [*base, "credential", "revoke", cred.id]).exit_code == 2  # --reason is required
    out = runner.invoke(cli, [*base, "credential", "show", cred.id, "--json"])
    assert json.loads(out.output)["status"] == "valid"
    png = tmp_path / "c.png"
    assert runner.invoke(cli, [*base, "credential", "qr", cred.id, "--out", str(png)]).exit_code == 0
    assert decode_image(png.read_bytes()) == cred.token


def test_offline_verify_exit_codes(cli_env, tmp_path):
    from govcred.core.accounts.officers import Principal
    from govcred.core.services.credential_status import change_status

    rt, runner, base = cli_env
    cred = make_credential(rt)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(rt.keystore.jwks()))
    lst = tmp_path / "status-list.jwt"
    lst.write_text(rt.status_list_publisher.current(cred.status_list_id).token)
    token = tmp_path / "credential.jwt"
    token.write_text(cred.token)
    cli = build_cli()
    args = ["verify", str(token), "--jwks", str(jwks), "--status-list", str(lst), "--json"]
    out = runner.invoke(cli, [*base, *args, "--benefit", "compulsory_education"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["benefit"] == {"code": "compulsory_education", "qualifies": True}
    no_list = runner.invoke(cli, [*base, "verify", cred.token, "--jwks", str(jwks), "--json"])
    assert no_list.exit_code == 1 and json.loads(no_list.output)["reasons"] == ["STATUS_UNAVAILABLE"]
    change_status(
        rt.collaborators,
        cred.id,
        "revoked",
        reason="吊销",
        principal=Principal("officer", "r", "reviewer", factor_at=rt.clock.now()),
    )
    lst.write_text(rt.status_list_publisher.current(cred.status_list_id).token)
    revoked = runner.invoke(cli, [*base, *args])
    assert revoked.exit_code == 1 and json.loads(revoked.output)["reasons"] == ["REVOKED"]
