"""GB/T 36904 identifiers: ISO 7064 MOD 37,36 check characters against public examples."""

from __future__ import annotations

import pytest

from govcred.plugins.provincial_push.identifier import (
    check_character,
    identifier_problems,
    is_valid_identifier,
    licence_identifier,
    normalise_serial,
)

#: Identifiers published in public material (reference/domain.md §4 and the code it cites).
PUBLIC_MATCHING = [
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
]
#: The fourth public example does not match (this algorithm gives D): its issuer part
#: 113700000045046442 is not a valid USCC -- most likely hand-typed sample data.
PUBLIC_MISMATCH = "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M"


@pytest.mark.parametrize("identifier", PUBLIC_MATCHING)
def test_public_examples_recompute(identifier):
    type_code, issuer, serial, version, check = identifier.split(".")[5:]
    assert check_character(type_code + issuer + serial + version) == check
    assert licence_identifier(type_code, issuer, serial, int(version)) == identifier
    assert is_valid_identifier(identifier)


def test_the_fourth_public_example_does_not_match():
    body = "".join(PUBLIC_MISMATCH.split(".")[5:9])
    assert check_character(body) == "D"
    assert not is_valid_identifier(PUBLIC_MISMATCH)


def test_every_single_character_change_is_detected():
    identifier = PUBLIC_MATCHING[0]
    body = "".join(identifier.split(".")[5:9])
    original = check_character(body)
    for i in range(len(body)):
        for replacement in "0Z7":
            if replacement != body[i]:
                assert check_character(body[:i] + replacement + body[i + 1 :]) != original


def test_adjacent_transpositions_are_detected():
    body = "".join(PUBLIC_MATCHING[0].split(".")[5:9])
    original = check_character(body)
    for i in range(len(body) - 1):
        if body[i] != body[i + 1]:
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
            assert check_character(swapped) != original


def test_version_is_three_digits_and_parts_are_checked_together():
    identifier = licence_identifier("11100000000013127D116", "11331121002503437R", "QT2026000123", 2)
    assert identifier.split(".")[8] == "002" and is_valid_identifier(identifier)
    problems = identifier_problems("abc", "", "QT-1", 1000)
    assert len(problems) == 4
    with pytest.raises(ValueError, match="type code.*issuer code.*serial.*version"):
        licence_identifier("abc", "", "QT-1", 1000)


def test_serials_are_normalised_and_malformed_identifiers_rejected():
    assert normalise_serial("qt-2026/000 123") == "QT2026000123"
    assert not is_valid_identifier("1.2.156.3005.2.A.B.C.01.X")
    assert not is_valid_identifier("1.2.156.3005.1.11100000000013338W011.11430000006122244L.20230000403.001.U")
    assert not is_valid_identifier(PUBLIC_MATCHING[0][:-1] + "V")
    with pytest.raises(ValueError):
        check_character("ab")
