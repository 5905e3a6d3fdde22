"""What the verifier's operator reads when a trust file is wrong: every problem at once, in
Chinese, from ``govcred verifier serve --trust`` as typed at the shell (no traceback)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.core.serving import GOVCRED

LATIN_WORDS = re.compile(r"\b(must|needs?|unknown|cannot|required|listed|rejected|invalid)\b")


def _serve(tmp_path, trust: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVCRED_")}
    return subprocess.run(
        [GOVCRED, "--data-dir", str(tmp_path / "var"), "verifier", "serve", "--trust", trust, "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_every_mistake_of_a_trust_file_is_named_in_chinese_at_once(tmp_path):
    trust = tmp_path / "trust.toml"
    # no [[issuer]] at all, a wrong benefit_plugins and an unknown key: all three, not the first
    trust.write_text('benefit_plugins = 3\ncolour = "red"\n', encoding="utf-8")
    done = _serve(tmp_path, str(trust))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines() == [
        "配置错误 (configuration error):",
        "  - 至少需要一个签发机关条目 ([[issuer]])",
        "  - benefit_plugins 应为插件名称的列表",
        "  - 未知的顶层键：colour",
    ]
    trust.write_text('[[issuer]]\niss = "ftp://x"\nfoo = 1\n', encoding="utf-8")
    done = _serve(tmp_path, str(trust))
    assert done.stderr.splitlines()[1:] == [
        "  - 第 1 个签发机关：iss 应为 http(s) 网址",
        "  - 第 1 个签发机关：缺少 jwks（公钥集的网址或文件）",
        "  - 第 1 个签发机关：未知的键：foo",
    ]
    assert not LATIN_WORDS.search(done.stderr), done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("broken.toml", b"x = [", "不是有效的 TOML"),
        ("broken.json", b'{"issuer": ', "不是有效的 JSON，第 1 行第 12 列有误"),
        ("latin1.toml", 'iss = "Zürich"'.encode("latin-1"), "不是 UTF-8 文本"),
    ],
)
def test_an_unreadable_trust_file_says_why_in_chinese(tmp_path, name, content, why):
    trust = tmp_path / name
    trust.write_bytes(content)
    done = _serve(tmp_path, str(trust))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"配置错误 (configuration error): 无法读取信任文件 {trust}：{why}"), done.stderr


@pytest.mark.parametrize("which", ["root", "trust", "jwks"])
def test_files_nested_too_deep_are_named_not_a_traceback(tmp_path, which):
    """A RecursionError (no ValueError) ended `trust verify --root`, a trust file's load and
    `verify --jwks` in a traceback: found by fuzzing the commands with random files."""
    from govcred.core.exceptions import ConfigError
    from govcred.verifier.trust import load_trust
    from govcred.verifier.trustlist import load_root

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    if which == "root":
        with pytest.raises(ConfigError, match="嵌套层数过多"):
            load_root(deep)
    elif which == "trust":
        with pytest.raises(ConfigError, match="嵌套层数过多"):
            load_trust(deep)
    else:
        from click.testing import CliRunner

        from govcred.core.cli import build_cli

        token = tmp_path / "token.jwt"
        token.write_text("a.b.c")
        done = CliRunner().invoke(
            build_cli(), ["--data-dir", str(tmp_path / "var"), "verify", str(token), "--jwks", str(deep)]
        )
        assert done.exit_code == 2 and "嵌套层数过多" in done.output, done.output
