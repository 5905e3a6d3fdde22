"""Officer search: one box that takes an ID number, a 办件编号, a permit number or a phone,
tells which of them it is, and pages the matching applications as the review queue does.

Personal identifiers are never compared in clear: an ID number and a phone are looked up
through their blind indexes (the applicant's document is encrypted at rest). Every search is
audited -- who searched, for which kind, how many were found -- without the query itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_11_2

from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.exceptions import ErrorList, ValidationError
from govcred.core.reference import ALPHABET as REFERENCE_ALPHABET
from govcred.core.reference import parse_reference
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.review_queue import DEFAULT_PAGE, check_paging, encode_cursor
from govcred.core.services.search_indexes import normalise_phone, phone_index

#: who may search: every officer role that may open an application
SEARCH_ROLES = ("clerk", "reviewer", "admin")

ID_NUMBER, REFERENCE, PERMIT_NO, PHONE = "id_number", "reference", "permit_no", "phone"
#: what the page says it searched for
KIND_ZH = {ID_NUMBER: "公民身份号码", REFERENCE: "办件编号", PERMIT_NO: "居住证号码", PHONE: "手机号码"}

#: the permit numbers govcred allocates: the type's region tag, county, year and 8 digits
#: (core/services/issuance.py ``permit_prefix``); a few more digits are allowed for other counties
_PERMIT_NO = re.compile(r"[A-Z]{1,8}[0-9]{12,24}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_TOO_LONG = 64


@dataclass(frozen=True)
class SearchQuery:
    kind: str
    #: the normalised value: the printed reference, the upper-case ID or permit number, 11 digits
    value: str

    @property
    def kind_zh(self) -> str:
        return KIND_ZH[self.kind]


@dataclass(frozen=True)
class SearchPage:
    query: SearchQuery
    items: list[models.Application]
    #: the cursor of the next page, None on the last one
    next: str | None


def classify(text: object) -> SearchQuery:
    """Which kind of identifier ``text`` is, or a ValidationError on ``q`` saying why it is none.

    The ID number is recognised by its shape and its ISO 7064 MOD 11-2 check character
    (python-stdnum); no further rule of GB 11643 is needed to tell it from the other kinds.
    """
    errors = ErrorList()
    if not isinstance(text, str) or not text.strip():
        errors.add("q", "REQUIRED", "请输入公民身份号码、办件编号、居住证号码或手机号码")
        errors.raise_if_any()
    compact = "".join(c for c in text.upper() if c not in " -\u3000\t")
    if len(compact) > _TOO_LONG:
        errors.add("q", "QUERY_TOO_LONG", f"查询内容过长（最多 {_TOO_LONG} 个字符）")
    elif _ID_NUMBER.fullmatch(compact):
        if mod_11_2.is_valid(compact):
            return SearchQuery(ID_NUMBER, compact)
        errors.add("q", "ID_CHECKSUM", "公民身份号码校验位不正确，可能有数字填错，请核对后重新输入")
    elif _MOBILE.fullmatch(phone := normalise_phone(compact)) and len(compact) <= 14:
        return SearchQuery(PHONE, phone)
    elif (reference := parse_reference(compact)) is not None:
        return SearchQuery(REFERENCE, reference)
    elif len(compact) == 12 and all(c in REFERENCE_ALPHABET + "OIL" for c in compact):
        errors.add("q", "REFERENCE_CHECK", "办件编号校验位不正确，可能有字符填错，请核对后重新输入")
    elif _PERMIT_NO.fullmatch(compact):
        return SearchQuery(PERMIT_NO, compact)
    else:
        errors.add(
            "q",
            "QUERY_UNRECOGNISED",
            "无法识别查询内容：请输入18位公民身份号码、12位办件编号（如 7K3M-9QX2-TADD）、居住证号码或11位手机号码",
        )
    errors.raise_if_any()
    raise AssertionError("unreachable")  # pragma: no cover


def search_applications(
    deps: Collaborators,
    principal: Principal,
    text: object,
    *,
    after: str | None = None,
    limit: int = DEFAULT_PAGE,
    request_id: str | None = None,
) -> SearchPage:
    """One page of the applications matching ``text``, in the queue's order (earliest deadline
    first, then oldest); every problem with the query and the paging reported at once."""
    require_role(principal, *SEARCH_ROLES)
    errors = ErrorList()
    query = None
    try:
        query = classify(text)
    except ValidationError as exc:  # reported together with the paging's problems
        errors.errors.extend(exc.errors)
    cursor = check_paging(errors, after, limit)
    errors.raise_if_any()
    assert query is not None
    with deps.uow() as uow:
        apps = uow.applications.queue_page(
            models.APPLICATION_STATES,
            matching=(_column_of(query.kind), _lookup_value(deps, query)),
            after=cursor,
            limit=limit + 1,  # one more tells whether there is a next page
        )
        page = list(apps[:limit])
        uow.audit.append(
            actor=principal.audit_actor,
            role=principal.role or principal.kind,
            action="application.searched",
            object_type="application",
            object_id="",
            # the kind only: the query is personal data (an ID number, a phone)
            details={"kind": query.kind, "found": len(page), "page": "next" if after else "first"},
            request_id=request_id,
        )
        uow.commit()
    return SearchPage(query, page, encode_cursor(page[-1]) if len(apps) > limit else None)


def _column_of(kind: str) -> str:
    return {ID_NUMBER: "subject_index", PHONE: "phone_index", REFERENCE: "reference", PERMIT_NO: "permit_no"}[kind]


def _lookup_value(deps: Collaborators, query: SearchQuery) -> str:
    """What the column holds for the query: the blind index for personal identifiers."""
    if query.kind == ID_NUMBER:
        return deps.blind_index(query.value, "id_number")
    if query.kind == PHONE:
        return phone_index(deps, query.value)
    return query.value
