"""Application document v1 (``zj-residence/application@1``, DESIGN.md): shape and types.

:func:`validate_document` returns every :class:`FieldError` at once, with paths such as
``applicant.phone`` or ``conditions[1].since`` and messages a resident can act on.

It checks structure only. Whether an ID number is a valid resident ID, whether a proof
type fits its condition, whether attachments were uploaded, whether the commitment was
accepted: those are eligibility *findings* with a legal basis (rules.py), so that a
reviewer sees them with every other reason and an applicant can still save a draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from govcred.core import FieldError, PersonRecords
from govcred.plugins.zhejiang_residence.identifiers import is_division, is_mobile, uscc_problem
from govcred.plugins.zhejiang_residence.records import snapshot

SCHEMA = "zj-residence/application@1"

PATHS = ("permit_conversion", "registration_recognition")
CHANNELS = ("online", "window")
CONDITION_KINDS = ("residence", "employment", "schooling")
PERMIT_STATUSES = ("valid", "suspended", "revoked")
AGENT_RELATIONS = ("guardian", "close_relative")
AGENT_REASONS = ("minor", "elderly", "disabled")
WAIVER_BASES = ("investment_entrepreneurship", "recruited_talent")

_REQUIRED = object()
_OPTIONAL = object()  # may be absent or null

_TOP = {
    "schema": _REQUIRED,
    "path": _REQUIRED,
    "channel": _REQUIRED,
    "applicant": _REQUIRED,
    "agent": _OPTIONAL,
    "residence": _REQUIRED,
    "conditions": _REQUIRED,
    "existing_permit": _OPTIONAL,
    "registrations": _OPTIONAL,
    "waiver": _OPTIONAL,
    "commitment": _REQUIRED,
}
_APPLICANT = ("name", "id_number", "phone", "hukou_division", "hukou_address")
_RESIDENCE = ("division", "address")
_CONDITION_COMMON = ("kind", "proof", "division", "since", "until", "attachments")
_CONDITION_EXTRA = {"residence": (), "employment": ("employer", "employer_uscc"), "schooling": ("school",)}
_PERMIT = ("number", "issuer_division", "issued", "status")
_REGISTRATION = ("division", "declared", "ended")
#: ``attachments``: the proof of the relation (户口簿, 出生医学证明, 监护证明) the reviewer checks
_AGENT = {
    "name": _REQUIRED,
    "id_number": _REQUIRED,
    "relation": _REQUIRED,
    "reason": _REQUIRED,
    "attachments": _OPTIONAL,
}
_WAIVER = ("basis", "reference")
_COMMITMENT = ("accepted", "at")
_NULLABLE = frozenset({"until", "ended", "at"})

_MAX_TEXT = 200
_MAX_ITEMS = 50


def _one_of(options: tuple[str, ...]) -> str:
    return "、".join(options)


class _Checker:
    """Walks one document and collects errors (paths are built only when an error occurs)."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def obj(self, value: Any, path: str, keys: tuple[str, ...] | dict[str, object]) -> Mapping[str, Any] | None:
        """Check that ``value`` is an object with exactly ``keys`` (optional ones may be absent)."""
        if not isinstance(value, Mapping):
            self.add(path, "TYPE", "应为一个对象（JSON object）")
            return None
        spec = keys if isinstance(keys, dict) else dict.fromkeys(keys, _REQUIRED)
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in spec:
                self.add(f"{prefix}{key}", "UNKNOWN_FIELD", "不认识的字段，请删除")
        for key, need in spec.items():
            if key not in value and need is _REQUIRED and key not in _NULLABLE:
                self.add(f"{prefix}{key}", "REQUIRED", "缺少必填项，请填写")
        return value

    def text(self, value: Any, path: str, what: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.add(path, "REQUIRED" if value in (None, "") else "TYPE", f"请填写{what}")
            return None
        if len(value) > _MAX_TEXT:
            self.add(path, "TOO_LONG", f"{what}过长，最多{_MAX_TEXT}个字")
            return None
        return value

    def enum(self, value: Any, path: str, options: tuple[str, ...], what: str) -> str | None:
        if value not in options or not isinstance(value, str):
            self.add(path, "ENUM", f"{what}只能是以下之一：{_one_of(options)}")
            return None
        return value

    def date(self, value: Any, path: str, what: str, *, nullable: bool = False) -> dt.date | None:
        if value is None and nullable:
            return None
        if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.add(path, "DATE", f"{what}应为真实存在的日期，格式为YYYY-MM-DD（例如2026-03-01）")
        return None

    def period(self, obj: Mapping[str, Any], path: str, start: tuple[str, str], end: tuple[str, str]) -> None:
        """A required start date and an optional (nullable) end date not before it."""
        (start_key, start_zh), (end_key, end_zh) = start, end
        first = self.date(obj[start_key], f"{path}.{start_key}", start_zh) if start_key in obj else None
        last = self.date(obj.get(end_key), f"{path}.{end_key}", end_zh, nullable=True)
        if first and last and last < first:
            self.add(f"{path}.{end_key}", "DATE_ORDER", f"{end_zh}不能早于{start_zh}")

    def division(self, value: Any, path: str, what: str, *, exact6: bool = False) -> None:
        if not is_division(value, exact6=exact6):
            digits = "6位数字" if exact6 else "6位、9位或12位数字"
            self.add(path, "DIVISION", f"{what}应为{digits}的行政区划代码")

    def items(self, value: Any, path: str, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.add(path, "TYPE", f"{what}应为列表")
            return []
        if len(value) > _MAX_ITEMS:
            self.add(path, "TOO_MANY", f"{what}最多{_MAX_ITEMS}项")
            return []
        return value


def validate_document(document: Any) -> list[FieldError]:
    """Every structural problem of an application document; empty when it is valid."""
    c = _Checker()
    doc = c.obj(document, "", _TOP)
    if doc is None:
        return c.errors
    if "schema" in doc and doc["schema"] != SCHEMA:
        c.add("schema", "SCHEMA", f"申请书版本应为 {SCHEMA}")
    if "path" in doc:
        c.enum(doc["path"], "path", PATHS, "办理途径")
    if "channel" in doc:
        c.enum(doc["channel"], "channel", CHANNELS, "申请渠道")
    if "applicant" in doc:
        _applicant(c, doc["applicant"])
    if doc.get("agent") is not None:
        _person(c, doc["agent"], "agent", _AGENT, "代办人")
    if "residence" in doc:
        res = c.obj(doc["residence"], "residence", _RESIDENCE)
        if res is not None:
            if "division" in res:
                c.division(res["division"], "residence.division", "居住地行政区划代码")
            if "address" in res:
                c.text(res["address"], "residence.address", "居住地详细地址")
    if "conditions" in doc:
        for i, cond in enumerate(c.items(doc["conditions"], "conditions", "申领条件")):
            _condition(c, cond, f"conditions[{i}]")
    if doc.get("existing_permit") is not None:
        _permit(c, doc["existing_permit"])
    if doc.get("registrations") is not None:
        for i, reg in enumerate(c.items(doc["registrations"], "registrations", "居住登记记录")):
            _registration(c, reg, f"registrations[{i}]")
    if doc.get("waiver") is not None:
        w = c.obj(doc["waiver"], "waiver", _WAIVER)
        if w is not None:
            if "basis" in w:
                c.enum(w["basis"], "waiver.basis", WAIVER_BASES, "免于居住时间限制的依据")
            if "reference" in w:
                c.text(w["reference"], "waiver.reference", "县级以上人民政府认定的文件或名单编号")
    if "commitment" in doc:
        _commitment(c, doc["commitment"])
    return c.errors


def _applicant(c: _Checker, value: Any) -> None:
    a = _person(c, value, "applicant", _APPLICANT, "申请人")
    if a is None:
        return
    if "phone" in a and not is_mobile(a["phone"]):
        c.add("applicant.phone", "PHONE", "手机号码应为11位数字，以13至19开头")
    if "hukou_division" in a:
        c.division(a["hukou_division"], "applicant.hukou_division", "户籍地行政区划代码", exact6=True)
    if "hukou_address" in a:
        c.text(a["hukou_address"], "applicant.hukou_address", "户籍地址")


def _person(
    c: _Checker, value: Any, path: str, keys: tuple[str, ...] | dict[str, object], who: str
) -> Mapping[str, Any] | None:
    p = c.obj(value, path, keys)
    if p is None:
        return None
    if "name" in p:
        c.text(p["name"], f"{path}.name", f"{who}姓名")
    # The number's format and checksum are eligibility findings (ID_NUMBER_INVALID);
    # here it only has to be text.
    if "id_number" in p:
        c.text(p["id_number"], f"{path}.id_number", f"{who}公民身份号码")
    if "relation" in p:
        c.enum(p["relation"], f"{path}.relation", AGENT_RELATIONS, "代办人与申请人的关系")
    if "reason" in p:
        c.enum(p["reason"], f"{path}.reason", AGENT_REASONS, "代办原因")
    if p.get("attachments") is not None:
        _attachment_ids(c, p["attachments"], f"{path}.attachments")
    return p


def _attachment_ids(c: _Checker, value: Any, path: str) -> None:
    for j, att in enumerate(c.items(value, path, "附件")):
        if not isinstance(att, str) or not att.strip():
            c.add(f"{path}[{j}]", "TYPE", "附件应为上传后得到的附件编号")


def _condition(c: _Checker, value: Any, path: str) -> None:
    kind = value.get("kind") if isinstance(value, Mapping) else None
    extra = _CONDITION_EXTRA.get(kind, ()) if isinstance(kind, str) else ()
    cond = c.obj(value, path, _CONDITION_COMMON + extra)
    if cond is None:
        return
    if "kind" in cond:
        c.enum(cond["kind"], f"{path}.kind", CONDITION_KINDS, "申领条件类型")
    # Whether the proof type fits the kind is a finding (PROOF_TYPE_INVALID).
    if "proof" in cond:
        c.text(cond["proof"], f"{path}.proof", "证明材料类型")
    if "division" in cond:
        c.division(cond["division"], f"{path}.division", "该条件所在地的行政区划代码")
    c.period(cond, path, ("since", "开始日期"), ("until", "结束日期"))
    if "attachments" in cond:
        _attachment_ids(c, cond["attachments"], f"{path}.attachments")
    if "employer" in cond:
        c.text(cond["employer"], f"{path}.employer", "用人单位名称")
    if "employer_uscc" in cond:
        problem = uscc_problem(cond["employer_uscc"])
        if problem == "format":
            c.add(
                f"{path}.employer_uscc",
                "USCC",
                "统一社会信用代码应为18位，由数字和大写字母组成（不含I、O、S、V、Z），请核对营业执照",
            )
        elif problem == "checksum":
            c.add(f"{path}.employer_uscc", "USCC_CHECKSUM", "统一社会信用代码校验位不正确，请核对营业执照后重新填写")
    if "school" in cond:
        c.text(cond["school"], f"{path}.school", "学校名称")


def _permit(c: _Checker, value: Any) -> None:
    p = c.obj(value, "existing_permit", _PERMIT)
    if p is None:
        return
    if "number" in p:
        c.text(p["number"], "existing_permit.number", "现有居住证编号")
    if "issuer_division" in p:
        c.division(p["issuer_division"], "existing_permit.issuer_division", "发证机关所在地行政区划代码", exact6=True)
    if "issued" in p:
        c.date(p["issued"], "existing_permit.issued", "发证日期")
    if "status" in p:
        c.enum(p["status"], "existing_permit.status", PERMIT_STATUSES, "证件状态")


def _registration(c: _Checker, value: Any, path: str) -> None:
    r = c.obj(value, path, _REGISTRATION)
    if r is None:
        return
    if "division" in r:
        c.division(r["division"], f"{path}.division", "登记地行政区划代码")
    c.period(r, path, ("declared", "申报登记日期"), ("ended", "登记结束日期"))


def _commitment(c: _Checker, value: Any) -> None:
    m = c.obj(value, "commitment", _COMMITMENT)
    if m is None:
        return
    if "accepted" in m and not isinstance(m["accepted"], bool):
        c.add("commitment.accepted", "TYPE", "是否接受告知承诺应为 true 或 false")
    at = m.get("at")
    if at is None:
        if m.get("accepted") is True:
            c.add("commitment.at", "REQUIRED", "已接受告知承诺时须记录承诺时间")
        return
    parsed = None
    if isinstance(at, str) and len(at) >= 19 and at[10] == "T":
        try:
            parsed = dt.datetime.fromisoformat(at)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        c.add("commitment.at", "DATETIME", "承诺时间应为带时区的ISO 8601时间，例如2026-03-01T09:30:00+08:00")


# ---- records declared in the document (dry runs) ---------------------------------------


def records_from_document(document: Mapping[str, Any]) -> PersonRecords:
    """The registrations and existing permit a (valid) document declares, as a records snapshot."""
    permit = document.get("existing_permit")
    return snapshot(document.get("registrations") or (), (permit,) if permit else (), source="document")
