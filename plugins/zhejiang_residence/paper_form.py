"""《浙江省居住证》互认转换申请表 (青政办发〔2023〕35号, attachment 1) as an A4 PDF: blank for
the window, or prefilled from an application, with boxes for the signature and the date."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govcred.core import A4Page

PATHS_ZH = {"registration_recognition": "居住登记满六个月申领", "permit_conversion": "省内其他地区居住证转换"}
KINDS_ZH = {"residence": "合法稳定住所", "employment": "合法稳定就业", "schooling": "连续就读"}
PROOFS_ZH = {
    "registered_rental_contract": "登记备案的房屋租赁合同",
    "property_certificate": "不动产权证书",
    "purchase_contract": "购房合同",
    "accommodation_certificate": "住宿证明",
    "labor_contract": "劳动合同",
    "business_license": "营业执照",
    "employment_certificate": "就业证明",
    "social_insurance_record": "社会保险缴纳记录",
    "student_card": "学生证",
    "enrollment_certificate": "在读证明",
}
WAIVERS_ZH = {"investment_entrepreneurship": "投资创业人员", "recruited_talent": "引进人才"}


def _condition_text(condition: Mapping[str, Any]) -> str:
    where = condition.get("employer") or condition.get("school") or ""
    parts = [PROOFS_ZH.get(condition.get("proof", ""), condition.get("proof", ""))]
    if where:
        parts.append(where)
    since = condition.get("since")
    if isinstance(since, str) and len(since) == 10:
        parts.append(f"自{int(since[:4])}年{int(since[5:7])}月{int(since[8:])}日起")
    return "，".join(p for p in parts if p)


def paper_form(document: Mapping[str, Any] | None, facts: Mapping[str, str], county_name: str) -> bytes:
    doc = document or {}
    applicant = doc.get("applicant") or {}
    residence = doc.get("residence") or {}
    page = A4Page("《浙江省居住证》互认转换申请表")
    page.text_block(f"受理单位：{county_name}公安局　　办件编号：{facts.get('reference', '')}", size=11)
    page.heading("申请人")
    page.row("姓名", applicant.get("name", ""))
    page.row("公民身份号码", facts.get("id_masked", ""))
    page.row("联系电话", applicant.get("phone", ""))
    page.row("户籍地址", applicant.get("hukou_address", ""))
    page.row("居住地址", residence.get("address", ""))
    page.row("办理途径", PATHS_ZH.get(doc.get("path", ""), "□ 居住登记满六个月申领　□ 省内其他地区居住证转换"))
    page.heading("申领条件（合法稳定住所、合法稳定就业、连续就读之一）")
    conditions = {c.get("kind"): c for c in doc.get("conditions") or () if isinstance(c, Mapping)}
    for kind, label in KINDS_ZH.items():
        page.row(label, _condition_text(conditions[kind]) if kind in conditions else "")
    waiver = doc.get("waiver") or {}
    page.row("免于居住时间限制", f"{WAIVERS_ZH.get(waiver.get('basis', ''), '')} {waiver.get('reference', '')}".strip())
    agent = doc.get("agent") or {}
    page.row("代办人", agent.get("name", ""))
    page.heading("办结期限")
    page.row("办结期限", facts.get("deadline", "自受理之日起 2 个工作日内（受理当日不计入）"))
    page.ln(2)
    page.text_block(
        "本人承诺：所填信息和所交材料真实、准确、完整，如有虚假，愿意承担相应法律责任，已签发的居住证将被依法注销。"
    )
    page.sign_boxes("申请人（代办人）签名", "日期")
    page.sign_boxes("受理人签名", "受理日期")
    return page.bytes()
