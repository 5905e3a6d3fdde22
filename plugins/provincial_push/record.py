"""The GB/T 36903-2018 metadata record of one credential, as pushed to the province.

Field names are the pinyin abbreviations implementations of 36903 use. The holder's ID
number (持证主体代码 ``CZZTDM``) is not part of the record built here: it travels in the
outbox row's encrypted ``secret`` and is put back by the channel handler just before
sending (:func:`with_holder_code`), so the plain payload never holds it; so does the
holder's name (``CZZT``), blank in the waiting record.

Status (``ZZZT``): no national code list was found (reference/domain.md §4), so the record
carries govcred's own values (valid, suspended, revoked, replaced, cancelled, superseded)
with their Chinese label (``ZZZTMC``); a platform with its own codes maps them at its edge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from govcred.core import BEIJING
from govcred.plugins.provincial_push.identifier import licence_identifier, normalise_serial

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Credential
    from govcred.plugins.provincial_push.config import PushConfig

#: 持证主体代码类型: 111 = 公民身份号码 (GB/T 36903 holder code types: 111 ID number, 001 USCC)
HOLDER_CODE_TYPE_ID_NUMBER = "111"
STATUS_LABELS = {
    "valid": "有效",
    "suspended": "中止",
    "revoked": "收缴作废",
    "replaced": "已换领",
    "cancelled": "注销",
    "superseded": "已由新版本替代",
}


def _date(at: dt.datetime | dt.date | None) -> str | None:
    if at is None:
        return None
    if isinstance(at, dt.datetime):
        at = at.astimezone(BEIJING).date()
    return at.isoformat()


def credential_record(
    credential: Credential, subject: Mapping[str, str], config: PushConfig, status: str | None = None
) -> dict[str, Any]:
    """The record (without the holder's ID number); ``status`` overrides the credential's.

    :param subject: the holder as the credential type names them (hooks receive it), so the
        record reads no application document.
    :raises ValueError: the permit number or version cannot form a GB/T 36904 identifier.
    """
    status = status or credential.status
    identifier = licence_identifier(
        config.type_code, config.authority_uscc, normalise_serial(credential.permit_no), credential.version
    )
    return {
        "ZZMC": config.licence_name,
        "ZZLXDM": config.type_code,
        "ZZBH": credential.permit_no,
        "ZZBS": identifier,
        "ZZBFJG": config.authority,
        "ZZBFJGDM": config.authority_uscc,
        "ZZBFRQ": _date(credential.issued_at),
        "CZZT": str(subject.get("name", "")).strip(),
        "CZZTDMLXDM": HOLDER_CODE_TYPE_ID_NUMBER,
        # validity starts when the credential does: the issue day, except for a permit signed
        # again after its key was revoked, whose validity did not change
        "ZZYXQQSRQ": _date(credential.not_before),
        "ZZYXQJZRQ": _date(credential.expires_at),
        "ZZZT": status,
        "ZZZTMC": STATUS_LABELS.get(status, status),
        # 证照所属管辖属地编码 has no abbreviation in the sources found; this one follows the pattern
        "GXSDBM": config.county_code,
        "KZ_JZQSRQ": _date(credential.residence_start),
    }


def holder_code(subject: Mapping[str, str]) -> str:
    return str(subject.get("id_number", "")).strip().upper()


def with_holder_code(record: dict[str, Any], id_number: str, name: str | None = None) -> dict[str, Any]:
    """The full record for the platform: ``CZZTDM`` placed after ``CZZT``; the holder's name
    put back into ``CZZT`` when it travelled encrypted too (rows queued before it did carry it)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = name if key == "CZZT" and name else value
        if key == "CZZT":
            out["CZZTDM"] = id_number
    return out


def without_holder_name(record: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The record as it waits in the outbox (``CZZT`` blank) and the name, for the secret."""
    return {**record, "CZZT": ""}, str(record.get("CZZT", ""))
