"""``govcred keys revoke KID --compromised --reason ...`` as an administrator runs it."""

from __future__ import annotations

import json

import pytest
import time_machine

from govcred.core.cli import main
from govcred.testing import T0
from tests.core.cli.test_cli_admin import run  # noqa: F401  (the fixture)


def _kids(run):
    return {k["kid"]: k for k in json.loads(run("keys", "list", "--json").output)}


def test_revoke_compromised_key_replaces_it_and_lists_it_revoked(run):
    with time_machine.travel(T0, tick=False):
        run("init")
        (kid,) = _kids(run)
        result = run("keys", "revoke", kid, "--compromised", "--reason", "私钥随旧服务器外借", "--json")
        assert result.exit_code == 0, result.output
        done = json.loads(result.output)
        assert done["kid"] == kid and done["reason"] == "私钥随旧服务器外借" and done["credentials_affected"] == 0
        assert done["revoked_at"] == str(T0) and done["replaced_by"] not in (None, kid)

        keys = _kids(run)
        assert keys[kid]["revoked_at"] == str(T0) and keys[kid]["revocation_reason"] == "私钥随旧服务器外借"
        assert keys[done["replaced_by"]]["active"] and not keys[kid]["active"]
        jwks = json.loads(run("keys", "export-jwks").output)
        assert [k["kid"] for k in jwks["keys"]] == [done["replaced_by"]]
        assert jwks["revoked_keys"] == [{"kid": kid, "revoked_at": int(T0.timestamp()), "reason": "compromised"}]
        listing = run("keys", "list").output
        assert f"{kid}  ES256  REVOKED" in listing and "私钥随旧服务器外借" in listing


def test_revoke_says_what_it_did_in_words(run):
    run("init")
    (kid,) = _kids(run)
    result = run("keys", "revoke", kid, "--compromised", "--reason", "泄露")
    assert result.exit_code == 0, result.output
    assert f"已吊销签名密钥 (revoked) {kid}" in result.output and "新签名密钥 (new signing key)" in result.output
    assert "0 张有效证件将被核验方拒绝 (KEY_REVOKED)" in result.output


def test_revoke_without_compromised_or_reason_is_a_usage_error_and_changes_nothing(run):
    run("init")
    (kid,) = _kids(run)
    plain = run("keys", "revoke", kid, "--reason", "换钥")
    assert plain.exit_code == 2 and "--compromised" in plain.output and "keys rotate" in plain.output
    no_reason = run("keys", "revoke", kid, "--compromised")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    assert _kids(run)[kid]["active"] and _kids(run)[kid]["revoked_at"] is None


def test_revoke_refusals_are_messages_not_tracebacks(run, capsys):
    run("init")
    (kid,) = _kids(run)
    data = ["--data-dir", str(run.data)]

    def refused(*args):
        with pytest.raises(SystemExit) as exited:
            main([*data, "keys", "revoke", *args])
        return exited.value.code, capsys.readouterr().err

    code, err = refused("NoSuchKid00", "--compromised", "--reason", "泄露")
    assert code == 1 and "[KEY_NOT_FOUND]" in err and "NoSuchKid00" in err and "Traceback" not in err
    code, err = refused(kid, "--compromised", "--reason", "  ")
    assert code == 2 and "reason" in err and "[REQUIRED]" in err
    assert main([*data, "keys", "revoke", kid, "--compromised", "--reason", "泄露"]) is None
    capsys.readouterr()
    code, err = refused(kid, "--compromised", "--reason", "泄露")
    assert code == 1 and "[KEY_ALREADY_REVOKED]" in err


def test_revoke_reissues_the_holders_permits_or_names_the_command_that_does(run, tmp_path):
    assert run("init", "--no-demo-accounts").exit_code == 0
    demo = run("demo", "--out", str(tmp_path / "demo"), "--json")  # one issued permit
    assert demo.exit_code == 0, demo.output
    (first,) = _kids(run)

    # --no-reissue: the revocation alone, and the exact follow-up
    out = json.loads(run("keys", "revoke", first, "--compromised", "--reason", "泄露", "--no-reissue", "--json").output)
    assert out["credentials_affected"] == 1 and out["reissued"] is None
    assert out["follow_up"] == f"govcred credential reissue --signed-by {first}"
    done = json.loads(run("credential", "reissue", "--signed-by", first, "--json").output)
    second = out["replaced_by"]
    assert (done["reissued"], done["signed_by"], done["signed_with"]) == (1, first, second)
    assert json.loads(run("credential", "reissue", "--signed-by", first, "--json").output)["reissued"] == 0

    # by default the revocation re-issues at once, and says so
    text = run("keys", "revoke", second, "--compromised", "--reason", "入侵")
    assert text.exit_code == 0, text.output
    assert "1 张有效证件将被核验方拒绝 (KEY_REVOKED)" in text.output
    assert f"govcred credential reissue --signed-by {second}" in text.output  # should it be interrupted
    assert "重新签发 1 张证件" in text.output
    refused = run("credential", "reissue", "--signed-by", _active_kid(run))
    assert refused.exit_code != 0


def _active_kid(run) -> str:
    (kid,) = [k for k, info in _kids(run).items() if info["active"]]
    return kid


def test_keys_list_help_names_revoked_keys_too(run):
    """Its help said "(active and retired)" while it lists revoked keys too (README: keys list)."""
    assert "revoked" in run("keys", "list", "--help").output
