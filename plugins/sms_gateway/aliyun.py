"""Aliyun SMS (dysmsapi ``SendSms``, version 2017-05-25), RPC-style signed request.

Signature (Aliyun "签名机制" for RPC APIs): sort every parameter except ``Signature`` by
name, percent-encode names and values (RFC 3986: only ``A-Za-z0-9-_.~`` stay as they are,
a space is ``%20``), join as ``k=v`` with ``&``; the string to sign is
``POST&%2F&`` + percentEncode(that query); the signature is
``Base64(HMAC-SHA1(AccessKeySecret + "&", string_to_sign))``.

The answer is JSON. ``Code == "OK"`` carries the ``BizId`` kept for reconciliation. Flow
control and provider-side faults are retried; everything else (bad number, template or
signature, a refused request signature) is permanent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from urllib.parse import quote

import requests

from govcred.core import PermanentDeliveryError, RetryableDeliveryError, safe_excerpt
from govcred.core import http_send as send
from govcred.plugins.sms_gateway.templates import RenderedSms

ACTION, VERSION = "SendSms", "2017-05-25"
#: Provider codes a later attempt can succeed with (flow control, provider faults, arrears).
RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.OUT_OF_SERVICE",
        "isv.AMOUNT_NOT_ENOUGH",
        "isp.SYSTEM_ERROR",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
    }
)
#: Wait proposed to the worker after flow control (Aliyun's windows are minute/hour based).
FLOW_CONTROL_RETRY_SECONDS = 60.0


def percent_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))


def sign(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` of ``params`` (which must not contain it)."""
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunBackend:
    name = "aliyun"

    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_codes: Mapping[str, str],
        *,
        timeout: tuple[float, float] = (3.0, 10.0),
    ):
        self._endpoint = endpoint
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._codes = dict(template_codes)
        self._timeout = timeout
        self._session = requests.Session()

    def request_params(
        self,
        message_id: str,
        phone: str,
        template: str,
        params: Mapping[str, str],
        *,
        now: dt.datetime | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """Every form field of one signed SendSms request."""
        if template not in self._codes:
            raise PermanentDeliveryError(f"no Aliyun template code configured for {template!r}")
        now = now or dt.datetime.now(dt.UTC)
        fields = {
            "AccessKeyId": self._key_id,
            "Action": ACTION,
            "Format": "JSON",
            "OutId": message_id,
            "PhoneNumbers": phone,
            "SignName": self._sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": self._codes[template],
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
        }
        fields["Signature"] = sign(fields, self._secret)
        return fields

    def send(self, message_id: str, phone: str, sms: RenderedSms, params: Mapping[str, str]) -> str:
        fields = self.request_params(message_id, phone, sms.template, params)
        # the form body is encoded with the same rule as the signature, so what is signed is what is sent
        body = canonical_query(fields).encode()
        response = send(
            "POST",
            self._endpoint,
            data=body,
            timeout=self._timeout,
            session=self._session,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            answer = response.json()
        except ValueError:
            raise RetryableDeliveryError(f"Aliyun answered HTTP {response.status_code} without JSON") from None
        code = answer.get("Code") if isinstance(answer, dict) else None
        if code == "OK":
            return str(answer.get("BizId") or "")
        message = str(answer.get("Message", "")) if isinstance(answer, dict) else ""
        detail = f"Aliyun SendSms {code}: {safe_excerpt(message)}"
        if code in RETRYABLE_CODES:
            raise RetryableDeliveryError(detail, retry_after=FLOW_CONTROL_RETRY_SECONDS, provider_code=code)
        raise PermanentDeliveryError(detail, provider_code=code)
