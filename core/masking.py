"""Server-side masking of personal data for lists, queues and verifier answers (W-13).

Core knows no national ID format; these rules only keep the ends of a value, which is what
every screen and answer in govcred shows (张*明, 3301**********1234).
"""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三明 -> 张*明; 张三 -> 张*; a one-character name stays as it is."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_identifier(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """Keep the first and last characters of an identifier, star the middle."""
    value = value.strip().upper()
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
