"""`govcred calendar` driven through click's runner on the group itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from govcred.core.cli.calendar import calendar
from govcred.core.config import Settings
from tests.core.calendar.test_working import fake_2027_notice


@dataclass
class _App:
    """What the root group puts on the context: an object with ``settings``."""

    settings: Settings


@pytest.fixture()
def run(tmp_path):
    runner = CliRunner()
    app = _App(settings=Settings(data_dir=tmp_path / "data"))

    def invoke(*args: str):
        return runner.invoke(calendar, list(args), obj=app, catch_exceptions=False)

    return invoke


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_deadline_json_worked_example(run):
    result = run("deadline", "--accepted", "2026-09-18T10:00:00+08:00", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "deadline": "2026-09-21T23:59:59+08:00",
        "provisional": False,
        "due_date": "2026-09-21",
    }


def test_deadline_accepts_utc_and_naive_beijing_times(run):
    # 2026-02-12 17:00Z is Friday 2/13 01:00 in Beijing: due Tuesday 2/24.
    utc = json.loads(run("deadline", "--accepted", "2026-02-12T17:00:00Z", "--json").stdout)
    assert utc["due_date"] == "2026-02-24"
    naive = json.loads(run("deadline", "--accepted", "2026-02-12T09:00", "--json").stdout)
    assert naive["due_date"] == "2026-02-14"
    three = json.loads(run("deadline", "--accepted", "2026-09-30", "--days", "3", "--json").stdout)
    assert three["due_date"] == "2026-10-10"


def test_deadline_human_output_is_chinese_and_flags_provisional(run):
    result = run("deadline", "--accepted", "2026-12-30T10:00:00+08:00")
    assert result.exit_code == 0
    assert "办结期限：2027年1月4日（星期一） 23:59:59（北京时间）" in result.stdout
    assert "暂定" in result.stdout
    assert "2027" in result.stderr and "govcred calendar import" in result.stderr


def test_deadline_rejects_bad_input(run):
    result = run("deadline", "--accepted", "next tuesday", "--json")
    assert result.exit_code == 2
    assert "ISO-8601" in result.stderr
    assert run("deadline", "--accepted", "2026-09-18", "--days", "0").exit_code == 2
    too_far = run("deadline", "--accepted", "2099-12-31T10:00:00+08:00")
    assert too_far.exit_code == 2 and "2100" in too_far.stderr


def test_import_then_deadline_is_final_and_show_lists_it(run, tmp_path):
    notice = _write(tmp_path / "notice-2027.json", fake_2027_notice())
    result = run("import", str(notice))
    assert result.exit_code == 0, result.output
    assert "已导入 2027 年节假日安排" in result.stdout
    assert "国务院办公厅关于2027年部分节假日安排的通知" in result.stdout
    assert "调休上班日：2027-02-20、2027-09-26、2027-10-09" in result.stdout
    assert (tmp_path / "data" / "calendar" / "cn-2027.json").is_file()

    deadline = json.loads(run("deadline", "--accepted", "2026-12-30T10:00:00+08:00", "--json").stdout)
    assert deadline == {"deadline": "2027-01-04T23:59:59+08:00", "provisional": False, "due_date": "2027-01-04"}

    shown = run("show").stdout
    for year in ("2024", "2025", "2026", "2027"):
        assert f"{year}  《国务院办公厅关于{year}年部分节假日安排的通知》" in shown
    assert "国办发明电〔2025〕7号" in shown
    assert "[内置]" in shown and "[导入：" in shown
    assert "覆盖至：2027-12-31" in shown


def test_import_replacing_a_built_in_year_says_so(run, tmp_path):
    from govcred.core.calendar.working import load_calendar

    document = load_calendar().tables[2026].as_dict()
    result = run("import", str(_write(tmp_path / "n.json", document)))
    assert result.exit_code == 0
    assert "已替换 2026 年节假日安排（原为内置数据）" in result.stdout


def test_import_reports_every_error_and_exits_2(run, tmp_path):
    bad = fake_2027_notice()
    bad["source_notice"]["url"] = "gov.cn/notice"
    bad["holidays"][0]["days"][0] = "2027-13-01"
    bad["makeup_workdays"].append("2027-03-03")
    result = run("import", str(_write(tmp_path / "bad.json", bad)))
    assert result.exit_code == 2
    assert "共 3 处错误" in result.stderr
    assert "source_notice.url:" in result.stderr
    assert "holidays[0].days[0]:" in result.stderr
    assert "makeup_workdays[3]:" in result.stderr
    assert not (tmp_path / "data" / "calendar").exists()


def test_show_one_year_in_detail(run):
    result = run("show", "--year", "2026")
    assert result.exit_code == 0
    assert "春节：2026-02-15、2026-02-16" in result.stdout
    assert "调休上班日：2026-01-04、2026-02-14、2026-02-28、2026-05-09、2026-09-20、2026-10-10" in result.stdout
    year_lines = [line for line in result.stdout.splitlines() if line[:4].isdigit()]
    assert len(year_lines) == 1 and year_lines[0].startswith("2026  ")
    missing = run("show", "--year", "2031")
    assert missing.exit_code == 1 and "2031 年尚无节假日安排" in missing.stderr


def test_group_needs_settings_on_the_context():
    result = CliRunner().invoke(calendar, ["show"], obj=None)
    assert result.exit_code == 2
    assert "数据目录" in result.stderr
