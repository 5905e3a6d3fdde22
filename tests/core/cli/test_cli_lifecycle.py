"""``govcred lifecycle`` run as an operator runs it (click's runner on the real CLI, real clock)."""

from __future__ import annotations

import json

import pytest

from govcred.core.clock import FixedClock
from govcred.testing import make_runtime, make_settings
from tests.core.cli.test_cli_admin import run as cli  # noqa: F401 -- the CLI runner fixture, shared
from tests.core.permits import beijing, issue_permit


@pytest.fixture
def run(cli, database_url):
    """The shared CLI runner on an initialised data directory (demo clerk, reviewer, admin)."""
    assert cli("init").exit_code == 0
    cli.database_url = database_url
    return cli


def _lapsed_permit(run):
    """A permit issued in November 2025: its first anniversary has passed by the real today."""
    rt = make_runtime(make_settings(run.data, run.database_url), FixedClock(beijing(2025, 11, 1)))
    try:
        return issue_permit(rt)
    finally:
        rt.close()


def test_sweep_suspends_and_a_late_endorsement_at_the_window_reinstates(run):
    permit = _lapsed_permit(run)
    swept = run("lifecycle", "sweep", "--json")
    assert swept.exit_code == 0, swept.output
    report = json.loads(swept.output)
    assert report["suspended"] == 1 and report["suspended_permits"] == [permit.permit_no]
    assert json.loads(run("lifecycle", "sweep", "--json").output)["suspended"] == 0

    shown = run("lifecycle", "show", permit.permit_no, "--as", "clerk", "--json")
    assert json.loads(shown.output)["status"] == "suspended"

    endorsed = run("lifecycle", "endorse", permit.permit_no, "--as", "clerk", "--json")
    assert endorsed.exit_code == 0, endorsed.output
    result = json.loads(endorsed.output)
    assert result["late"] and result["version"] == 2 and result["residence_start"] is not None

    text = run("lifecycle", "show", permit.permit_no, "--as", "clerk")
    assert "有效" in text.output and "签注办理期为" in text.output and "v1" in text.output


def test_reminders_replace_and_cancel_from_the_console(run):
    permit = _lapsed_permit(run)
    run("lifecycle", "endorse", permit.permit_no, "--as", "clerk")
    chosen = run("lifecycle", "reminders", permit.permit_no, "--as", "clerk", "--set", "week_before,after_suspension")
    assert chosen.exit_code == 0, chosen.output
    assert "[x] week_before" in chosen.output and "[ ] endorsement_due" in chosen.output
    bad = run("lifecycle", "reminders", permit.permit_no, "--as", "clerk", "--set", "hourly")
    assert bad.exit_code != 0

    replaced = run("lifecycle", "replace", permit.permit_no, "--as", "clerk", "--reason", "lost")
    assert replaced.exit_code == 0, replaced.output
    new_no = replaced.output.split("新证号 ")[1].split("，")[0]
    assert new_no != permit.permit_no
    # the replaced permit's refusals name its status in Chinese (they said "证件状态为 replaced")
    for argv, refusal in (
        (["endorse", permit.permit_no, "--as", "clerk"], "证件状态为“已换领”，不能办理签注"),
        (["replace", permit.permit_no, "--as", "clerk", "--reason", "lost"], "证件状态为“已换领”，不能换领、补领"),
        (["cancel", permit.permit_no, "--as", "reviewer", "--reason", "left_county"], "证件状态为“已换领”，不能注销"),
    ):
        old = run("lifecycle", *argv)
        assert old.exit_code != 0 and refusal in f"{old.output}{old.exception}", (old.output, old.exception)
    refused = run("lifecycle", "cancel", new_no, "--as", "clerk", "--reason", "left_county")
    assert refused.exit_code != 0  # a clerk may not cancel
    cancelled = run("lifecycle", "cancel", new_no, "--as", "reviewer", "--reason", "left_county", "--note", "迁往温州")
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(run("lifecycle", "show", new_no, "--as", "admin", "--json").output)["status"] == "cancelled"


def test_as_of_must_be_a_date(run):
    result = run("lifecycle", "sweep", "--as-of", "next tuesday")
    assert result.exit_code == 2 and "--as-of" in result.output


@pytest.mark.parametrize("content", ["{bad", "[" * 100_000])
def test_a_conditions_file_that_is_no_json_is_named_not_a_traceback(run, tmp_path, content):
    """``lifecycle endorse --conditions`` read the file with no check: a JSONDecodeError traceback."""
    bad = tmp_path / "conditions.json"
    bad.write_text(content)
    refused = run("lifecycle", "endorse", "ZJ3311212025000001", "--as", "clerk", "--conditions", str(bad))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "--conditions" in refused.output and "无法作为条件列表 (JSON) 读取" in refused.output
