"""Templates, rendering, segment counting, shortened rejection reasons and phone masking."""

from __future__ import annotations

import pytest

from govcred.core.exceptions import PermanentDeliveryError
from govcred.core.models import BLOCKING, Finding
from govcred.plugins.sms_gateway.phone import is_mobile, mask_phone
from govcred.plugins.sms_gateway.reasons import SHORT_TITLES, reasons_text, short_title
from govcred.plugins.sms_gateway.templates import (
    MAX_VARIABLE,
    TEMPLATES,
    render,
    segment_count,
    template_variables,
    with_contact,
)

SIGNATURE = "【青田公安】"
CONTACT = "浙里办“居住证”"


@pytest.mark.parametrize(
    "length, segments", [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (160, 3), (201, 3), (202, 4)]
)
def test_segment_count_at_the_boundaries(length, segments):
    assert segment_count("字" * length) == segments


def test_the_signature_counts_toward_the_length():
    sms = render("login_code", {"code": "123456"}, SIGNATURE)
    body = render("login_code", {"code": "123456"}, "").length
    assert sms.text.startswith(SIGNATURE) and sms.length == body + 6
    # a signature that brings the whole message to exactly 70 characters, then one more
    padding = 70 - body
    assert render("login_code", {"code": "123456"}, "【" + "青" * (padding - 2) + "】").segments == 1
    assert render("login_code", {"code": "123456"}, "【" + "青" * (padding - 1) + "】").segments == 2


def test_templates_follow_the_provider_rules():
    for name, body in TEMPLATES.items():
        assert "【" not in body and "】" not in body, name
        assert "拒收" not in body and "回复" not in body, name  # notification, not marketing
        assert "}${" not in body, f"{name}: two variables side by side"
        assert body.replace("${", "").strip() != "", name
        assert template_variables(name), f"{name} has no variable"


def test_render_fills_every_variable():
    params = {"ref": "1A2B3C4D", "deadline": "2026年12月2日", "contact": CONTACT}
    sms = render("application_received", params, SIGNATURE)
    assert (
        sms.text
        == "【青田公安】您的居住证申请（编号1A2B3C4D）已受理，将于2026年12月2日（含）前办结。咨询浙里办“居住证”"
    )
    assert "${" not in sms.text
    approved = render("application_approved", {"ref": "1A2B3C4D", "contact": CONTACT}, SIGNATURE).text
    assert "浙里办" in approved and "「我的居住证」" in approved and "二维码" in approved
    code = render("login_code", {"code": "042917"}, SIGNATURE).text
    assert "042917" in code and "5分钟" in code and "验证码" in code


def test_render_names_every_problem_at_once():
    with pytest.raises(PermanentDeliveryError) as info:
        render("application_rejected", {"ref": "X" * 40, "extra": "1"}, SIGNATURE)
    message = str(info.value)
    assert "missing variable 'reasons'" in message
    assert "unexpected variable 'extra'" in message
    assert "'ref' must be text of 1-35" in message
    with pytest.raises(PermanentDeliveryError, match="unknown SMS template"):
        render("marketing", {}, SIGNATURE)
    with pytest.raises(PermanentDeliveryError, match="must not contain 【】"):
        render("login_code", {"code": "【1】"}, SIGNATURE)


def _finding(code: str, message: str = "不符合条件") -> Finding:
    return Finding(code, BLOCKING, message, "暂行条例第九条")


def test_a_rejection_lists_short_titles_of_every_reason_when_they_fit():
    text = reasons_text([_finding("LOCAL_HUKOU"), _finding("COMMITMENT_MISSING")])
    assert text == "本县户籍、未作承诺"
    sms = render("application_rejected", {"ref": "1A2B3C4D", "reasons": text, "contact": CONTACT}, SIGNATURE)
    assert "本县户籍、未作承诺" in sms.text and "「我的申请」" in sms.text


def test_a_rejection_with_many_reasons_is_shortened_to_one_variable_with_the_total():
    findings = [_finding(code) for code in SHORT_TITLES]  # all 14 rules fail
    text = reasons_text(findings, officer_reasons=True)
    assert len(text) <= MAX_VARIABLE
    assert text.endswith(f"等共{len(SHORT_TITLES) + 1}项")
    assert text.startswith("身份号码有误、证件不适用")
    sms = render("application_rejected", {"ref": "1A2B3C4D", "reasons": text, "contact": CONTACT}, SIGNATURE)
    assert "完整原因" in sms.text and sms.segments == segment_count(sms.text)


def test_unknown_findings_get_a_title_from_their_message_and_officer_text_is_never_copied():
    finding = _finding("COUNTY_SPECIAL_RULE", "须提供村委会证明，材料缺失")
    assert short_title(finding) == "须提供村委会证明"
    assert reasons_text([], officer_reasons=True) == "审核意见"
    assert reasons_text([]) == "不符合办理条件"
    # the same title twice is listed once
    assert reasons_text([_finding("LOCAL_HUKOU"), _finding("LOCAL_HUKOU")]) == "本县户籍"


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("13812341234", "138****1234"),
        ("+86 138-1234-1234", "138****1234"),
        ("0086138 1234 1234", "138****1234"),
        ("12345", "*****"),
        ("", "***"),
    ],
)
def test_phone_masking(raw, masked):
    assert mask_phone(raw) == masked


def test_mobile_numbers():
    assert is_mobile("13812341234") and is_mobile("+8619912341234")
    assert not is_mobile("12812341234") and not is_mobile("1381234123") and not is_mobile("0571-88888888")


def test_reminder_templates_take_the_params_the_lifecycle_sweep_sends():
    due = render(
        "endorsement_due",
        with_contact("endorsement_due", {"permit_no": "QT-2026-000123", "end": "2027年11月30日"}, CONTACT),
        SIGNATURE,
    )
    assert "请于2027年11月30日（含）前签注" in due.text
    suspended = render("permit_suspended", {"permit_no": "QT-2026-000123", "contact": CONTACT}, SIGNATURE)
    assert "中止" in suspended.text and "QT-2026-000123" in suspended.text
