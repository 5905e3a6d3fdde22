"""补正: return for more materials with every item at once, resubmit, the deadline restarts
from the new acceptance, an SMS at each step, the audit log holds it all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core import models
from govcred.core.exceptions import Conflict, ValidationError
from govcred.core.orm import audit_log, outbox
from govcred.core.services import decisions, intake, returns
from govcred.testing import signed_in
from tests.core.workflow_helpers import document, import_records, officer, resident, upload

PHONE = "13900000051"


def accepted_app(rt):
    import_records(rt, declared="2026-09-01")  # under six months: a blocking finding
    holder = resident(rt, PHONE)
    app = intake.submit_application(
        rt.collaborators, document([upload(rt, holder)]), principal=holder, channel="online"
    )
    return holder, app


def sms_templates(rt, app_id):
    with rt.uow(readonly=True) as uow:
        return [
            r["payload"]["template"]
            for r in uow.session.execute(
                sa.select(outbox.c.payload)
                .where(outbox.c.channel == "sms", outbox.c.aggregate_id == app_id)
                .order_by(outbox.c.created_at)
            ).mappings()
        ]


def test_a_return_round_trip_restarts_the_deadline_and_ends_in_an_approval(runtime, clock):
    rt = runtime
    holder, app = accepted_app(rt)
    first_deadline = app.deadline
    reviewer = officer(rt, "reviewer", "rv1")
    returned = returns.return_for_materials(
        rt.collaborators,
        app.id,
        reviewer,
        finding_codes=["REGISTRATION_TOO_SHORT"],
        notes=["请补交租赁合同的登记备案证明"],
    )
    assert returned.state == models.RETURNED and returned.deadline is None
    (round_,) = returns.rounds_of(rt.collaborators, app.id)
    assert [i["code"] for i in round_.items] == ["REGISTRATION_TOO_SHORT", None]
    assert round_.resubmitted_at is None

    clock.advance(days=3)
    with pytest.raises(ValidationError):  # nothing added: refused, still returned
        returns.resubmit_materials(rt.collaborators, app.id, holder, {})
    import_records(rt, declared="2026-01-01")  # meanwhile the records show the longer registration
    extra = upload(rt, holder, name="备案证明.png")
    again = returns.resubmit_materials(rt.collaborators, app.id, holder, {"conditions[0]": [extra]})
    assert again.state == models.ACCEPTED
    assert again.deadline > first_deadline and again.accepted_at == rt.clock.now()
    assert extra in again.document["conditions"][0]["attachments"]
    assert returns.rounds_of(rt.collaborators, app.id)[0].resubmitted_at is not None

    # three days on, the reviewer gives a fresh factor before deciding (as the pages ask)
    decision = decisions.decide(rt.collaborators, app.id, approve=True, principal=signed_in(reviewer, clock))
    assert decision.approved
    assert sms_templates(rt, app.id) == [
        "application_received",
        "application_returned",
        "application_resubmitted",
        "application_approved",
    ]
    with rt.uow(readonly=True) as uow:
        actions = (
            uow.session.execute(
                sa.select(audit_log.c.action).where(audit_log.c.object_id == app.id).order_by(audit_log.c.seq)
            )
            .scalars()
            .all()
        )
    assert actions[actions.index("application.returned") :][:3] == [
        "application.returned",
        "application.resubmitted",
        "application.accepted",
    ]


def test_a_return_names_at_least_one_item_and_only_this_applications_findings(runtime):
    _holder, app = accepted_app(runtime)
    reviewer = officer(runtime, "reviewer", "rv2")
    with pytest.raises(ValidationError) as nothing:
        returns.return_for_materials(runtime.collaborators, app.id, reviewer)
    assert [e.code for e in nothing.value.errors] == ["ITEMS_REQUIRED"]
    with pytest.raises(ValidationError) as unknown:
        returns.return_for_materials(runtime.collaborators, app.id, reviewer, finding_codes=["LOCAL_HUKOU"])
    assert [e.code for e in unknown.value.errors] == ["FINDING_UNKNOWN"]
    returns.return_for_materials(runtime.collaborators, app.id, reviewer, notes=["照片不清晰"])
    with pytest.raises(Conflict):  # a returned application is not decided before it comes back
        decisions.decide(runtime.collaborators, app.id, approve=True, principal=reviewer)


def test_the_deadline_restarts_from_the_re_acceptance_and_the_notices_state_it_with_its_basis(runtime, clock):
    """Accepted Monday 30 Nov (due Wed 2 Dec), returned, resubmitted Friday 4 Dec 10:00 Beijing
    time: two working days from then, the day itself not counted, is Tuesday 8 Dec."""
    import io

    import pypdf

    from govcred.core.clock import BEIJING
    from govcred.core.services.receipts import receipt_pdf
    from govcred.core.testing.outbox import OutboxInspector
    from govcred.plugins.sms_gateway.templates import render, with_contact

    holder, app = accepted_app(runtime)
    assert app.deadline.astimezone(BEIJING).date().isoformat() == "2026-12-02"
    returns.return_for_materials(
        runtime.collaborators, app.id, officer(runtime, "reviewer", "rv9"), notes=["照片不清晰"]
    )
    clock.advance(days=4)
    again = returns.resubmit_materials(
        runtime.collaborators, app.id, holder, {"conditions[0]": [upload(runtime, holder)]}
    )
    assert again.accepted_at == clock.now()
    assert again.deadline.astimezone(BEIJING).date().isoformat() == "2026-12-08"
    with runtime.uow(readonly=True) as uow:
        assert uow.applications.get(app.id).deadline == again.deadline  # stored, not only returned

    (message,) = OutboxInspector(runtime).messages(event_type="sms.resubmitted")
    assert message.payload["params"]["deadline"] == "2026年12月8日"
    template = message.payload["template"]
    sms = render(template, with_contact(template, message.payload["params"], "0578-6812345"), "【青田公安】")
    assert "补正后受理，期限重新计算，2026年12月8日（含）前办结" in sms.text and sms.segments == 1

    text = pypdf.PdfReader(io.BytesIO(receipt_pdf(runtime.collaborators, app.id, holder))).pages[0].extract_text()
    flat = text.replace(" ", "").replace("\n", "")
    assert "2026年12月8日（含）前" in flat and returns.RESTART_BASIS.replace(" ", "") in flat


def test_a_refused_return_names_the_state_in_chinese(runtime):
    """It said "申请状态为 returned，不能退回补正" (the state's code)."""
    _holder, app = accepted_app(runtime)
    reviewer = officer(runtime, "reviewer", "rv9")
    returns.return_for_materials(runtime.collaborators, app.id, reviewer, notes=["照片不清晰"])
    with pytest.raises(Conflict) as again:
        returns.return_for_materials(runtime.collaborators, app.id, reviewer, notes=["再次退回"])
    assert again.value.message == "申请状态为“待补正材料”，不能退回补正"
