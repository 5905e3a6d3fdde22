"""Click's own refusals reach the operator in Chinese, through ``main`` as the console script
runs it: a missing file, a value of the wrong type, an unknown option or command, a missing
argument. Each names what is wrong, exits 2, and keeps click's English in brackets."""

from __future__ import annotations

import pytest

from govcred.core.cli import main


def _refusal(capsys, *argv) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Error:" not in captured.err
    return exited.value.code, captured.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["records", "import", "/nonexistent/records.csv"], "FILE 的值无效：文件 /nonexistent/records.csv 不存在"),
        (["records", "import"], "缺少参数 FILE"),
        (["serve", "--port", "99999"], "--port 的值无效：99999 不在允许的范围 1<=x<=65535 内"),
        (["serve", "--port", "eighty"], "--port 的值无效：“eighty”不是有效的整数"),
        (["keys", "list", "--jso"], "没有选项 --jso，是否想用 --json？"),
        (["records", "imprt"], "没有命令 imprt，是否想用 import？"),
        (["keys", "list", "surplus"], "多余的参数：surplus"),
        (["report", "--from", "2026-01-01", "--to"], "选项 --to 需要一个值"),
        (["trust", "verify", "list.jwt", "--root", "/"], "--root 的值无效：/ 是目录，应为文件"),
    ],
)
def test_click_refusal_is_chinese(capsys, tmp_path, argv, expected):
    status, err = _refusal(capsys, "--data-dir", str(tmp_path / "var"), *argv)
    assert status == 2
    assert f"错误：{expected}" in err, err
    assert "(" in err.splitlines()[-1]  # click's English original follows in brackets


def test_usage_error_shows_usage_and_help_in_chinese(capsys, tmp_path):
    status, err = _refusal(capsys, "--data-dir", str(tmp_path / "var"), "records", "import")
    assert status == 2
    assert err.splitlines()[:2] == [
        "用法 (usage): govcred records import [OPTIONS] FILE",
        "查看帮助 (help): govcred records import -h",
    ]


def test_govcreds_own_chinese_usage_error_gets_no_english_added(capsys, tmp_path):
    status, err = _refusal(
        capsys, "--data-dir", str(tmp_path / "var"), "calendar", "deadline", "--accepted", "yesterday"
    )
    assert status == 2
    assert (
        err.splitlines()[-1]
        == "错误：--accepted 的值无效：“yesterday”不是 ISO-8601 时间，例如 2026-09-18T10:30:00+08:00"
    )
