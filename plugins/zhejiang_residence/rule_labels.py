"""Short Chinese labels of the rule codes (the catalogue in DESIGN.md), for the bureau's
reports and charts: a finding's own message names the case, these name the rule."""

from __future__ import annotations

RULE_LABELS: dict[str, str] = {
    "ID_NUMBER_INVALID": "身份号码有误",
    "DOCUMENT_NOT_ELIGIBLE": "证件类型不适用",
    "LOCAL_HUKOU": "本县户籍",
    "COMMITMENT_MISSING": "未确认告知承诺",
    "RESIDENCE_OUTSIDE_COUNTY": "居住地不在本县",
    "AGENT_REQUIRED": "未成年人须监护人代办",
    "AGENT_NOT_ALLOWED": "代办人不符合条件",
    "NO_QUALIFYING_CONDITION": "无符合条件的住所/就业/就读",
    "CONDITION_OUTSIDE_COUNTY": "条件不在本县",
    "CONDITION_NOT_CURRENT": "条件不在有效期内",
    "PROOF_TYPE_INVALID": "证明材料类型不符",
    "MATERIAL_MISSING": "缺少证明材料",
    "PERMIT_MISSING": "未提供原居住证",
    "PERMIT_NOT_ZHEJIANG": "原居住证非浙江签发",
    "PERMIT_NOT_VALID": "原居住证已失效",
    "REGISTRATION_NOT_CURRENT": "无有效居住登记",
    "REGISTRATION_TOO_SHORT": "居住登记不满六个月",
    "ALREADY_HOLDS_PERMIT": "已持有居住证或申请办理中",
}
