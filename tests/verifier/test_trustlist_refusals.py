"""Why a signed trust list is refused, each its own reason in `govcred trust verify` and at the
verifier's start-up: a list cut short is MALFORMED (it used to read as "not signed by the
root"), a list another key signed is NOT_SIGNED_BY_ROOT, and a pinned root its own file lists
as revoked is ROOT_REVOKED (it used to read as "malformed")."""

from __future__ import annotations

import json
import logging

import pytest

from govcred.core.clock import utcnow
from govcred.core.exceptions import ConfigError
from govcred.core.keys import revocation_entry
from govcred.verifier.app import create_app
from tests.verifier.test_trustlist import admin, signed, source_file  # noqa: F401  (admin: the fixture)

QT = "https://qt.example.gov.cn"


@pytest.fixture
def published(admin, tmp_path):
    """A list signed by the root, the pinned root file, and the runner."""
    root_key, run = admin
    root = tmp_path / "root.json"
    listed = signed(run, tmp_path, root_key(), source_file(tmp_path, QT), 3, root_out=root)
    return listed, root, root_key, run


def refusal(run, listed, root) -> tuple[str, str, str]:
    """(reason, message) of `trust verify --json`, and the plain output's line."""
    as_json = run("verify", listed, "--root", root, "--json")
    plain = run("verify", listed, "--root", root)
    assert as_json.exit_code == plain.exit_code == 1, as_json.output
    answer = json.loads(as_json.output)
    assert answer["valid"] is False
    return answer["reason"], answer["message"], plain.output


def test_a_list_cut_short_is_malformed_not_a_forgery(published, tmp_path):
    listed, root, _root_key, run = published
    token = listed.read_text().strip()
    for name, body in {
        "cut": token[:-20],  # the download stopped before the signature's end
        "page": "<html>502 Bad Gateway</html>",
        "empty": "",
    }.items():
        broken = tmp_path / f"{name}.jwt"
        broken.write_text(body)
        reason, message, plain = refusal(run, broken, root)
        assert reason == "MALFORMED", (name, message)
        assert "信任列表格式错误" in message and "malformed trust list" in message
        assert "拒绝 (refused) MALFORMED" in plain and "根密钥" not in message


def test_a_list_another_key_signed_is_not_signed_by_the_root(published, tmp_path):
    _listed, root, root_key, run = published
    forged = signed(run, tmp_path, root_key("stolen"), source_file(tmp_path, QT), 4, name="forged.jwt")
    reason, message, plain = refusal(run, forged, root)
    assert reason == "NOT_SIGNED_BY_ROOT"
    assert "不是由固定的省级根密钥签名" in message and "not signed by the pinned root" in message
    assert "格式错误" not in message and "拒绝 (refused) NOT_SIGNED_BY_ROOT" in plain


def _revoke_root(root, *, keep_key: bool) -> str:
    document = json.loads(root.read_text())
    (kid,) = [k["kid"] for k in document["keys"]]
    document["revoked_keys"] = [revocation_entry(kid, utcnow())]
    if not keep_key:
        document["keys"] = []
    root.write_text(json.dumps(document))
    return kid


@pytest.mark.parametrize("keep_key", [True, False], ids=["listed-revoked", "only-revoked"])
def test_a_pinned_root_listed_as_revoked_says_so(published, keep_key):
    listed, root, _root_key, run = published
    kid = _revoke_root(root, keep_key=keep_key)
    reason, message, plain = refusal(run, listed, root)
    assert reason == "ROOT_REVOKED"
    assert f"固定的省级根密钥 {kid} 已被列为吊销" in message and "pin the province's new root" in message
    assert "格式错误" not in message and "拒绝 (refused) ROOT_REVOKED" in plain


def _verifier(tmp_path, listed, root):
    return create_app(
        {
            "trust_list": str(listed),
            "trust_root": str(root),
            "data_dir": tmp_path / "verifier",
            "background_refresh": False,
        }
    )


def test_the_verifier_start_up_names_each_reason(published, tmp_path, caplog):
    listed, root, root_key, run = published
    cut = tmp_path / "cut.jwt"
    cut.write_text(listed.read_text().strip()[:-20])
    forged = signed(run, tmp_path, root_key("stolen"), source_file(tmp_path, QT), 4, name="forged.jwt")
    for source, reason in ((cut, "MALFORMED"), (forged, "NOT_SIGNED_BY_ROOT")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="govcred"):
            app = _verifier(tmp_path / reason, source, root)
        assert app.extensions["verifier"].cache.trust_list is None  # it starts, holding no list
        warned = " ".join(r.getMessage() for r in caplog.records)
        assert f"not adopted ({reason}: " in warned, warned

    # listed as revoked beside its key: it starts, and says why no list is adopted
    _revoke_root(root, keep_key=True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="govcred"):
        app = _verifier(tmp_path / "revoked", listed, root)
    assert app.extensions["verifier"].cache.trust_list is None
    assert "not adopted (ROOT_REVOKED: " in " ".join(r.getMessage() for r in caplog.records)
    # a root file with no key left but revoked ones is a configuration to fix: refused by name
    _revoke_root(root, keep_key=False)
    with pytest.raises(ConfigError, match="ROOT_REVOKED: 固定的省级根密钥"):
        _verifier(tmp_path / "only-revoked", listed, root)
