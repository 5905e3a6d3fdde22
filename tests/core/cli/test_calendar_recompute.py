"""`govcred calendar import` makes the stored provisional deadlines final and says how many moved."""

from __future__ import annotations

import datetime as dt
import json

from govcred.core.clock import BEIJING
from govcred.core.services import intake
from tests.core.calendar.test_working import fake_2027_notice
from tests.core.workflow_helpers import document, resident, upload


def test_importing_next_years_notice_moves_the_provisional_deadlines(runtime, clock, govcred_cli, tmp_path):
    # accepted the day before 2027's Spring Festival, before the notice is out: without it only
    # the statutory days and their make-up days off are known, so the estimate is Friday 12 February
    clock.set(dt.datetime(2027, 2, 4, 10, 0, tzinfo=BEIJING))
    alice = resident(runtime, "13800138000")
    doc = document([upload(runtime, alice)])
    doc["commitment"]["at"] = "2027-02-04T09:30:00+08:00"
    app = intake.submit_application(runtime.collaborators, doc, principal=alice, channel="online")
    assert app.deadline_provisional is True
    assert app.deadline.astimezone(BEIJING).date() == dt.date(2027, 2, 12)

    notice = tmp_path / "cn-2027.json"
    notice.write_text(json.dumps(fake_2027_notice(), ensure_ascii=False), encoding="utf-8")
    result = govcred_cli("calendar", "import", str(notice))
    assert result.exit_code == 0, result.output
    assert "已重新计算 1 件暂定办结期限：1 件期限变动，0 件仍为暂定" in result.output

    with runtime.uow(readonly=True) as uow:
        stored = uow.applications.get(app.id)
    # the notice's break runs 5-13 February and the 14th is a Sunday: due Tuesday 16 February
    assert stored.deadline == dt.datetime(2027, 2, 16, 23, 59, 59, tzinfo=BEIJING)
    assert stored.deadline_provisional is False

    again = govcred_cli("calendar", "import", str(notice))
    assert "已重新计算 0 件暂定办结期限：0 件期限变动" in again.output  # final deadlines are left alone


def test_a_notice_nested_too_deep_is_refused_as_bad_json(govcred_cli, tmp_path):
    notice = tmp_path / "deep.json"
    notice.write_text("[" * 100_000)
    refused = govcred_cli("calendar", "import", str(notice))
    assert refused.exit_code != 0 and "BAD_JSON" in refused.output + str(refused.exception)
    assert "嵌套层数过多" in refused.output + str(refused.exception)
