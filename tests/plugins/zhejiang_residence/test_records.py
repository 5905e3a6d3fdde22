"""The built-in person-records source: `govcred records import` and the records hook."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from govcred.plugins.zhejiang_residence import records_store
from govcred.plugins.zhejiang_residence.configured import configured
from govcred.plugins.zhejiang_residence.records import ResidenceRecords
from govcred.plugins.zhejiang_residence.records_import import records
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

PERSON = make_id("19900307")
OTHER = make_id("19850512", seq="457")
BAD_ID = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")  # wrong check character


@dataclass
class _App:
    runtime: Any


@pytest.fixture
def run(runtime):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(records, list(args), obj=_App(runtime), catch_exceptions=False)

    return invoke


def _hook(rt, id_number):
    """The records hook as a decision calls it: inside the caller's unit of work."""
    with rt.uow(readonly=True) as uow:
        found = rt.pm.hook.govcred_person_records(
            id_number=id_number, as_of=dt.date(2026, 11, 30), settings=rt.settings, uow=uow
        )
    return found and ResidenceRecords.of(found)


def test_csv_import_feeds_the_records_hook(run, runtime, tmp_path):
    f = tmp_path / "records.csv"
    f.write_text(
        "kind,id_number,division,declared,ended,number,issuer_division,issued,status\n"
        f"registration,{PERSON},331121,2026-01-01,,,,,\n"
        f"registration,{PERSON},330102,2025-01-01,2025-12-31,,,,\n"
        f"permit,{PERSON},,,,ZJ3301002024000001,330100,2024-05-01,valid\n",
        encoding="utf-8",
    )
    result = run("import", str(f))
    assert result.exit_code == 0, result.output
    found = _hook(runtime, PERSON)
    assert found.source == "local-records"
    assert [(r.division, r.declared, r.ended) for r in found.registrations] == [
        ("330102", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("331121", dt.date(2026, 1, 1), None),
    ]
    assert found.permits[0].status == "valid" and found.permits[0].issuer_division == "330100"
    assert _hook(runtime, OTHER) is None
    with runtime.engine.connect() as conn:
        keys = conn.execute(sa.select(records_store.registrations.c.person_key)).scalars().all()
    assert PERSON not in " ".join(keys)  # rows are filed under a keyed blind index, not the number


def test_every_error_with_its_line_and_nothing_imported(run, runtime, tmp_path):
    f = tmp_path / "records.jsonl"
    lines = [
        {"kind": "registration", "id_number": PERSON, "division": "331121", "declared": "2026-01-01"},
        {"kind": "registration", "id_number": BAD_ID, "division": "33", "declared": "2026-13-01"},
        "not json",
        {
            "kind": "permit",
            "id_number": OTHER,
            "number": "",
            "issuer_division": "3301",
            "issued": "x",
            "status": "lost",
        },
        {"kind": "visa", "id_number": OTHER},
        {
            "kind": "registration",
            "id_number": OTHER,
            "division": "331121",
            "declared": "2026-05-01",
            "ended": "2026-04-01",
        },
    ]
    f.write_text("\n".join(ln if isinstance(ln, str) else json.dumps(ln) for ln in lines) + "\n", encoding="utf-8")
    result = run("import", str(f))
    assert result.exit_code == 2
    text = result.output  # stdout and stderr
    for expected in (
        "第2行：身份号码无效",
        "第2行：division",
        "第2行：declared",
        "第3行：JSON",
        "第4行：缺少居住证号码",
        "第4行：issuer_division",
        "第4行：issued",
        "第4行：status",
        "第5行：kind",
        "第6行：ended",
    ):
        assert expected in text, expected
    assert "第1行" not in text
    assert configured(runtime.pm).count_rows() == {"registrations": 0, "permits": 0}


def test_reimport_replaces_a_persons_rows(run, runtime, tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(
        json.dumps({"kind": "registration", "id_number": PERSON, "division": "331121", "declared": "2026-01-01"})
        + "\n"
        + json.dumps({"kind": "registration", "id_number": OTHER, "division": "331121", "declared": "2025-01-01"})
        + "\n",
        encoding="utf-8",
    )
    assert run("import", str(f)).exit_code == 0
    g = tmp_path / "b.jsonl"
    g.write_text(
        json.dumps(
            {
                "kind": "registration",
                "id_number": PERSON,
                "division": "331121",
                "declared": "2026-03-01",
                "ended": "2026-06-30",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    assert run("import", str(g)).exit_code == 0
    (only,) = _hook(runtime, PERSON).registrations
    assert only.declared == dt.date(2026, 3, 1) and only.ended == dt.date(2026, 6, 30)
    assert len(_hook(runtime, OTHER).registrations) == 1  # people not in the file are untouched


def test_unsupported_file_type(run, tmp_path):
    f = tmp_path / "records.xlsx"
    f.write_bytes(b"PK")
    result = run("import", str(f))
    assert result.exit_code == 2 and ".csv" in result.output


def test_records_are_read_inside_the_callers_transaction(runtime):
    plugin = configured(runtime.pm)
    with runtime.uow() as uow:
        plugin.records.replace_people(
            uow.session,
            {
                PERSON: {
                    "registrations": [{"division": "331121", "declared": dt.date(2026, 1, 1), "ended": None}],
                    "permits": [],
                }
            },
            runtime.clock.now(),
        )
        seen = runtime.pm.hook.govcred_person_records(
            id_number=PERSON, as_of=dt.date(2026, 11, 30), settings=runtime.settings, uow=uow
        )
        assert [r.division for r in ResidenceRecords.of(seen).registrations] == ["331121"]
    # never committed: no other transaction saw them, and now they are gone
    assert _hook(runtime, PERSON) is None
    assert (
        runtime.pm.hook.govcred_person_records(
            id_number=PERSON, as_of=dt.date(2026, 11, 30), settings=runtime.settings, uow=None
        )
        is None
    )


# ---- real extracts: encodings, extra columns, duplicates, oversized input (issue 13) ----------

HEADER = "kind,id_number,name,division,declared,ended,number,issuer_division,issued,status,地址\n"


def _extract(*rows: str) -> str:
    return HEADER + "".join(row + "\n" for row in rows)


def test_a_gbk_file_with_errors_lists_each_with_its_line_and_the_fixed_file_imports(run, runtime, tmp_path):
    f = tmp_path / "records.csv"
    broken = _extract(
        f"registration,{PERSON},张三,331121,2026-01-01,,,,,,青田县鹤城街道某路1号",
        f"registration,{BAD_ID},李四,331121,2026-01-01,,,,,,青田县",
        f"registration,{PERSON},张三,331121,2026-01-01,,,,,,青田县鹤城街道某路1号",
        f"permit,{OTHER},王五,,,,ZJ3301002024000009,330100,2024-05-01,valid,杭州",
        f"permit,{OTHER},王五,,,,ZJ3301002024000009,330100,2024-05-01,revoked,杭州",
    )
    f.write_bytes(broken.encode("gbk"))
    result = run("import", str(f))
    assert result.exit_code == 2
    for expected in (
        "第3行：身份号码无效",
        "第4行：与第2行完全相同",
        "第6行：居住证 ZJ3301002024000009 的状态为 revoked，与第5行的 valid 矛盾",
    ):
        assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert configured(runtime.pm).count_rows() == {"registrations": 0, "permits": 0}

    fixed = _extract(
        f"registration,{PERSON},张三,331121,2026-01-01,,,,,,青田县鹤城街道某路1号",
        f"permit,{OTHER},王五,,,,ZJ3301002024000009,330100,2024-05-01,valid,杭州",
    )
    f.write_bytes(fixed.encode("gbk"))
    result = run("import", str(f))
    assert result.exit_code == 0, result.output
    assert configured(runtime.pm).count_rows() == {"registrations": 1, "permits": 1}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le"])
def test_each_common_encoding_is_read(run, runtime, tmp_path, encoding):
    f = tmp_path / "records.csv"
    f.write_bytes(_extract(f"registration,{PERSON},张三,331121,2026-01-01,,,,,,青田县某路").encode(encoding))
    result = run("import", str(f))
    assert result.exit_code == 0, result.output
    assert _hook(runtime, PERSON).registrations[0].division == "331121"


def test_oversized_fields_and_deep_json_are_line_errors_not_tracebacks(run, runtime, tmp_path):
    big = tmp_path / "records.csv"
    big.write_text(
        _extract(
            f"registration,{PERSON},{'张' * 140_000},331121,2026-01-01,,,,,,x",
            f"registration,{PERSON},x,331121,2026-02-01,,,,,,y",
        ),
        encoding="utf-8",
    )
    result = run("import", str(big))
    assert result.exit_code == 2 and "第2行：内容过长" in result.output and "Traceback" not in result.output
    deep = tmp_path / "records.jsonl"
    deep.write_text(
        json.dumps({"kind": "registration", "id_number": PERSON, "division": "331121", "declared": "2026-01-01"})
        + "\n"
        + "[" * 5000
        + "]" * 5000
        + "\n",
        encoding="utf-8",
    )
    result = run("import", str(deep))
    assert result.exit_code == 2 and "第2行：JSON" in result.output and "Traceback" not in result.output
    assert configured(runtime.pm).count_rows() == {"registrations": 0, "permits": 0}


def test_undecodable_bytes_are_named_not_a_traceback(run, tmp_path):
    f = tmp_path / "records.csv"
    f.write_bytes(HEADER.encode() + b"\x81\x20\xff\xfe\x80\x80\n")
    result = run("import", str(f))
    assert result.exit_code == 2 and "无法识别文件编码" in result.output


def test_a_large_file_shows_a_progress_bar(runtime, tmp_path):
    f = tmp_path / "records.csv"
    rows = [
        f"registration,{make_id('19900307', seq=f'{i % 1000:03d}')},某人,331121,2026-01-{1 + i // 1000:02d},,,,,,青田县某路{i}号"
        for i in range(12_000)
    ]
    f.write_text(_extract(*rows), encoding="utf-8")
    assert f.stat().st_size > 1_000_000
    result = CliRunner().invoke(records, ["import", str(f)], obj=_App(runtime), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "检查记录" in result.output and "已导入 1000 人" in result.output
