"""The services and conveniences a 浙江省居住证 gives (暂行条例 arts. 12-13; 浙江条例 arts. 25-26).

Each benefit has a stable code (what verifiers ask about), a Chinese label and a 2-character
compact code: the credential carries the compact codes because every byte costs QR modules.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Benefit:
    code: str
    compact: str
    label_zh: str


BENEFITS: dict[str, Benefit] = {
    b.code: b
    for b in (
        # art. 12: basic public services
        Benefit("compulsory_education", "ce", "义务教育"),
        Benefit("public_employment", "pe", "基本公共就业服务"),
        Benefit("public_health", "ph", "基本公共卫生服务和计划生育服务"),
        Benefit("culture_sports", "cs", "公共文化体育服务"),
        Benefit("legal_aid", "la", "法律援助和其他法律服务"),
        # art. 13: conveniences
        Benefit("exit_entry", "ee", "办理出入境证件"),
        Benefit("id_card", "id", "换领、补领居民身份证"),
        Benefit("vehicle_registration", "vr", "机动车登记"),
        Benefit("driving_license", "dl", "申领机动车驾驶证"),
        Benefit("vocational_exam", "ve", "报名参加职业资格考试、申请授予职业资格"),
        Benefit("birth_services", "bs", "办理生育服务登记和其他计划生育证明材料"),
    )
}
BENEFIT_CODES = tuple(BENEFITS)


def compact_codes(codes: tuple[str, ...]) -> list[str]:
    """Compact form of benefit codes, in the given order."""
    return [BENEFITS[c].compact for c in codes]


def benefit_labels(codes: tuple[str, ...] = BENEFIT_CODES) -> dict[str, str]:
    return {c: BENEFITS[c].label_zh for c in codes}

