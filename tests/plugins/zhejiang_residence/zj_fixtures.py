"""Builders for application documents and ID numbers used across the plugin's tests."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from govcred.core.config import Settings
from govcred.core.models import EligibilityContext, PersonRecords
from govcred.plugins.zhejiang_residence.identifiers import id_check_char, uscc_check_char
from govcred.plugins.zhejiang_residence.records import ExistingPermit, Registration, ResidenceRecords

AS_OF = dt.date(2027, 3, 1)


def make_id(birth: str, address: str = "330102", seq: str = "123") -> str:
    """A resident ID number with a correct check character (``birth`` = YYYYMMDD)."""
    body = address + birth + seq
    return body + id_check_char(body)


def make_uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


APPLICANT_ID = make_id("19900307")
EMPLOYER_USCC = make_uscc("91331121MA2HXXXX0".replace("X", "1"))
#: A second county's ``[plugins.zhejiang_residence]`` table (缙云县, with fewer benefits).
JINYUN = {
    "county_code": "331122",
    "county_name": "缙云县",
    "authority": "缙云县公安局",
    "authority_uscc": make_uscc("11331122002503440"),
    "old_codes": ["332823"],
    "benefits": ["compulsory_education", "public_health"],
}


def base_document(**top: Any) -> dict[str, Any]:
    """An eligible registration-recognition application in Qingtian (with AS_OF records)."""
    doc: dict[str, Any] = {
        "schema": "zj-residence/application@1",
        "path": "registration_recognition",
        "channel": "online",
        "applicant": {
            "name": "张三明",
            "id_number": APPLICANT_ID,
            "phone": "13800138000",
            "hukou_division": "330102",
            "hukou_address": "杭州市上城区某路1号",
        },
        "agent": None,
        "residence": {"division": "331121001", "address": "青田县鹤城街道某路2号"},
        "conditions": [
            {
                "kind": "employment",
                "proof": "labor_contract",
                "employer": "青田某贸易有限公司",
                "employer_uscc": EMPLOYER_USCC,
                "division": "331121",
                "since": "2026-01-01",
                "until": None,
                "attachments": ["att-1"],
            }
        ],
        "existing_permit": None,
        "registrations": [{"division": "331121", "declared": "2026-08-31", "ended": None}],
        "waiver": None,
        "commitment": {"accepted": True, "at": "2027-02-20T09:30:00+08:00"},
    }
    doc = copy.deepcopy(doc)
    doc.update(top)
    return doc


def regs(*rows: tuple[str, str, str | None]) -> PersonRecords:
    """A records snapshot from (division, declared, ended) rows."""
    return ResidenceRecords(
        registrations=tuple(
            Registration(d, dt.date.fromisoformat(a), dt.date.fromisoformat(e) if e else None) for d, a, e in rows
        ),
        source="test",
    ).snapshot()


def permits(*held: ExistingPermit) -> PersonRecords:
    """A records snapshot holding existing permits only."""
    return ResidenceRecords(permits=held, source="test").snapshot()


def context(records: PersonRecords | None = None, as_of: dt.date = AS_OF, **kw: Any) -> EligibilityContext:
    """A context with default (Qingtian) settings unless ``settings`` is given: explicit, so
    that no county installed by another test's ``govcred_configure`` leaks in."""
    if records is None:
        records = regs(("331121", "2026-08-31", None))
    kw.setdefault("settings", Settings())
    return EligibilityContext(as_of=as_of, records=records, **kw)
