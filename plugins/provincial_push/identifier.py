"""GB/T 36904-2018 电子证照标识 (e-licence identifier).

``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``: the type code is
the defining agency's USCC + 3 digits, the issuer code the issuing body's USCC, the serial
free alphanumeric, the version 3 digits from ``001``. The check character is ISO/IEC 7064
MOD 37,36 (hybrid system, alphabet ``0-9A-Z``) over type + issuer + serial + version
concatenated without the dots.

Public identifiers recomputed with this code (tests/plugins/provincial_push): ``…W011.
11430000006122244L.20230000403.001.U``, ``…MB03271699022.340100.000000016.001.9`` and ``…W009.
11330105002500287C.2025052201.002.0`` match; ``…13661B006.113700000045046442.209FA4E8….001.M``
does not (this algorithm gives ``D``): its issuer part is not a valid USCC, so it is most
likely sample data typed by hand.
"""

from __future__ import annotations

import functools
import re

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MODULUS = 36
_PART = re.compile(r"[0-9A-Z]+")
_NOT_PART = re.compile(r"[^0-9A-Z]")
#: the MOD 37,36 step as a table, the state after a character by the state before it: one
#: look-up a character instead of a search of the alphabet and two remainders
_STEP = [
    {ch: ((p + value) % _MODULUS or _MODULUS) * 2 % (_MODULUS + 1) for value, ch in enumerate(ALPHABET)}
    for p in range(_MODULUS + 1)
]


def _state(p: int, data: str) -> int:
    for ch in data:
        try:
            p = _STEP[p][ch]
        except KeyError:
            raise ValueError(f"character {ch!r} is not in 0-9A-Z") from None
    return p


@functools.lru_cache(maxsize=64)
def _state_after(prefix: str) -> int:
    # the type and issuer codes begin every identifier a deployment builds (about 36 of its
    # 50-odd characters): their part of the computation is done once
    return _state(_MODULUS, prefix)


def check_character(data: str, *, prefix: str = "") -> str:
    """ISO/IEC 7064 MOD 37,36 check character of ``prefix + data`` (characters ``0-9A-Z``);
    a ``prefix`` shared by many identifiers is computed once."""
    p = _state(_state_after(prefix), data)
    return ALPHABET[(_MODULUS + 1 - p) % _MODULUS]


def normalise_serial(value: str) -> str:
    """A business number as an identifier serial: upper case, letters and digits only."""
    return _NOT_PART.sub("", value.upper())


def identifier_problems(type_code: str, issuer_code: str, serial: str, version: int) -> list[str]:
    problems = []
    for name, part in (("type code", type_code), ("issuer code", issuer_code), ("serial", serial)):
        if not _PART.fullmatch(part or ""):
            problems.append(f"{name} must be upper-case letters and digits, got {part!r}")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        problems.append(f"version must be a whole number from 1 to 999, got {version!r}")
    return problems


def licence_identifier(type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """Build the identifier; :class:`ValueError` names every bad part."""
    problems = identifier_problems(type_code, issuer_code, serial, version)
    if problems:
        raise ValueError("; ".join(problems))
    own = serial + f"{version:03d}"
    check = check_character(own, prefix=type_code + issuer_code)
    return f"{ROOT}.{type_code}.{issuer_code}.{serial}.{version:03d}.{check}"


def is_valid_identifier(identifier: str) -> bool:
    """Whether ``identifier`` has the root, five parts and a matching check character."""
    if not identifier.startswith(ROOT + "."):
        return False
    parts = identifier[len(ROOT) + 1 :].split(".")
    if len(parts) != 5 or not (len(parts[3]) == 3 and parts[3].isdigit()) or len(parts[4]) != 1:
        return False
    data = "".join(parts[:4])
    if not _PART.fullmatch(data):
        return False
    return check_character(data) == parts[4]
