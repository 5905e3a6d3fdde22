"""Short Chinese titles of rejection reasons, for the few characters an SMS variable allows.

The full reasons (message and legal basis) stay in the system; the SMS lists every reason
by a title of a few characters and tells the applicant where to read the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from govcred.core import Finding
from govcred.plugins.sms_gateway.templates import fit_list

SHORT_TITLES: dict[str, str] = {
    "ID_NUMBER_INVALID": "身份号码有误",
    "DOCUMENT_NOT_ELIGIBLE": "证件不适用",
    "LOCAL_HUKOU": "本县户籍",
    "COMMITMENT_MISSING": "未作承诺",
    "RESIDENCE_OUTSIDE_COUNTY": "居住地不在本县",
    "AGENT_REQUIRED": "须监护人代办",
    "AGENT_NOT_ALLOWED": "代办不符",
    "NO_QUALIFYING_CONDITION": "无合法稳定条件",
    "PERMIT_MISSING": "无原居住证",
    "PERMIT_NOT_ZHEJIANG": "非浙江居住证",
    "PERMIT_NOT_VALID": "原证已失效",
    "REGISTRATION_NOT_CURRENT": "无有效居住登记",
    "REGISTRATION_TOO_SHORT": "登记不满半年",
    "ALREADY_HOLDS_PERMIT": "已持证或在办",
}
#: A title made from an unknown finding's message: its first clause, at most this long.
FALLBACK_TITLE_CHARS = 8
_CLAUSE_END = re.compile(r"[，。；：,.;:（(]")


def short_title(finding: Finding) -> str:
    if finding.code in SHORT_TITLES:
        return SHORT_TITLES[finding.code]
    clause = _CLAUSE_END.split(finding.message_zh.strip(), maxsplit=1)[0]
    return clause[:FALLBACK_TITLE_CHARS] or finding.code


#: Stands for the reviewer's own written reasons: free text is never copied into an SMS
#: (it may name an address or a person), the applicant reads it in the system.
OFFICER_REASONS_TITLE = "审核意见"


def reasons_text(findings: Iterable[Finding], *, officer_reasons: bool = False) -> str:
    """Every blocking reason by short title, cut to one SMS variable with the total count."""
    titles: list[str] = []
    for title in [short_title(f) for f in findings] + ([OFFICER_REASONS_TITLE] if officer_reasons else []):
        if title not in titles:
            titles.append(title)
    return fit_list(titles) if titles else "不符合办理条件"
