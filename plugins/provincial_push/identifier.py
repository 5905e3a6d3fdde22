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

import re

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MODULUS = 36
_PART = re.compile(r"[0-9A-Z]+")


def check_character(data: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character of ``data`` (characters ``0-9A-Z``)."""
    p = _MODULUS
    for ch in data:
        value = ALPHABET.find(ch)
        if value < 0:
            raise ValueError(f"character {ch!r} is not in 0-9A-Z")
        s = (p + value) % _MODULUS or _MODULUS
        p = (s * 2) % (_MODULUS + 1)
    return ALPHABET[(_MODULUS + 1 - p) % _MODULUS]


def normalise_serial(value: str) -> str:
    """A business number as an identifier serial: upper case, letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", value.upper())


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
    body = [type_code, issuer_code, serial, f"{version:03d}"]
    return ".".join([ROOT, *body, check_character("".join(body))])


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
