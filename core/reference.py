"""办件编号: the short reference a person is told for an application (pages, receipt, SMS).

Twelve symbols in three groups of four (``7K3M-9QX2-TADD``): eleven derived from the
application id and a check symbol. The alphabet is Crockford's base 32 (no I, L, O, U: none
is mistaken for a digit or another letter when read out or retyped), and the check symbol is
Luhn mod N over that alphabet (python-stdnum's implementation), which catches every single
mistyped symbol and every swap of two neighbours but that of ``0`` and ``Z``, so a mistyped
reference is refused instead of finding someone else's application.

Derived from the id (a digest of it, 55 bits), so every application has one -- also those
stored before references existed -- and anything that knows the id can print the same.
"""

from __future__ import annotations

import functools
import hashlib

from stdnum import luhn

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY = 11
#: how people mistype Crockford symbols: read the same as the symbol meant
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


@functools.lru_cache(maxsize=4096)  # a decision's two SMS texts name it, and Luhn mod N is slow Python
def reference_of(application_id: str) -> str:
    """The 办件编号 of an application id."""
    value = int.from_bytes(hashlib.sha256(application_id.encode()).digest()[:7], "big") >> 1
    body = ""
    for _ in range(_BODY):
        value, symbol = divmod(value, 32)
        body = ALPHABET[symbol] + body
    code = body + luhn.calc_check_digit(body, alphabet=ALPHABET)
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def reference_problem(text: object) -> str | None:
    """Why a typed reference cannot be one, in Chinese for the person typing it (None when
    :func:`parse_reference` accepts it): the length, the symbols outside the alphabet, or the
    check symbol, so that a mistyped reference is named as such at once."""
    if not isinstance(text, str) or not text.strip():
        return "请填写办件编号（受理回执和短信上的 12 位编号，如 7K3M-9QX2-TADD）"
    code = "".join(c for c in text.upper() if c not in " -").translate(_READ_AS)
    wrong = sorted({c for c in code if c not in ALPHABET})
    if wrong:
        shown = "、".join(f"“{c}”" for c in wrong[:5])
        return f"办件编号只含数字和字母（不含 U），不能含有 {shown}"
    if len(code) != _BODY + 1:
        return f"办件编号应为 12 位（已填 {len(code)} 位），请对照受理回执或短信核对"
    if not luhn.is_valid(code, alphabet=ALPHABET):
        return "办件编号的校验位不符，可能有字符输错或顺序颠倒，请对照受理回执或短信核对"
    return None


def parse_reference(text: object) -> str | None:
    """A typed reference in its printed form (case, blanks, hyphens and O/I/L forgiven), or
    None when it cannot be one: wrong length, a symbol outside the alphabet, a bad check."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    code = "".join(c for c in text.upper() if c not in " -").translate(_READ_AS)
    if len(code) != _BODY + 1 or any(c not in ALPHABET for c in code):
        return None
    if not luhn.is_valid(code, alphabet=ALPHABET):
        return None
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"
