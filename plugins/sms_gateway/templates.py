"""The notification templates and how a rendered message is counted.

Each template is what gets approved with the SMS provider: fixed Chinese text with short
``${var}`` placeholders (provider rules: no 【】 in the body, no marketing text, no two
variables side by side, each variable at most 35 characters). The 【signature】 is added by
the provider in front of the body and counts toward the length: up to 70 characters is one
segment, a longer message is split into 67-character segments (160 -> 3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from govcred.core import PermanentDeliveryError

SINGLE_SEGMENT = 70
LONG_SEGMENT = 67
#: Provider limit for one template variable (Aliyun: 1-35 characters).
MAX_VARIABLE = 35

LOGIN_CODE = "login_code"
PROGRESS_CODE = "progress_code"
#: The templates that carry a one-time code: sent at once, throttled as codes, never deduped.
CODE_TEMPLATES = frozenset({LOGIN_CODE, PROGRESS_CODE})

#: Filled from the configuration (``contact``), not by the event: where a resident asks (a
#: phone number, or the 浙里办 entry), so that a message says how to reach the service.
CONTACT = "contact"
#: The longest ``contact`` the templates are measured with: a landline ``0578-6812345``.
MAX_CONTACT = 12

# Every notice a resident gets names the service (the provider puts the configured
# 【signature】 in front; the text says 居住证) and how to reach it (咨询${contact}), states a
# deadline as 日（含）前 (the day itself included), and fits one 70-character segment with
# the signature and the longest realistic values (tests/plugins/sms_gateway/
# test_sms_lengths.py) -- except the two that carry reasons, a 35-character variable that
# cannot fit beside the rest. 签注 refused has its own text: the permit still exists.
# The code templates name no contact: a verification template is kept to its code (provider
# rule), and the person is on the page waiting for it. Officer messages go to staff.
TEMPLATES: dict[str, str] = {
    "application_received": "您的居住证申请（编号${ref}）已受理，将于${deadline}（含）前办结。咨询${contact}",
    "application_approved": "您的居住证申请（编号${ref}）已办结，可在浙里办「我的居住证」出示二维码。咨询${contact}",
    "application_rejected": "您的居住证申请（编号${ref}）未获批准，原因：${reasons}。完整原因及依据请在本系统「我的申请」查看。咨询${contact}",
    # a refused 签注 is not a refused application: the permit exists and what to do differs
    "endorsement_not_granted": "您的居住证签注（编号${ref}）未获通过，原因：${reasons}。办理方法请在本系统「我的居住证」查看。咨询${contact}",
    "application_returned": "您的居住证申请（编号${ref}）需补正${count}项材料，清单请在本系统「我的申请」查看。咨询${contact}",
    # the restarted deadline with its basis (受理 after 补正, counted again), still one segment
    "application_resubmitted": "居住证申请${ref}补正后受理，期限重新计算，${deadline}（含）前办结。咨询${contact}",
    "endorsement_due": "居住证${permit_no}请于${end}（含）前签注，逾期中止使用。咨询${contact}",
    "permit_suspended": "您的居住证${permit_no}已中止使用，恢复办法请在本系统「我的居住证」查看。咨询${contact}",
    # the key that signed it was revoked and the permit signed again: same permit, nothing to do
    "permit_reissued": "您的电子居住证${permit_no}因安全原因已更新，无需办理，请重新打开出示。咨询${contact}",
    "permit_revoked": "您的居住证${permit_no}已收回作废，详情请在本系统「我的居住证」查看。咨询${contact}",
    LOGIN_CODE: "您的登录验证码为${code}，5分钟内有效，请勿告诉他人。",
    PROGRESS_CODE: "您查询办件${ref}进度的验证码为${code}，5分钟内有效，请勿告诉他人。",
    "officer_digest": "居住证审核：今日到期${due}件、已超期${overdue}件${refs}，请及时办理。",
    "deadline_passed": "居住证申请（编号${ref}）办结期限${deadline}（含）已过，请督促办理。",
}

_VARIABLE = re.compile(r"\$\{([a-z_]+)\}")


@dataclass(frozen=True)
class RenderedSms:
    template: str
    text: str

    @property
    def length(self) -> int:
        return len(self.text)

    @property
    def segments(self) -> int:
        return segment_count(self.text)


def segment_count(text: str) -> int:
    """Billing segments of a domestic message (UCS-2: 70 alone, 67 per part when split)."""
    n = len(text)
    return 1 if n <= SINGLE_SEGMENT else math.ceil(n / LONG_SEGMENT)


def template_variables(template: str) -> list[str]:
    return _VARIABLE.findall(TEMPLATES[template])


def with_contact(template: str, params: Mapping[str, str], contact: str) -> dict[str, str]:
    """``params`` plus the configured contact, when ``template`` names one (an unknown
    template is left to :func:`render` to refuse)."""
    return {**params, CONTACT: contact} if "${" + CONTACT + "}" in TEMPLATES.get(template, "") else dict(params)


def render(template: str, params: Mapping[str, str], signature: str) -> RenderedSms:
    """Fill ``template`` with ``params`` and put the signature in front.

    Raises :class:`PermanentDeliveryError` naming every problem (unknown template, missing,
    unexpected or over-long variables): a retry would fail the same way.
    """
    if template not in TEMPLATES:
        raise PermanentDeliveryError(f"unknown SMS template {template!r}")
    wanted = template_variables(template)
    problems = [f"missing variable {v!r}" for v in wanted if v not in params]
    problems += [f"unexpected variable {k!r}" for k in params if k not in wanted]
    for key, value in params.items():
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_VARIABLE:
            problems.append(f"variable {key!r} must be text of 1-{MAX_VARIABLE} characters")
        elif "【" in value or "】" in value:
            problems.append(f"variable {key!r} must not contain 【】")
    if problems:
        raise PermanentDeliveryError(f"template {template}: " + "; ".join(problems))
    body = _VARIABLE.sub(lambda m: params[m.group(1)], TEMPLATES[template])
    return RenderedSms(template, signature + body)


def fit_list(items: list[str], limit: int = MAX_VARIABLE, sep: str = "、") -> str:
    """Join ``items`` within ``limit`` characters; when they do not all fit, keep the leading
    ones and say how many there are in all (``…等共N项``) so the reader knows the list goes on."""
    joined = sep.join(items)
    if len(joined) <= limit:
        return joined
    total = f"等共{len(items)}项"
    kept: list[str] = []
    for item in items:
        candidate = sep.join([*kept, item]) + total
        if len(candidate) > limit:
            break
        kept.append(item)
    if not kept:  # one title longer than the whole budget: cut it
        return items[0][: limit - len(total) - 1] + "…" + total
    return sep.join(kept) + total
