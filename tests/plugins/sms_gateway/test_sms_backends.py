"""The HTTP and Aliyun backends against real stub servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from govcred.core.exceptions import PermanentDeliveryError, RetryableDeliveryError
from govcred.core.http_delivery import retry_after_seconds
from govcred.plugins.sms_gateway.aliyun import AliyunBackend, percent_encode, sign
from govcred.plugins.sms_gateway.http import HttpBackend
from govcred.plugins.sms_gateway.templates import TEMPLATES, render
from tests.plugins.gateway_stub import GatewayStub, Hang, Reply, refused_url

PHONE = "13812341234"
SMS = render("login_code", {"code": "042917"}, "【青田公安】")
PARAMS = {"code": "042917"}


# ---- generic HTTP gateway ---------------------------------------------------------------


def test_http_backend_posts_json_with_the_idempotency_key():
    with GatewayStub(lambda r: Reply(200, {"id": "gw-77"})) as stub:
        provider_id = HttpBackend(stub.url, secret="s3cret").send("msg-1", PHONE, SMS, PARAMS)
    assert provider_id == "gw-77"
    [request] = stub.requests
    assert request.headers["Idempotency-Key"] == "msg-1"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.json() == {"phone": PHONE, "template": "login_code", "params": PARAMS, "text": SMS.text}


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
def test_http_backend_server_errors_are_retryable(status):
    with GatewayStub(lambda r: Reply(status, {"error": "busy"})) as stub:
        with pytest.raises(RetryableDeliveryError) as info:
            HttpBackend(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert info.value.details["status"] == status and info.value.retry_after is None


def test_http_backend_honours_retry_after():
    with GatewayStub(lambda r: Reply(503, {}, headers={"Retry-After": "120"})) as stub:
        with pytest.raises(RetryableDeliveryError) as info:
            HttpBackend(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert info.value.retry_after == 120.0


def test_retry_after_as_an_http_date():
    now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("Mon, 30 Nov 2026 02:01:30 GMT", now=now) == 90.0
    assert retry_after_seconds("Mon, 30 Nov 2026 01:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None


def test_a_number_the_gateway_echoes_is_masked_in_the_error():
    with GatewayStub(lambda r: Reply(400, {"error": f"invalid number {PHONE}"})) as stub:
        with pytest.raises(PermanentDeliveryError) as info:
            HttpBackend(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert PHONE not in str(info.value) and "invalid number ***" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_http_backend_client_errors_are_permanent(status):
    with GatewayStub(lambda r: Reply(status, {"error": "bad phone"})) as stub:
        with pytest.raises(PermanentDeliveryError) as info:
            HttpBackend(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert info.value.details["status"] == status
    assert "bad phone" in str(info.value)


def test_http_backend_timeout_is_retryable():
    """A gateway that does not answer: the read timeout ends the wait (without one, the send
    would wait for the late 200 and return it)."""
    hang = Hang()
    with GatewayStub(hang) as stub, hang:
        with pytest.raises(RetryableDeliveryError, match="timed out"):
            HttpBackend(stub.url, timeout=(0.5, 0.2)).send("msg-1", PHONE, SMS, PARAMS)


def test_http_backend_refused_connection_is_retryable():
    with pytest.raises(RetryableDeliveryError, match="connection failed"):
        HttpBackend(refused_url(), timeout=(0.5, 0.5)).send("msg-1", PHONE, SMS, PARAMS)


# ---- Aliyun SendSms ------------------------------------------------------------------------

KEY_ID, SECRET = "LTAI5tTestKeyId", "testSecretValue0123456789"
CODES = {name: f"SMS_{100000 + i}" for i, name in enumerate(TEMPLATES)}


class AliyunStub:
    """Answers like dysmsapi: recomputes the signature with the secret it knows."""

    def __init__(self, outcome: str = "OK"):
        self.outcome = outcome

    def __call__(self, request):
        assert request.method == "POST"
        fields = dict(urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=True))
        given = fields.pop("Signature")
        if sign(fields, SECRET) != given:
            return Reply(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"})
        for key, value in (
            ("Action", "SendSms"),
            ("Version", "2017-05-25"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("Format", "JSON"),
            ("AccessKeyId", KEY_ID),
        ):
            if fields.get(key) != value:
                return Reply(400, {"Code": "MissingParameter", "Message": key})
        if self.outcome != "OK":
            return Reply(
                200, {"Code": self.outcome, "Message": f"refused {fields['PhoneNumbers']}", "RequestId": "r-1"}
            )
        return Reply(200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r-1"})


def _aliyun(url: str, secret: str = SECRET) -> AliyunBackend:
    return AliyunBackend(url, KEY_ID, secret, "青田公安", CODES)


def test_percent_encoding_follows_the_aliyun_rule():
    assert percent_encode("a b*c~d+e/中") == "a%20b%2Ac~d%2Be%2F%E4%B8%AD"


def test_signature_matches_a_hand_computed_string_to_sign():
    import base64
    import hashlib
    import hmac

    params = {"b": "2 3", "a": "中", "Timestamp": "2026-11-30T02:00:00Z"}
    string_to_sign = "POST&%2F&" + percent_encode("Timestamp=2026-11-30T02%3A00%3A00Z&a=%E4%B8%AD&b=2%203")
    expected = base64.b64encode(hmac.new(b"key&", string_to_sign.encode(), hashlib.sha1).digest()).decode()
    assert sign(params, "key") == expected


def test_aliyun_request_carries_every_field():
    backend = _aliyun("http://127.0.0.1:1/")
    fields = backend.request_params(
        "msg-1",
        PHONE,
        "login_code",
        PARAMS,
        now=dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        nonce="n-1",
    )
    assert fields["Timestamp"] == "2026-11-30T02:00:00Z"
    assert fields["PhoneNumbers"] == PHONE and fields["SignName"] == "青田公安"
    assert fields["TemplateCode"] == CODES["login_code"] and fields["OutId"] == "msg-1"
    assert fields["TemplateParam"] == '{"code":"042917"}'
    assert fields["Signature"] == sign({k: v for k, v in fields.items() if k != "Signature"}, SECRET)


def test_aliyun_send_is_accepted_by_a_stub_that_checks_the_signature():
    with GatewayStub(AliyunStub()) as stub:
        biz_id = _aliyun(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert biz_id == "900619746936498440^0"
    fields = dict(urllib.parse.parse_qsl(stub.requests[0].body.decode()))
    assert fields["TemplateParam"] == '{"code":"042917"}' and fields["OutId"] == "msg-1"


def test_aliyun_wrong_secret_is_refused_permanently():
    with GatewayStub(AliyunStub()) as stub:
        with pytest.raises(PermanentDeliveryError, match="SignatureDoesNotMatch"):
            _aliyun(stub.url, secret="not-the-secret").send("msg-1", PHONE, SMS, PARAMS)


def test_aliyun_flow_control_is_retryable_and_a_bad_number_permanent():
    with GatewayStub(AliyunStub("isv.BUSINESS_LIMIT_CONTROL")) as stub:
        with pytest.raises(RetryableDeliveryError) as info:
            _aliyun(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert info.value.retry_after and info.value.details["provider_code"] == "isv.BUSINESS_LIMIT_CONTROL"
    with GatewayStub(AliyunStub("isv.MOBILE_NUMBER_ILLEGAL")) as stub:
        with pytest.raises(PermanentDeliveryError, match="MOBILE_NUMBER_ILLEGAL") as info:
            _aliyun(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    assert PHONE not in str(info.value)


def test_aliyun_outage_is_retryable():
    with GatewayStub(lambda r: Reply(503, b"upstream down")) as stub:
        with pytest.raises(RetryableDeliveryError):
            _aliyun(stub.url).send("msg-1", PHONE, SMS, PARAMS)
    with pytest.raises(RetryableDeliveryError):
        _aliyun(refused_url()).send("msg-1", PHONE, SMS, PARAMS)


def test_aliyun_template_without_a_code_is_permanent():
    backend = AliyunBackend("http://127.0.0.1:1/", KEY_ID, SECRET, "青田公安", {})
    with pytest.raises(PermanentDeliveryError, match="no Aliyun template code"):
        backend.send("msg-1", PHONE, SMS, PARAMS)
