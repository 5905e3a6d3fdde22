"""Eligibility rules for the 浙江省居住证 (DESIGN.md, "Eligibility rules").

:func:`evaluate` runs every rule, always, and returns the findings of those that fail:
nothing short-circuits, so a rejection states every reason at once (一次性告知). Rules
read the person's registrations and permits from ``context.records`` (the live records
source, or the document's own in a dry run), never from the document.

Rules that need the applicant's age (AGENT_REQUIRED, the age part of AGENT_NOT_ALLOWED)
are skipped when the ID number gives no birth date (invalid or out-of-scope number):
ID_NUMBER_INVALID / DOCUMENT_NOT_ELIGIBLE already block, and guessing an age would add
reasons that may be wrong. Whether the agent's relation fits the stated reason is still
checked.

The document is assumed to have passed :func:`document.validate_document`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from govcred.core import ADVISORY, BLOCKING, EligibilityContext, Finding
from govcred.plugins.zhejiang_residence.chains import qualifying_chain, six_months_end
from govcred.plugins.zhejiang_residence.county import DEFAULT_CONFIG, CountyConfig
from govcred.plugins.zhejiang_residence.identifiers import (
    IdProblem,
    ResidentId,
    in_area,
    in_zhejiang,
    parse_resident_id,
)
from govcred.plugins.zhejiang_residence.records import ResidenceRecords

# ---- legal bases ------------------------------------------------------------------------
ART9 = "《居住证暂行条例》第九条"
ART9_P3 = "《居住证暂行条例》第九条第三款；《浙江省流动人口居住登记条例》第七条"
ZJ_ART2 = "《浙江省流动人口居住登记条例》第二条"
ZJ_ART16 = "《浙江省流动人口居住登记条例》第十六条"
ZJ_ART19 = "《浙江省流动人口居住登记条例》第十九条"
ZJ_ART38 = "《浙江省流动人口居住登记条例》第三十八条"
CONDITIONS_BASIS = "《居住证暂行条例》第二条、第九条第二款；《浙江省流动人口居住登记条例》第十六条、第十七条"
QINGTIAN_REFORM = "青政办发〔2023〕35号"
ID_BASIS = "GB 11643-1999《公民身份号码》；" + ART9

#: Accepted proof types per condition kind (暂行条例 art. 9 ¶2; DESIGN.md document v1).
ACCEPTED_PROOFS: dict[str, frozenset[str]] = {
    "residence": frozenset(
        {"property_certificate", "purchase_contract", "registered_rental_contract", "accommodation_certificate"}
    ),
    "employment": frozenset(
        {"labor_contract", "business_license", "employment_certificate", "social_insurance_record"}
    ),
    "schooling": frozenset({"student_card", "enrollment_certificate"}),
}
_KIND_ZH = {"residence": "合法稳定住所", "employment": "合法稳定就业", "schooling": "连续就读"}
_PROOFS_ZH = {
    "residence": "房屋产权证明、购房合同、已备案的房屋租赁合同或住宿证明",
    "employment": "劳动合同、营业执照、用人单位出具的劳动关系证明或社会保险缴纳记录",
    "schooling": "学生证或学校出具的就读证明",
}

MINOR_AGE = 16
ELDERLY_AGE = 60


def _date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def is_eligible(findings: Iterable[Finding]) -> bool:
    """Eligible iff no finding is blocking."""
    return not any(f.severity == BLOCKING for f in findings)


def evaluate(
    document: Mapping[str, Any], context: EligibilityContext, config: CountyConfig = DEFAULT_CONFIG
) -> list[Finding]:
    """Run every rule of ``config``'s county on a valid document as of ``context.as_of``;
    return the failing ones."""
    on = context.as_of
    records = ResidenceRecords.of(context.records)
    out: list[Finding] = []
    applicant = document["applicant"]
    person = _check_id(out, applicant["id_number"], "applicant.id_number", "申请人", on)
    _local_hukou(out, applicant["hukou_division"], config)
    _commitment(out, document.get("commitment"))
    _residence(out, document["residence"]["division"], config)
    _agent(out, document.get("agent"), person, applicant["id_number"], on)
    _conditions(out, document.get("conditions") or (), config, on)
    path = document["path"]
    if path == "permit_conversion":
        _permit(out, records, config)
    elif path == "registration_recognition":
        _registration(out, records, document.get("waiver"), config, on)
    _already_holds(out, context.already_holds, records, config)
    return out


# ---- identity ----------------------------------------------------------------------------


def _check_id(
    out: list[Finding], number: str, field: str, who: str, on: dt.date, *, subject: bool = True
) -> ResidentId | None:
    """Report an unusable ID number. Only the applicant (``subject``) must be in scope of the
    permit; an agent holding a HK/Macau/Taiwan or foreigner's card still has a lawful ID
    (暂行条例 art. 9 ¶3 asks for the agent's 合法有效身份证件), so only invalid numbers count."""
    parsed = parse_resident_id(number, on)
    if isinstance(parsed, ResidentId):
        return parsed
    problem: IdProblem = parsed
    if problem.not_eligible:
        if subject:
            out.append(Finding("DOCUMENT_NOT_ELIGIBLE", BLOCKING, f"{who}：{problem.message_zh}", ZJ_ART38, field))
    else:
        out.append(Finding("ID_NUMBER_INVALID", BLOCKING, f"{who}：{problem.message_zh}", ID_BASIS, field))
    return None


def _local_hukou(out: list[Finding], hukou_division: str, config: CountyConfig) -> None:
    if in_area(hukou_division, config.hukou_codes):
        out.append(
            Finding(
                "LOCAL_HUKOU",
                BLOCKING,
                f"您的户籍在{config.county_name}，不属于流动人口，无需申领浙江省居住证；如户籍已迁出，请核对户籍地行政区划代码",
                ZJ_ART2,
                "applicant.hukou_division",
            )
        )


def _commitment(out: list[Finding], commitment: Mapping[str, Any] | None) -> None:
    if not commitment or commitment.get("accepted") is not True:
        out.append(
            Finding(
                "COMMITMENT_MISSING",
                BLOCKING,
                "请阅读告知事项，勾选“我已知晓并承诺所填信息和材料真实有效”后再提交申请",
                f"{QINGTIAN_REFORM}（告知承诺制）；《居住证暂行条例》第九条第四款",
                "commitment.accepted",
            )
        )


def _residence(out: list[Finding], division: str, config: CountyConfig) -> None:
    if not in_area(division, config.current_codes):
        out.append(
            Finding(
                "RESIDENCE_OUTSIDE_COUNTY",
                BLOCKING,
                f"居住地不在{config.county_name}，请向实际居住地的公安派出所申领居住证，或更正居住地行政区划代码",
                ART9,
                "residence.division",
            )
        )


# ---- agents --------------------------------------------------------------------------------


def _agent(
    out: list[Finding], agent: Mapping[str, Any] | None, person: ResidentId | None, applicant_id: str, on: dt.date
) -> None:
    age = person.age_on(on) if person is not None else None
    minor = age is not None and age < MINOR_AGE
    if agent is None:
        if minor:
            out.append(
                Finding(
                    "AGENT_REQUIRED",
                    BLOCKING,
                    f"申请人未满{MINOR_AGE}周岁，须由其监护人代为申领，请填写监护人信息并提供双方身份证件",
                    ART9_P3,
                    "agent",
                )
            )
        return
    relation, reason = agent["relation"], agent["reason"]
    if minor and not (relation == "guardian" and reason == "minor"):
        out.append(
            Finding(
                "AGENT_REQUIRED",
                BLOCKING,
                f"申请人未满{MINOR_AGE}周岁，须由其监护人代为申领，请将代办人改为监护人，代办原因选择“未成年人”",
                ART9_P3,
                "agent.relation",
            )
        )
    problem = _agent_problem(relation, reason, age)
    if problem:
        out.append(Finding("AGENT_NOT_ALLOWED", BLOCKING, problem, ART9_P3, "agent"))
    agent_person = _check_id(out, agent["id_number"], "agent.id_number", "代办人", on, subject=False)
    if agent_person is not None and agent_person.number == applicant_id.strip().upper():
        out.append(
            Finding(
                "AGENT_NOT_ALLOWED",
                BLOCKING,
                "代办人不能是申请人本人；本人申请时请删除代办人信息",
                ART9_P3,
                "agent.id_number",
            )
        )


def _agent_problem(relation: str, reason: str, age: int | None) -> str | None:
    """Why this agent may not apply, or None. ``age`` None = unknown: only the relation is checked."""
    if reason == "minor":
        if relation != "guardian":
            return "为未满16周岁的未成年人代办，代办人须为其监护人，请更正代办人关系"
        if age is not None and age >= MINOR_AGE:
            return f"申请人已满{MINOR_AGE}周岁，不能以未成年人为由代办；请本人申请，或如实选择代办原因"
        return None
    # elderly or disabled: close relatives (暂行条例 art. 9 ¶3; 浙江条例 art. 7)
    if relation != "close_relative":
        return "为行动不便的老年人、残疾人代办，代办人须为其近亲属，请更正代办人关系"
    if reason == "elderly" and age is not None and age < ELDERLY_AGE:
        return f"申请人未满{ELDERLY_AGE}周岁，不能以老年人为由代办；请本人申请，或如实选择代办原因"
    return None


# ---- conditions ----------------------------------------------------------------------------


def _conditions(out: list[Finding], conditions: Iterable[Mapping[str, Any]], config: CountyConfig, on: dt.date) -> None:
    county_codes = config.current_codes
    qualifying = False
    for i, cond in enumerate(conditions):
        kind = cond["kind"]
        label = _KIND_ZH.get(kind, kind)
        ok = True
        if not in_area(cond["division"], county_codes):
            ok = False
            out.append(
                Finding(
                    "CONDITION_OUTSIDE_COUNTY",
                    ADVISORY,
                    f"第{i + 1}项条件（{label}）不在{config.county_name}，不能作为在本县申领的条件；请提供在本县的住所、就业或就读证明",
                    CONDITIONS_BASIS,
                    f"conditions[{i}].division",
                )
            )
        since = dt.date.fromisoformat(cond["since"])
        until = cond.get("until")
        until_date = dt.date.fromisoformat(until) if until else None
        if since > on or (until_date is not None and until_date < on):
            ok = False
            when = f"自{_date(since)}起" if since > on else f"已于{_date(until_date)}结束"  # type: ignore[arg-type]
            out.append(
                Finding(
                    "CONDITION_NOT_CURRENT",
                    ADVISORY,
                    f"第{i + 1}项条件（{label}）{when}，在审核日不成立；请提供目前仍然有效的证明",
                    CONDITIONS_BASIS,
                    f"conditions[{i}].{'since' if since > on else 'until'}",
                )
            )
        accepted = ACCEPTED_PROOFS.get(kind)
        if accepted is None or cond["proof"] not in accepted:
            ok = False
            out.append(
                Finding(
                    "PROOF_TYPE_INVALID",
                    ADVISORY,
                    f"第{i + 1}项条件（{label}）的证明材料类型不符合规定；可用的材料为：{_PROOFS_ZH.get(kind, '')}",
                    CONDITIONS_BASIS,
                    f"conditions[{i}].proof",
                )
            )
        if not cond.get("attachments"):
            ok = False
            out.append(
                Finding(
                    "MATERIAL_MISSING",
                    ADVISORY,
                    f"第{i + 1}项条件（{label}）没有上传证明材料，请补充上传",
                    f"{ART9}第二款、第五款",
                    f"conditions[{i}].attachments",
                )
            )
        qualifying = qualifying or ok
    if not qualifying:
        out.append(
            Finding(
                "NO_QUALIFYING_CONDITION",
                BLOCKING,
                f"须在{config.county_name}有合法稳定就业、合法稳定住所或连续就读之一，并上传相应证明材料；请按各项提示补正",
                CONDITIONS_BASIS,
                "conditions",
            )
        )


# ---- path 1: existing permit ------------------------------------------------------------------


def _permit(out: list[Finding], records: ResidenceRecords, config: CountyConfig) -> None:
    permits = records.permits
    if not permits:
        out.append(
            Finding(
                "PERMIT_MISSING",
                BLOCKING,
                "未查到您持有的浙江省居住证；请核对证件信息，或改为按居住登记办理（连续登记满六个月）",
                QINGTIAN_REFORM,
                "existing_permit",
            )
        )
        return
    zhejiang = [p for p in permits if in_zhejiang(p.issuer_division)]
    if not zhejiang:
        out.append(
            Finding(
                "PERMIT_NOT_ZHEJIANG",
                BLOCKING,
                "您的居住证不是浙江省内签发的，不能互认转换；请改为按居住登记办理",
                f"{QINGTIAN_REFORM}；{ZJ_ART16}",
                "existing_permit.issuer_division",
            )
        )
        return
    if not any(p.status == "valid" for p in zhejiang):
        suspended = any(p.status == "suspended" for p in zhejiang)
        what = "因未按期签注使用功能中止，请先到发证地补办签注" if suspended else "已被收缴或注销，不能互认转换"
        out.append(
            Finding(
                "PERMIT_NOT_VALID",
                BLOCKING,
                f"您的居住证{what}；也可改为按居住登记办理",
                f"{ZJ_ART19}；{QINGTIAN_REFORM}",
                "existing_permit.status",
            )
        )


# ---- path 2: registrations ----------------------------------------------------------------------


def _registration(
    out: list[Finding], records: ResidenceRecords, waiver: Mapping[str, Any] | None, config: CountyConfig, on: dt.date
) -> None:
    best = qualifying_chain(records.registrations, config.current_codes, config.max_gap_days, on)
    if best is None:
        out.append(
            Finding(
                "REGISTRATION_NOT_CURRENT",
                BLOCKING,
                f"未查到您在{config.county_name}有效的居住登记；请先到居住地公安派出所或通过“浙里办”申报居住登记",
                ZJ_ART16,
                "registrations",
            )
        )
        return
    end = six_months_end(best.start)
    if on > end or _waived(waiver):
        return
    out.append(
        Finding(
            "REGISTRATION_TOO_SHORT",
            BLOCKING,
            f"您的浙江省内居住登记自{_date(best.start)}起连续计算，至{_date(end)}满六个月，"
            f"请于{_date(end + dt.timedelta(days=1))}及以后申请；属于县级以上人民政府规定的投资创业、引进人才的，请填写认定依据",
            ZJ_ART16,
            "registrations",
        )
    )


def _waived(waiver: Mapping[str, Any] | None) -> bool:
    """An art. 16 ¶2 designation (investment/entrepreneurship, recruited talent) with its reference."""
    if not waiver or waiver.get("basis") not in ("investment_entrepreneurship", "recruited_talent"):
        return False
    reference = waiver.get("reference")
    return isinstance(reference, str) and bool(reference.strip())


def _already_holds(out: list[Finding], already_holds: bool, records: ResidenceRecords, config: CountyConfig) -> None:
    own = any(p.status == "valid" and in_area(p.issuer_division, config.current_codes) for p in records.permits)
    if already_holds or own:
        out.append(
            Finding(
                "ALREADY_HOLDS_PERMIT",
                BLOCKING,
                f"您已持有{config.county_name}有效的居住证或已有办理中的申请，无需重复申领；证件损坏或丢失请申请换领、补领",
                "《居住证暂行条例》第十一条；《浙江省流动人口居住登记条例》第二十二条",
                None,
            )
        )
