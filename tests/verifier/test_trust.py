"""Trust files: several issuers, TOML or JSON, every problem named at once."""

from __future__ import annotations

import json

import pytest

from govcred.core.exceptions import ConfigError
from govcred.verifier.trust import load_trust


def test_toml_and_json_trust_files_with_several_counties(tmp_path):
    toml = tmp_path / "trust.toml"
    toml.write_text(
        'benefit_plugins = ["zhejiang_residence"]\n'
        '[[issuer]]\niss = "https://qt.example.gov.cn"\nname = "青田县公安局"\n'
        'jwks = "https://qt.example.gov.cn/.well-known/jwks.json"\nstatus_lists = "https://qt.example.gov.cn/status"\n'
        '[[issuer]]\niss = "https://ls.example.gov.cn"\njwks = "keys/ls.json"\nstatus_list_files = ["ls-1.jwt"]\n'
    )
    trust = load_trust(toml)
    assert [i.iss for i in trust.issuers] == ["https://qt.example.gov.cn", "https://ls.example.gov.cn"]
    assert trust.issuers[1].jwks == str(tmp_path / "keys" / "ls.json")
    assert trust.issuers[1].status_list_files == (str(tmp_path / "ls-1.jwt"),)
    assert trust.benefit_plugins == ("zhejiang_residence",)
    as_json = tmp_path / "trust.json"
    as_json.write_text(json.dumps({"issuer": [{"iss": "https://qt.example.gov.cn", "jwks": "/etc/qt.json"}]}))
    assert load_trust(as_json).issuers[0].jwks == "/etc/qt.json"


def test_every_problem_is_named(tmp_path):
    bad = tmp_path / "trust.toml"
    bad.write_text(
        'extra = 1\n[[issuer]]\niss = "qt"\nstatus_lists = "ftp://x"\ncolour = "red"\n'
        '[[issuer]]\niss = "https://a.example"\njwks = "a.json"\n'
        '[[issuer]]\niss = "https://a.example"\njwks = "b.json"\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_trust(bad)
    problems = exc.value.details["problems"]
    text = " | ".join(problems)
    for expected in (
        "第 1 个签发机关：iss 应为 http(s) 网址",
        "第 1 个签发机关：缺少 jwks",
        "status_lists 应为 http(s) 网址",
        "未知的键：colour",
        "第 3 个签发机关：iss https://a.example 重复列出",
        "未知的顶层键：extra",
    ):
        assert expected in text


def test_an_issuer_only_owns_lists_below_its_url():
    from govcred.verifier.trust import TrustedIssuer

    qt = TrustedIssuer("https://qt.example.gov.cn", "青田", "jwks.json")
    assert qt.owns_list("https://qt.example.gov.cn/status/1")
    for uri in (
        "https://qt.example.gov.cn.evil.example/status/1",
        "https://ls.example.gov.cn/status/1",
        "http://127.0.0.1:9/status/1",
        None,
        "https://qt.example.gov.cn/" + "x" * 600,
    ):
        assert not qt.owns_list(uri)
