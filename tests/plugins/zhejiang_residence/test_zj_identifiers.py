import datetime as dt

import pytest

from govcred.plugins.zhejiang_residence.identifiers import (
    ID_BIRTH_DATE,
    ID_CHECKSUM,
    ID_FOREIGNER,
    ID_FORMAT,
    ID_HMT_PERMIT,
    IdProblem,
    ResidentId,
    id_check_char,
    in_area,
    in_zhejiang,
    is_division,
    is_mobile,
    mask_id,
    mask_name,
    parse_resident_id,
    uscc_check_char,
    uscc_problem,
)
from tests.plugins.zhejiang_residence.zj_fixtures import make_id, make_uscc


def test_qingtian_code_newer_than_birth_year_is_accepted():
    # 331121 dates from 2000; stdnum rejects this number, the field does not.
    parsed = parse_resident_id("331121199003070019")
    assert isinstance(parsed, ResidentId)
    assert parsed.birth_date == dt.date(1990, 3, 7)
    assert parsed.address_code == "331121"
    assert parsed.sex == "M"


@pytest.mark.parametrize("address", ["332822", "332622"])
def test_old_qingtian_address_codes_parse(address):
    parsed = parse_resident_id(make_id("19750101", address, "124"))
    assert isinstance(parsed, ResidentId)
    assert parsed.address_code == address
    assert parsed.sex == "F"


def test_check_character_x_and_lowercase_x():
    body = "11010519491231002"
    assert id_check_char(body) == "X"
    assert isinstance(parse_resident_id(body + "X"), ResidentId)
    lower = parse_resident_id(body + "x")
    assert isinstance(lower, ResidentId) and lower.number.endswith("X")


@pytest.mark.parametrize(
    "number, code",
    [
        ("33112119900307001", ID_FORMAT),  # 17 chars
        ("3311211990030700191", ID_FORMAT),  # 19 chars
        ("33112119900307001A", ID_FORMAT),  # letter other than X
        ("3311211990030700X9", ID_FORMAT),  # X not last
        ("331121199003070018", ID_CHECKSUM),
        (make_id("19900230"), ID_BIRTH_DATE),  # 30 Feb
        (make_id("18991231"), ID_BIRTH_DATE),  # before 1900
        (make_id("20990101"), ID_BIRTH_DATE),  # in the future
        (make_id("19900101", "810000"), ID_HMT_PERMIT),
        (make_id("19900101", "820000"), ID_HMT_PERMIT),
        (make_id("19900101", "830000"), ID_HMT_PERMIT),
        (make_id("19900101", "933100"), ID_FOREIGNER),
    ],
)
def test_problem_codes(number, code):
    result = parse_resident_id(number, dt.date(2027, 3, 1))
    assert isinstance(result, IdProblem)
    assert result.code == code
    assert result.message_zh
    assert result.not_eligible == (code in (ID_HMT_PERMIT, ID_FOREIGNER))


def test_hmt_number_with_wrong_check_is_invalid_not_out_of_scope():
    good = make_id("19900101", "810000")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert parse_resident_id(bad).code == ID_CHECKSUM


def test_birth_date_bounded_by_given_day():
    number = make_id("20270302")
    assert parse_resident_id(number, dt.date(2027, 3, 1)).code == ID_BIRTH_DATE
    assert isinstance(parse_resident_id(number, dt.date(2027, 3, 2)), ResidentId)


def test_age_on_birthday_boundaries():
    p = parse_resident_id(make_id("20110301"))
    assert p.age_on(dt.date(2027, 2, 28)) == 15
    assert p.age_on(dt.date(2027, 3, 1)) == 16
    leap = parse_resident_id(make_id("20080229"))
    assert leap.age_on(dt.date(2024, 2, 28)) == 15
    assert leap.age_on(dt.date(2024, 2, 29)) == 16


def test_uscc_ministry_of_public_security():
    assert uscc_check_char("11100000000013127") == "D"
    assert uscc_problem("11100000000013127D") is None
    assert uscc_problem("11100000000013127E") == "checksum"


@pytest.mark.parametrize("first17", ["N2330100MA0000001", "Y1331121000000001", "A1100000000000011"])
def test_uscc_letter_prefix_with_correct_checksum(first17):
    code = make_uscc(first17)
    assert uscc_problem(code) is None
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert uscc_problem(wrong) == "checksum"


@pytest.mark.parametrize(
    "value", ["I1100000000013127D", "91330100MA0000001", "11100000000013127d", "O" * 18, 91330100, None]
)
def test_uscc_format(value):
    assert uscc_problem(value) == "format"


@pytest.mark.parametrize(
    "value, ok",
    [
        ("13800138000", True),
        ("19912345678", True),
        ("12800138000", False),
        ("1380013800", False),
        ("1380013800a", False),
        (13800138000, False),
    ],
)
def test_mobile(value, ok):
    assert is_mobile(value) is ok


def test_divisions():
    assert is_division("331121") and is_division("331121001") and is_division("331121001001")
    assert not is_division("33112") and not is_division("3311210") and not is_division("33112a")
    assert not is_division("331121001", exact6=True)
    assert in_zhejiang("330102") and not in_zhejiang("310101")
    assert in_area("331121", ("331121",)) and in_area("331121001", ("331121",))
    assert not in_area("331122", ("331121",)) and not in_area("331122001", ("331121",))
    assert in_area("332822", ("331121", "332822"))


def test_masking():
    assert mask_name("张三明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_id("330102199001011234") == "3301**********1234"
    assert mask_id("11010519491231002x") == "1101**********002X"
