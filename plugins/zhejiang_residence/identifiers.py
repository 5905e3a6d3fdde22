"""Identifiers of this field: resident ID (GB 11643), USCC (GB 32100), mobile numbers,
division codes (GB/T 2260) and the masking a verifier may see.

Written here rather than taken from python-stdnum: stdnum rejects real ID numbers whose
address code is newer than the birth year (``331121199003070019``) and USCCs whose first
character is a letter (reference/domain.md §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import mul

from govcred.core import mask_identifier, mask_name  # noqa: F401  (mask_name is re-exported)

# ---- resident ID number (GB 11643-1999) -------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_DIGITS = frozenset("0123456789")

#: Problem codes of :func:`parse_resident_id`. The first three make a number *invalid*;
#: the last two mark a well-formed number of a document that is *not eligible* for the
#: 浙江省居住证 (浙江条例 art. 38: HK/Macau/Taiwan residents and foreigners follow national rules).
ID_FORMAT = "ID_FORMAT"
ID_BIRTH_DATE = "ID_BIRTH_DATE"
ID_CHECKSUM = "ID_CHECKSUM"
ID_HMT_PERMIT = "ID_HMT_PERMIT"
ID_FOREIGNER = "ID_FOREIGNER"
NOT_ELIGIBLE_CODES = frozenset({ID_HMT_PERMIT, ID_FOREIGNER})

_HMT_PREFIXES = ("810000", "820000", "830000")
_EARLIEST_BIRTH = dt.date(1900, 1, 1)

_ID_MESSAGES = {
    ID_FORMAT: "公民身份号码应为18位：前17位为数字，最后一位为数字或大写字母X，请核对身份证后重新填写",
    ID_BIRTH_DATE: "公民身份号码中的出生日期（第7至14位）不是真实日期，请核对身份证后重新填写",
    ID_CHECKSUM: "公民身份号码校验位不正确，可能有数字填错，请核对身份证后重新填写",
    ID_HMT_PERMIT: "该号码为港澳台居民居住证号码，不能申领浙江省居住证，请按港澳台居民居住证的规定办理",
    ID_FOREIGNER: "该号码为外国人永久居留身份证号码，不能申领浙江省居住证，请按外国人居留管理的规定办理",
}


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A resident ID number that passed format, checksum and date checks."""

    number: str
    #: GB/T 2260 code of the county where the number was first assigned: informational
    #: only, it never changes and is not the current hukou.
    address_code: str
    birth_date: dt.date
    sex: str  # "M" | "F" (odd sequence = male)

    def age_on(self, day: dt.date) -> int:
        """Full years of age on ``day`` (a person born on 29 Feb ages on 1 Mar in common years)."""
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(frozen=True, slots=True)
class IdProblem:
    """Why a number is not a usable resident ID: one of the ``ID_*`` codes."""

    code: str

    @property
    def message_zh(self) -> str:
        return _ID_MESSAGES[self.code]

    @property
    def not_eligible(self) -> bool:
        """The number is well formed but belongs to a document out of scope."""
        return self.code in NOT_ELIGIBLE_CODES


def normalise_id(value: str) -> str:
    """Strip blanks and upper-case a trailing x (people type it in lower case)."""
    return value.strip().upper()


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _ID_CHECK[sum(map(mul, map(int, first17), _ID_WEIGHTS)) % 11]


def parse_resident_id(value: str, today: dt.date | None = None) -> ResidentId | IdProblem:
    """Parse an 18-character resident ID number, or say why it cannot be used.

    Checks run format -> checksum -> document type -> birth date, so a HK/Macau/Taiwan
    or foreigner's number with a wrong check character is reported as invalid (it was
    mistyped) and a correct one as not eligible. ``today`` bounds the birth date (the
    decision date in the rules; the real date by default).
    """
    number = normalise_id(value) if isinstance(value, str) else ""
    if len(number) != 18 or not _DIGITS.issuperset(number[:17]) or not (number[17] in _DIGITS or number[17] == "X"):
        return IdProblem(ID_FORMAT)
    if id_check_char(number[:17]) != number[17]:
        return IdProblem(ID_CHECKSUM)
    if number.startswith(_HMT_PREFIXES):
        return IdProblem(ID_HMT_PERMIT)
    if number[0] == "9":
        return IdProblem(ID_FOREIGNER)
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdProblem(ID_BIRTH_DATE)
    if birth < _EARLIEST_BIRTH or birth > (today or dt.date.today()):
        return IdProblem(ID_BIRTH_DATE)
    return ResidentId(number, number[:6], birth, "M" if int(number[16]) % 2 else "F")


# ---- unified social credit code (GB 32100-2015) ------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """Check character of a USCC's first 17 characters (which must be in the alphabet)."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: object) -> str | None:
    """Return ``None`` for a valid USCC, else ``"format"`` or ``"checksum"``.

    Any alphabet character is allowed in every position, letters in position 1 included
    (A, N, Y ... registration authorities), unlike stdnum.
    """
    if not isinstance(value, str) or len(value) != 18 or any(c not in _USCC_VALUE for c in value):
        return "format"
    if uscc_check_char(value[:17]) != value[17]:
        return "checksum"
    return None


def is_uscc(value: object) -> bool:
    return uscc_problem(value) is None


# ---- mobile numbers and division codes -------------------------------------------------


def is_mobile(value: object) -> bool:
    """A mainland mobile number: 11 digits starting 13-19."""
    return (
        isinstance(value, str)
        and len(value) == 11
        and value[0] == "1"
        and value[1] in "3456789"
        and _DIGITS.issuperset(value)
    )


def is_division(value: object, *, exact6: bool = False) -> bool:
    """A GB/T 2260 division code: 6 digits, or 9/12 for township and village levels."""
    if not isinstance(value, str) or not _DIGITS.issuperset(value):
        return False
    return len(value) == 6 if exact6 else len(value) in (6, 9, 12)


def in_zhejiang(division: str) -> bool:
    return division.startswith("33")


def in_area(division: str, codes: tuple[str, ...]) -> bool:
    """``division`` equals one of the 6-digit county ``codes`` or is a township/village in it."""
    if len(division) == 6:
        return division in codes
    return division[:6] in codes


# ---- masking (what a verifier may see) ---------------------------------------------------


def mask_id(number: str) -> str:
    """First 4 + 10 stars + last 4: 330102199001011234 -> 3301**********1234."""
    return mask_identifier(normalise_id(number))
