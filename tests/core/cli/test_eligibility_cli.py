"""`govcred eligibility check`: dry-run decisions with exit status 0 / 1 / 2."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from govcred.core.cli.eligibility import eligibility
from govcred.core.config import Settings
from govcred.testing import make_pm
from tests.plugins.zhejiang_residence.zj_fixtures import base_document


@dataclass
class _App:
    settings: Settings
    pm: Any


@pytest.fixture
def run(tmp_path):
    settings = Settings(data_dir=tmp_path)
    app = _App(settings, make_pm(settings))

    def invoke(document, *args: str):
        path = tmp_path / "application.json"
        path.write_text(
            document if isinstance(document, str) else json.dumps(document, ensure_ascii=False), encoding="utf-8"
        )
        return CliRunner().invoke(eligibility, ["check", str(path), *args], obj=app, catch_exceptions=False)

    return invoke


def test_eligible_document_exits_0(run):
    r = run(base_document(), "--as-of", "2027-03-01", "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["eligible"] is True and body["path"] == "registration_recognition"
    assert all(f["severity"] != "blocking" for f in body["findings"])


def test_too_early_is_not_eligible_with_the_reason(run):
    # six months from 2026-08-31 end on 2027-02-28: on that day the rule is not met yet
    r = run(base_document(), "--as-of", "2027-02-28", "--json")
    assert r.exit_code == 1
    assert [f["code"] for f in json.loads(r.output)["findings"] if f["severity"] == "blocking"] == [
        "REGISTRATION_TOO_SHORT"
    ]


def test_four_failing_rules_are_all_reported(run):
    doc = base_document(
        residence={"division": "330102", "address": "杭州"},
        commitment={"accepted": False, "at": None},
        registrations=[],
    )
    doc["applicant"]["hukou_division"] = "331121"
    r = run(doc, "--as-of", "2027-03-01", "--json")
    assert r.exit_code == 1
    codes = {f["code"] for f in json.loads(r.output)["findings"] if f["severity"] == "blocking"}
    assert codes == {"LOCAL_HUKOU", "COMMITMENT_MISSING", "RESIDENCE_OUTSIDE_COUNTY", "REGISTRATION_NOT_CURRENT"}


def test_invalid_document_exits_2_with_every_error(run):
    doc = base_document()
    doc["applicant"]["phone"] = "12"
    del doc["residence"]
    r = run(doc, "--json")
    assert r.exit_code == 2
    fields = {e["field"] for e in json.loads(r.output)["errors"]}
    assert {"applicant.phone", "residence"} <= fields
    assert run("{not json").exit_code == 2
    assert run({"schema": "other@1"}).exit_code == 2


def test_human_output_in_chinese(run):
    r = run(base_document(), "--as-of", "2027-02-28")
    assert r.exit_code == 1 and "不符合条件" in r.output and "REGISTRATION_TOO_SHORT" in r.output
    assert run(base_document(), "--as-of", "28/02/2027").exit_code == 2


def test_console_entry_point_returns_the_exit_status(tmp_path, monkeypatch):
    """Through core.cli.main (standalone_mode=False): the statuses reach the shell."""
    from govcred.core.cli import main

    monkeypatch.setenv("GOVCRED_DATA_DIR", str(tmp_path / "var"))
    path = tmp_path / "application.json"
    path.write_text(json.dumps(base_document(), ensure_ascii=False), encoding="utf-8")
    for as_of, status in (("2027-02-28", 1), ("2027-03-01", None)):
        if status is None:
            main(["eligibility", "check", str(path), "--as-of", as_of])
            continue
        with pytest.raises(SystemExit) as exited:
            main(["eligibility", "check", str(path), "--as-of", as_of])
        assert exited.value.code == status


def test_json_nested_too_deep_is_an_invalid_file_not_a_traceback(run):
    """A RecursionError (no ValueError) went past the JSON check: found by fuzzing the CLI."""
    r = run("[" * 100_000, "--json")
    assert r.exit_code == 2
    (error,) = json.loads(r.output)["errors"]
    assert error["code"] == "JSON_INVALID" and "嵌套层数过多" in error["message"]
