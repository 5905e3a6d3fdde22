"""Mainland mobile numbers: validation and the masked form used in logs and tables."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s-]")


def normalise_phone(value: str) -> str:
    """Digits only, without a leading +86 / 0086."""
    digits = _SEPARATORS.sub("", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def is_mobile(value: str) -> bool:
    return bool(_MOBILE.fullmatch(normalise_phone(value)))


def mask_phone(value: str) -> str:
    """138****1234; anything that is not a mobile number is masked completely."""
    phone = normalise_phone(value)
    if not _MOBILE.fullmatch(phone):
        return "*" * min(len(phone), 11) or "***"
    return f"{phone[:3]}****{phone[-4:]}"
