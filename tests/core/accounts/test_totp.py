"""Officer TOTP (RFC 6238) at its own boundary: the code's shape, the drift window, single use.

Each refusal is asserted by its code and its Chinese message, as the officer's log-in page
shows them (found unchecked by ``make mutate``).
"""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from govcred.core.accounts import totp
from govcred.core.exceptions import AuthenticationRequired
from tests.core.web.pages.pagekit import add_officer

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = dt.datetime(2027, 3, 1, 2, 0, 15, tzinfo=dt.UTC)  # 15 s into a 30-second step
STEP = pyotp.TOTP(SEED).timecode(NOW)


def code_at(step: int) -> str:
    return pyotp.TOTP(SEED).generate_otp(step)


def refusal(code: str, last_step: int = 0) -> tuple[str, str]:
    with pytest.raises(AuthenticationRequired) as refused:
        totp.accepted_step(SEED, code, NOW, last_step)
    return refused.value.code, refused.value.message


@pytest.mark.parametrize("code", ["", None, "12345", "1234567", "12345a", "abcdef", "١٢٣٤٥٦", "12 345"])
def test_a_code_that_is_not_six_digits_is_refused_as_such(code):
    assert refusal(code) == ("TOTP_INVALID", "动态验证码应为 6 位数字")


def test_the_current_step_and_one_step_either_side_are_accepted_with_surrounding_spaces():
    assert totp.accepted_step(SEED, f" {code_at(STEP)} ", NOW, 0) == STEP
    assert totp.accepted_step(SEED, code_at(STEP - 1), NOW, 0) == STEP - 1
    assert totp.accepted_step(SEED, code_at(STEP + 1), NOW, 0) == STEP + 1


def test_full_width_digits_from_a_chinese_input_method_are_read_as_digits():
    full_width = code_at(STEP).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert totp.accepted_step(SEED, full_width, NOW, 0) == STEP


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(offset):
    assert refusal(code_at(STEP + offset)) == ("TOTP_INVALID", "动态验证码错误或已过期")


def test_a_step_already_used_is_refused_as_replayed():
    assert refusal(code_at(STEP), last_step=STEP) == ("TOTP_REPLAYED", "该动态验证码已使用过，请等待下一个验证码")
    assert refusal(code_at(STEP - 1), last_step=STEP) == ("TOTP_REPLAYED", "该动态验证码已使用过，请等待下一个验证码")
    assert totp.accepted_step(SEED, code_at(STEP + 1), NOW, STEP) == STEP + 1


def test_check_code_consumes_the_step_so_the_same_code_works_once(runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    now = runtime.clock.now()
    code = pyotp.TOTP(seed).at(now)
    with runtime.uow() as uow:
        officer = uow.officers.by_username("rev1")
        totp.check_code(uow, officer, code, now, runtime.secrets.cipher)
        uow.commit()
    with runtime.uow() as uow:
        officer = uow.officers.by_username("rev1")
        assert officer.totp_last_step == pyotp.TOTP(seed).timecode(now)
        with pytest.raises(AuthenticationRequired) as refused:
            totp.check_code(uow, officer, code, now, runtime.secrets.cipher)
    assert refused.value.code == "TOTP_REPLAYED"


def test_an_officer_without_a_seed_is_told_to_ask_an_administrator(runtime):
    add_officer(runtime, "clerk1", "clerk")
    with runtime.uow() as uow:
        officer = uow.officers.by_username("clerk1")
        assert totp.requires_totp(officer) is False
        with pytest.raises(AuthenticationRequired) as refused:
            totp.check_code(uow, officer, "123456", runtime.clock.now(), runtime.secrets.cipher)
    assert (refused.value.code, refused.value.message) == (
        "TOTP_NOT_ENROLLED",
        "该账号尚未绑定动态验证码，请联系管理员",
    )
