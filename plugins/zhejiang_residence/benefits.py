"""The services and conveniences a 浙江省居住证 gives (暂行条例 arts. 12-13; 浙江条例 arts. 25-26).

Each benefit has a stable code (what verifiers ask about), a Chinese label, a 2-character
compact code (logs, payloads) and a bit: the credential carries the covered benefits as one
integer bit mask (``ben``), because every byte of the token costs QR modules -- eleven
benefits take at most 4 digits instead of a 50-character list. The bit of a benefit never
changes; new benefits take new bits (append only).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Benefit:
    code: str
    compact: str
    label_zh: str
    bit: int


BENEFITS: dict[str, Benefit] = {
    b.code: b
    for b in (
        # art. 12: basic public services
        Benefit("compulsory_education", "ce", "义务教育", 0),
        Benefit("public_employment", "pe", "基本公共就业服务", 1),
        Benefit("public_health", "ph", "基本公共卫生服务和计划生育服务", 2),
        Benefit("culture_sports", "cs", "公共文化体育服务", 3),
        Benefit("legal_aid", "la", "法律援助和其他法律服务", 4),
        # art. 13: conveniences
        Benefit("exit_entry", "ee", "办理出入境证件", 5),
        Benefit("id_card", "id", "换领、补领居民身份证", 6),
        Benefit("vehicle_registration", "vr", "机动车登记", 7),
        Benefit("driving_license", "dl", "申领机动车驾驶证", 8),
        Benefit("vocational_exam", "ve", "报名参加职业资格考试、申请授予职业资格", 9),
        Benefit("birth_services", "bs", "办理生育服务登记和其他计划生育证明材料", 10),
    )
}
BENEFIT_CODES = tuple(BENEFITS)


def compact_codes(codes: tuple[str, ...]) -> list[str]:
    """Compact form of benefit codes, in the given order."""
    return [BENEFITS[c].compact for c in codes]


@functools.lru_cache(maxsize=64)  # a county's benefits: the same mask for each of its credentials
def benefit_mask(codes: tuple[str, ...]) -> int:
    """The ``ben`` claim: one bit per covered benefit."""
    mask = 0
    for c in codes:
        mask |= 1 << BENEFITS[c].bit
    return mask


def covers(mask: int, code: str) -> bool:
    return bool(mask >> BENEFITS[code].bit & 1)


def benefit_labels(codes: tuple[str, ...] = BENEFIT_CODES) -> dict[str, str]:
    return {c: BENEFITS[c].label_zh for c in codes}
