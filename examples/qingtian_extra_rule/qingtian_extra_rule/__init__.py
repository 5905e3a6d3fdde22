"""Qingtian extra rule: an example of a third-party govcred plugin.

One hook implementation: a 浙江省居住证 application in Qingtian whose every residence,
employment or schooling proof ends before the permit's first endorsement gets an advisory
finding, so the reviewer can tell the applicant now rather than at the endorsement.
It imports only govcred's public plugin API, ``govcred.core``.
"""

from __future__ import annotations

from govcred.core import hookimpl
from qingtian_extra_rule.rules import conditions_end_before_endorsement

#: The application document this rule reads (the zhejiang_residence plugin's published schema).
SCHEMA = "zj-residence/application@1"


@hookimpl
def govcred_eligibility_rules(application, context):
    if application.schema != SCHEMA or application.kind != "first_issue":
        return None
    return conditions_end_before_endorsement(application.document, context.as_of)
