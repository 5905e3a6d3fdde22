"""``govcred report`` prints the hand-counted figures, exports masked spreadsheets, and names
every bad option at once."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tests.core.report_fixture import EXPECTED, EXPECTED_WINDOW, FIRST, LAST, seed


@pytest.fixture
def seeded(runtime, clock):
    return seed(runtime, clock)


def test_report_json_is_the_hand_count(govcred_cli, seeded):
    result = govcred_cli("report", "--from", FIRST, "--to", LAST, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == EXPECTED
    window = govcred_cli("report", "--from", FIRST, "--to", LAST, "--channel", "window", "--json")
    assert json.loads(window.output) == EXPECTED_WINDOW


def test_report_text_reads_in_chinese(govcred_cli, seeded):
    out = govcred_cli("report", "--from", FIRST, "--to", LAST).output
    assert "统计期间 2026-09-28 至 2026-10-12" in out
    assert "按期办结 2，超期办结 2（按期率 50%）" in out and "在办已超期 1，今日到期 1" in out
    assert "中位数 2，90% 分位 8" in out and "平均 3.5 分" in out


def test_report_exports_masked_csv_and_xlsx(govcred_cli, seeded, runtime, tmp_path):
    csv_path, xlsx_path = tmp_path / "apps.csv", tmp_path / "apps.xlsx"
    result = govcred_cli("report", "--from", FIRST, "--to", LAST, "--csv", csv_path, "--xlsx", xlsx_path, "--json")
    assert result.exit_code == 0, result.output
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["申请编号", "受理渠道", "状态"] and len(rows) == 1 + 6
    sheet = load_workbook(xlsx_path).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == rows[0] and len(cells) == 7
    states = sorted(r[2] for r in rows[1:])
    assert states == sorted(["已批准", "不予办理", "不予办理", "已受理", "已受理", "已撤回"])
    for row in rows[1:]:
        name, id_masked = row[3], row[4]
        assert "*" in name and id_masked.count("*") == 10  # masked, never the full values
    assert any(r[10] == "NO_QUALIFYING_CONDITION REGISTRATION_TOO_SHORT" for r in rows[1:])


def test_bad_options_are_named_at_once(tmp_path, capsys):
    from govcred.core.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(tmp_path), "report", "--from", "2026-02-30", "--to", "x", "--channel", "fax"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "from: from 不是有效日期" in err and "to: to 不是有效日期" in err and "channel:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--from", "2026-10-01", "--to", "2026-10-31", "--xlsx", "{blocked}/report.xlsx"],
        ["report", "--from", "2026-10-01", "--to", "2026-10-31", "--csv", "{blocked}/report.csv"],
        ["db", "backup", "{blocked}/backup"],
    ],
)
def test_a_path_that_cannot_be_written_is_named_without_a_traceback(tmp_path, capsys, argv):
    from govcred.core.cli import main

    data_dir = str(tmp_path / "data")
    main(["--data-dir", data_dir, "init"])
    blocked = tmp_path / "a-file"  # a file where the operator meant a directory
    blocked.write_text("")
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", data_dir, *(a.format(blocked=blocked) for a in argv)])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"错误 [FILE_ERROR]: 无法访问 {blocked}/" in err and "不是目录" in err
    assert "Traceback" not in err
    assert blocked.read_text() == ""
