"""What the application form checks when it is sent (``CredentialType.form_errors``).

The structure check (document.py) accepts any text as an ID number, because over the API an
unusable number is an eligibility finding with its legal basis. A person typing the form,
though, should hear about a 17-digit number or a wrong check digit at once, not from an
officer two working days later: these checks name each field a resident can put right now.
The rules still run on every submitted document, so nothing here is the only line of defence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from govcred.core import FieldError
from govcred.plugins.zhejiang_residence.identifiers import ResidentId, is_mobile, parse_resident_id

_APPLICANT = (
    ("name", "请填写姓名"),
    ("id_number", "请填写公民身份号码"),
    ("phone", "请填写手机号码"),
    ("hukou_division", "请填写户籍地行政区划代码"),
    ("hukou_address", "请填写户籍地址"),
)
_AGENT = (
    ("name", "请填写代办人姓名"),
    ("id_number", "请填写代办人公民身份号码"),
    ("relation", "请选择代办人与申请人的关系"),
    ("reason", "请选择代办原因"),
)
_RESIDENCE = (("division", "请填写居住地行政区划代码"), ("address", "请填写在青田县的详细居住地址"))
#: What every filled-in condition needs, and what each kind adds.
_CONDITION = (
    ("proof", "请选择证明材料类型"),
    ("division", "请填写所在地行政区划代码"),
    ("since", "请填写开始日期"),
)
_CONDITION_EXTRA = {
    "residence": (),
    "employment": (("employer", "请填写工作单位名称"), ("employer_uscc", "请填写单位统一社会信用代码")),
    "schooling": (("school", "请填写学校名称"),),
}
_STARTS = {"residence": "自何日起居住", "employment": "自何日起就业", "schooling": "自何日起就读"}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _required(out: list[FieldError], obj: Mapping[str, Any], path: str, fields) -> None:
    for key, message in fields:
        if _blank(obj.get(key)):
            out.append(FieldError(f"{path}.{key}", "REQUIRED", message))


def _id_number(out: list[FieldError], value: Any, path: str, today: dt.date, *, subject: bool) -> None:
    if _blank(value) or not isinstance(value, str):
        return
    parsed = parse_resident_id(value, today)
    if isinstance(parsed, ResidentId) or (parsed.not_eligible and not subject):
        return
    out.append(FieldError(path, parsed.code, parsed.message_zh))


def _not_future(out: list[FieldError], value: Any, path: str, what: str, today: dt.date) -> None:
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return  # the structure check names a date that does not exist
    if day is not None and day > today:
        out.append(
            FieldError(
                path,
                "DATE_IN_FUTURE",
                f"{what}不能晚于今天（{today.year}年{today.month}月{today.day}日），请核对后重新填写",
            )
        )


def form_errors(document: Mapping[str, Any], today: dt.date) -> list[FieldError]:
    """Every problem a resident or clerk can fix on the form, in the form's order."""
    out: list[FieldError] = []
    applicant = document.get("applicant") if isinstance(document.get("applicant"), Mapping) else {}
    _required(out, applicant, "applicant", _APPLICANT[:3])
    _id_number(out, applicant.get("id_number"), "applicant.id_number", today, subject=True)
    if not _blank(applicant.get("phone")) and not is_mobile(applicant.get("phone")):
        out.append(FieldError("applicant.phone", "PHONE", "手机号码应为11位数字，以13至19开头"))
    _required(out, applicant, "applicant", _APPLICANT[3:])

    agent = document.get("agent")
    if isinstance(agent, Mapping) and agent:
        _required(out, agent, "agent", _AGENT)
        _id_number(out, agent.get("id_number"), "agent.id_number", today, subject=False)

    residence = document.get("residence") if isinstance(document.get("residence"), Mapping) else {}
    _required(out, residence, "residence", _RESIDENCE)

    conditions = document.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        out.append(
            FieldError(
                "conditions", "CONDITION_REQUIRED", "合法稳定住所、合法稳定就业、连续就读至少填写一项，并上传证明材料"
            )
        )
        conditions = []
    for i, condition in enumerate(conditions):
        if not isinstance(condition, Mapping):
            continue
        kind = condition.get("kind")
        path = f"conditions[{i}]"
        _required(out, condition, path, _CONDITION + _CONDITION_EXTRA.get(kind, ()))
        _not_future(out, condition.get("since"), f"{path}.since", _STARTS.get(kind, "开始日期"), today)
        if document.get("channel") == "online" and not condition.get("attachments"):
            out.append(
                FieldError(f"{path}.attachments", "MATERIAL_MISSING", "请上传该项条件的证明材料（照片或扫描件）")
            )

    waiver = document.get("waiver")
    if isinstance(waiver, Mapping) and waiver:
        if _blank(waiver.get("basis")):
            out.append(FieldError("waiver.basis", "REQUIRED", "填写了认定文件编号的，请选择认定类别"))
        if _blank(waiver.get("reference")):
            out.append(FieldError("waiver.reference", "REQUIRED", "请填写县级以上人民政府认定的文件或名单编号"))
    return out


#: The form's slot of each condition kind (its template's ``conditions[i]`` fieldsets).
FORM_SLOTS = ("residence", "employment", "schooling")


def form_layout(document: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted document as the form lays it out: each condition in its kind's slot, and
    without what must be given again (uploads, the commitment, the records)."""
    out = {
        k: v
        for k, v in document.items()
        if k not in ("schema", "channel", "commitment", "conditions", "registrations", "existing_permit")
    }
    slots: list[dict[str, Any]] = [{"kind": kind} for kind in FORM_SLOTS]
    for condition in document.get("conditions") or ():
        if isinstance(condition, Mapping) and condition.get("kind") in FORM_SLOTS:
            slot = slots[FORM_SLOTS.index(condition["kind"])]
            if len(slot) == 1:  # the first of a kind: the form has one slot each
                slot.update({k: v for k, v in condition.items() if k != "attachments"})
    out["conditions"] = slots
    return out
