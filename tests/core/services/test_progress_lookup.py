"""公开办件进度查询 (core/services/progress.py) on SQLite and PostgreSQL: a code to the phone on
file opens a short, audited, read-only look-up; an unknown reference is answered exactly like a
known one; a mistyped one is named at once; the sign-in codes' limits and guesses apply."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.exceptions import AuthenticationRequired, RateLimited, ValidationError
from govcred.core.orm import audit_log
from govcred.core.reference import reference_of
from govcred.core.services import decisions, intake, progress, returns
from govcred.core.testing.outbox import OutboxInspector
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records, officer, resident, upload

PHONE = "13800001234"  # the document's applicant phone (tests/core/workflow_helpers.document)


def submitted(rt):
    import_records(rt)
    holder = resident(rt, "13900000071")
    doc = document([upload(rt, holder, name="租赁合同.png")])
    doc["applicant"]["phone"] = PHONE
    return intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")


def sent_code(rt, code_id: str) -> dict:
    (message,) = [m for m in OutboxInspector(rt).messages(event_type="progress.code") if m.aggregate_id == code_id]
    return message


def test_the_code_goes_to_the_phone_on_file_and_opens_the_progress(runtime):
    app = submitted(runtime)
    ref = reference_of(app.id)
    typed = ref.lower().replace("-", " ")
    sent = progress.send_progress_code(runtime.collaborators, typed, ip="203.0.113.5")
    assert sent.reference == ref and sent.phone_masked == "138****1234"
    assert sent.message == "若编号正确，验证码已发送至预留手机"
    message = sent_code(runtime, sent.code_id)
    assert message.secrets["phone"] == PHONE
    assert (message.payload["template"], message.payload["params"]) == ("progress_code", {"ref": ref})

    lookup = progress.open_progress(runtime.collaborators, ref, message.secrets["code"], code_id=sent.code_id)
    assert lookup.application_id == app.id
    view = progress.progress_of(runtime.collaborators, lookup)
    assert view["reference"] == ref and view["state_zh"] == "已受理，审核中"
    assert view["applicant"] == {"name": app.subject_name_masked, "id_number": app.subject_id_masked}
    assert APPLICANT_ID not in str(view)
    assert [s["label"] for s in view["timeline"]] == ["提交申请", "受理"]
    assert view["deadline"]["text"].endswith("日（含）前")

    with runtime.uow(readonly=True) as uow:
        opened = uow.session.execute(
            sa.select(audit_log.c.actor, audit_log.c.object_id).where(audit_log.c.action == "progress.lookup")
        ).all()
    assert opened == [(f"progress-code:{sent.code_id}", app.id)]


def test_an_unknown_reference_is_answered_like_a_known_one_and_sends_nothing(runtime):
    unknown = reference_of("no-such-application")
    first = progress.send_progress_code(runtime.collaborators, unknown, ip="203.0.113.5")
    again = progress.send_progress_code(runtime.collaborators, unknown, ip="203.0.113.6")
    assert first.message == progress.SENT_MESSAGE and first.reference == unknown
    assert first.phone_masked == again.phone_masked  # the same made-up number at every ask
    assert len(first.phone_masked) == 11 and first.phone_masked[3:7] == "****" and first.phone_masked[0] == "1"
    assert OutboxInspector(runtime).rows(event_type="progress.code") == []
    with pytest.raises(AuthenticationRequired):
        progress.open_progress(runtime.collaborators, unknown, "123456", code_id=first.code_id)


def test_a_mistyped_reference_is_named_at_once(runtime):
    ref = reference_of("b8f1c4e2-0000-4000-8000-000000000071")
    swapped = ref[:-1] + ("0" if ref[-1] != "0" else "1")
    cases = {
        "": "请填写办件编号",
        ref[:-2]: "应为 12 位（已填 10 位）",
        ref.replace(ref[0], "U", 1): "不能含有 “U”",
        swapped: "校验位不符",
    }
    for typed, says in cases.items():
        with pytest.raises(ValidationError) as caught:
            progress.send_progress_code(runtime.collaborators, typed, ip="203.0.113.5")
        (error,) = caught.value.errors
        assert error.field == "reference" and says in error.message, (typed, error.message)


def test_a_code_is_bound_to_its_reference_guessed_five_times_at_most_and_expires(runtime, clock):
    app = submitted(runtime)
    ref = reference_of(app.id)
    sent = progress.send_progress_code(runtime.collaborators, ref, ip="203.0.113.5")
    code = sent_code(runtime, sent.code_id).secrets["code"]
    other = reference_of("another-application")
    with pytest.raises(AuthenticationRequired):  # right code, other reference: not even a guess
        progress.open_progress(runtime.collaborators, other, code, code_id=sent.code_id)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(AuthenticationRequired):
            progress.open_progress(runtime.collaborators, ref, wrong, code_id=sent.code_id)
    with pytest.raises(AuthenticationRequired):  # the sixth guess, although right
        progress.open_progress(runtime.collaborators, ref, code, code_id=sent.code_id)

    late = progress.send_progress_code(runtime.collaborators, ref, ip="203.0.113.5")
    clock.advance(minutes=5, seconds=1)
    with pytest.raises(AuthenticationRequired):
        progress.open_progress(
            runtime.collaborators, ref, sent_code(runtime, late.code_id).secrets["code"], code_id=late.code_id
        )


def test_sends_are_limited_per_reference_and_per_address(runtime):
    ref = reference_of("b8f1c4e2-0000-4000-8000-000000000072")
    for i in range(5):
        progress.send_progress_code(runtime.collaborators, ref, ip=f"203.0.113.{i}")
    with pytest.raises(RateLimited) as caught:
        progress.send_progress_code(runtime.collaborators, ref, ip="203.0.113.99")
    assert caught.value.code == "PROGRESS_RATE_LIMITED" and caught.value.details["retry_after"] > 0
    for i in range(5):  # the address has asked 0 times yet: 10 per hour
        progress.send_progress_code(runtime.collaborators, reference_of(f"app-{i}"), ip="198.51.100.1")
    for i in range(5, 10):
        progress.send_progress_code(runtime.collaborators, reference_of(f"app-{i}"), ip="198.51.100.1")
    with pytest.raises(RateLimited) as caught:
        progress.send_progress_code(runtime.collaborators, reference_of("app-10"), ip="198.51.100.1")
    assert caught.value.code == "SMS_ADDRESS_RATE_LIMITED"


def test_the_look_up_lives_ten_minutes_and_a_forged_token_is_none(runtime, clock):
    app = submitted(runtime)
    lookup = progress.ProgressLookup(app.id, "code", clock.now() + progress.LOOKUP_LIFETIME)
    token = progress.lookup_token(runtime.collaborators, lookup)
    assert progress.lookup_of_token(runtime.collaborators, token) == lookup
    assert progress.lookup_of_token(runtime.collaborators, token[:-4] + "AAAA") is None
    assert progress.lookup_of_token(runtime.collaborators, "not base64 at all!") is None
    clock.advance(seconds=progress.LOOKUP_LIFETIME.total_seconds())
    assert progress.lookup_of_token(runtime.collaborators, token) is None


def test_the_timeline_shows_a_return_with_its_items_the_restart_and_the_refusal_reasons(runtime, clock):
    app = submitted(runtime)
    reviewer = officer(runtime, "reviewer", "rev-progress")
    returns.return_for_materials(runtime.collaborators, app.id, reviewer, notes=["租赁合同照片不清晰，请重新上传"])
    lookup = progress.ProgressLookup(app.id, "code", clock.now() + progress.LOOKUP_LIFETIME)
    view = progress.progress_of(runtime.collaborators, lookup)
    assert view["state_zh"] == "待补正材料" and view["open_return"] == ["租赁合同照片不清晰，请重新上传"]
    assert view["deadline"] is None
    clock.advance(days=1)
    holder = resident(runtime, "13900000071")
    returns.resubmit_materials(runtime.collaborators, app.id, holder, {"conditions[0]": [upload(runtime, holder)]})
    view = progress.progress_of(runtime.collaborators, lookup)
    labels = [s["label"] for s in view["timeline"]]
    assert labels == ["提交申请", "受理", "退回补正（共 1 项，一次性告知）", "补正材料已提交", "补正后重新受理"]
    assert view["timeline"][2]["items"] == ["租赁合同照片不清晰，请重新上传"]
    assert view["restarted"] and "重新计算" in view["restart_basis"]

    decisions.decide(
        runtime.collaborators,
        app.id,
        approve=False,
        principal=officer(runtime, "reviewer", "rev-2"),
        officer_reasons=["居住证明与申报地址不一致"],
    )
    view = progress.progress_of(runtime.collaborators, lookup)
    assert view["state_zh"] == "不予批准" and view["timeline"][-1]["label"] == "不予批准"
    assert view["outcome"]["officer_reasons"] == ["居住证明与申报地址不一致"] and view["deadline"] is None


def test_an_approved_application_shows_its_permit_and_the_permit_status(runtime, clock):
    app = submitted(runtime)
    decisions.decide(runtime.collaborators, app.id, approve=True, principal=officer(runtime, "reviewer", "rev-ok"))
    lookup = progress.ProgressLookup(app.id, "code", clock.now() + progress.LOOKUP_LIFETIME)
    view = progress.progress_of(runtime.collaborators, lookup)
    assert view["state_zh"] == "已批准" and view["deadline"] is None and view["outcome"]["approved"]
    assert view["permit"]["status_zh"] == "有效" and view["permit"]["permit_no"]
    assert [s["label"] for s in view["timeline"]] == ["提交申请", "受理", "批准"]
