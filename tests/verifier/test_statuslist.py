"""Reading entries of a status list: the draft's own examples (draft-ietf-oauth-status-list
§4.1, index 0 in the lowest bits of the first byte), every allowed width, both ends."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest

from govcred.core.clock import FixedClock
from govcred.core.exceptions import VerificationError
from govcred.verifier.statuslist import StatusList, inflate_bounded, parse_status_list


def _list(bits: int, raw: bytes) -> StatusList:
    return StatusList("https://qt.example.gov.cn/status/1", "https://qt.example.gov.cn", bits, raw, 0.0, 0.0, 60)


@pytest.mark.parametrize(
    "bits, raw, values",
    [
        (1, bytes([0xB9, 0xA3]), [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]),  # the draft, 1 bit
        (2, bytes([0xC9, 0x44, 0xF9]), [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]),  # the draft, 2 bits
        (4, bytes([0x21, 0xF0]), [1, 2, 0, 15]),
        (8, bytes([5, 0, 255]), [5, 0, 255]),
    ],
)
def test_every_entry_reads_as_the_draft_lays_it_out(bits, raw, values):
    status_list = _list(bits, raw)
    assert status_list.size == len(values)
    assert [status_list.value_at(i) for i in range(len(values))] == values


@pytest.mark.parametrize("idx", [-1, 12, 13, 10**9])
def test_an_index_outside_the_list_is_unavailable(idx):
    with pytest.raises(VerificationError) as caught:
        _list(2, bytes([0xC9, 0x44, 0xF9])).value_at(idx)
    assert (caught.value.reason, caught.value.detail) == ("STATUS_UNAVAILABLE", "INDEX_OUT_OF_RANGE")


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "lst, detail",
    [
        (None, "LST_NOT_BASE64URL"),
        (12, "LST_NOT_BASE64URL"),
        ("", "LST_NOT_BASE64URL"),
        (_b64(zlib.compress(bytes(4))) + "=", "LST_NOT_BASE64URL"),  # padded: the draft says unpadded
        ("a", "LST_NOT_BASE64URL"),  # no whole byte
        (_b64(b"not zlib at all"), "LST_NOT_ZLIB"),
        (_b64(zlib.compress(bytes(64))[:-3]), "LST_NOT_ZLIB"),  # cut short
        (_b64(zlib.compress(bytes(64)) + b"tail"), "LST_NOT_ZLIB"),  # something after the stream
        (_b64(zlib.compress(bytes(1025))), "LST_TOO_LARGE"),
    ],
)
def test_an_lst_that_is_not_one_bounded_zlib_stream_is_refused(lst, detail):
    with pytest.raises(VerificationError) as caught:
        inflate_bounded(lst, max_bytes=1024)
    assert (caught.value.reason, caught.value.detail) == ("STATUS_UNAVAILABLE", detail)


@pytest.mark.parametrize("size", [1, 2, 3, 1023, 1024])
def test_an_lst_of_any_length_up_to_the_bound_inflates(size):
    raw = bytes(range(256)) * 4
    assert inflate_bounded(_b64(zlib.compress(raw[:size], 9)), max_bytes=1024) == raw[:size]


@pytest.fixture(scope="module")
def signer():
    from tests.core.jws_forge import key_and_set

    return key_and_set()


def _parsed(signer, *, at_seconds: int = 0, **claims):
    from tests.core.jws_forge import ISSUER, NOW, forge, header_for, status_list_claims

    key, keys = signer
    token = forge(header_for(key, "statuslist+jwt"), status_list_claims(**claims), key)
    clock = FixedClock(NOW + dt.timedelta(seconds=at_seconds))
    return parse_status_list(token, keys, ISSUER + "/status/1", clock=clock, leeway=60)


def test_a_good_list_is_held_with_its_name_issuer_times_and_entries(signer):
    from tests.core.jws_forge import ISSUER, NOW_TS

    held = _parsed(signer)
    assert (held.uri, held.issuer, held.bits, held.iat, held.exp, held.ttl) == (
        ISSUER + "/status/1",
        ISSUER,
        2,
        float(NOW_TS),
        float(NOW_TS + 86400),
        3600,
    )
    assert held.raw == inflate_bounded("eNrbuRgAAhcBXQ")


@pytest.mark.parametrize(
    "claims, detail",
    [
        ({"status_list": "eNrbuRgAAhcBXQ"}, "LIST_BODY_INVALID"),
        ({"status_list": {"bits": 3, "lst": "eNrbuRgAAhcBXQ"}}, "LIST_BITS_INVALID"),
        ({"status_list": {"bits": 16, "lst": "eNrbuRgAAhcBXQ"}}, "LIST_BITS_INVALID"),
        ({"status_list": {"bits": "2", "lst": "eNrbuRgAAhcBXQ"}}, "LIST_BITS_INVALID"),
        ({"status_list": {"bits": True, "lst": "eNrbuRgAAhcBXQ"}}, "LIST_BITS_INVALID"),
        ({"status_list": {"lst": "eNrbuRgAAhcBXQ"}}, "LIST_BITS_INVALID"),
        ({"ttl": 0}, "LIST_TTL_INVALID"),
        ({"ttl": -60}, "LIST_TTL_INVALID"),
        ({"ttl": "3600"}, "LIST_TTL_INVALID"),
        ({"ttl": 3600.0}, "LIST_TTL_INVALID"),
        ({"sub": "https://qingtian.example.gov.cn/status/2"}, "LIST_SUB_MISMATCH"),
        ({"status_list": {"bits": 2, "lst": "eNrbuRgAAhcBXQ=="}}, "LST_NOT_BASE64URL"),
    ],
)
def test_a_list_whose_body_is_wrong_is_unavailable(signer, claims, detail):
    with pytest.raises(VerificationError) as caught:
        _parsed(signer, **claims)
    assert (caught.value.reason, caught.value.detail) == ("STATUS_UNAVAILABLE", detail)


def test_a_ttl_of_one_second_is_a_ttl(signer):
    assert _parsed(signer, ttl=1).ttl == 1


def test_the_leeway_applies_to_the_list_and_its_failure_is_named(signer):
    from tests.core.jws_forge import NOW_TS

    assert _parsed(signer, iat=NOW_TS + 30).iat == NOW_TS + 30  # 30 s in the future: within the leeway
    assert _parsed(signer, iat=NOW_TS - 3600, exp=NOW_TS - 30).exp == NOW_TS - 30  # expired 30 s ago: too
    with pytest.raises(VerificationError) as caught:
        _parsed(signer, iat=NOW_TS - 3600, exp=NOW_TS - 61)
    assert (caught.value.reason, caught.value.detail) == ("STATUS_UNAVAILABLE", "LIST_EXPIRED:EXP_PASSED")
