"""Claims of an issued 浙江省居住证 credential.

Keys are short because every byte of the token costs QR modules:

======  =====================================================================
``ct``  credential tag ``zj-rp``
``n``   masked name (张*明)
``idm`` masked ID number (3301**********1234)
``cty`` county division code
``b``   basis: ``pc`` existing-permit conversion, ``rr`` registration recognition
``ben`` covered benefits as a bit mask (benefits.py)
``rs``  residence start (ISO date): start of the continuous residence recognised
======  =====================================================================

``_exp`` (core turns it into ``exp``) is the next endorsement anniversary: the permit's
use lapses when it is not endorsed by then (暂行条例 art. 10; 浙江条例 art. 19).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from govcred.core import BEIJING, COUNTY, ID_MASKED, NAME_MASKED, EligibilityContext
from govcred.plugins.zhejiang_residence.benefits import BENEFITS, benefit_mask, covers
from govcred.plugins.zhejiang_residence.chains import qualifying_chain
from govcred.plugins.zhejiang_residence.county import DEFAULT_CONFIG, CountyConfig
from govcred.plugins.zhejiang_residence.identifiers import in_zhejiang, mask_id, mask_name
from govcred.plugins.zhejiang_residence.records import ResidenceRecords

CREDENTIAL_TAG = "zj-rp"
BASIS_CODES = {"permit_conversion": "pc", "registration_recognition": "rr"}


def endorsement_anniversary(issued: dt.date) -> dt.date:
    """The same date one year later; 29 Feb falls on 28 Feb in a common year."""
    try:
        return issued.replace(year=issued.year + 1)
    except ValueError:
        return dt.date(issued.year + 1, 2, 28)


@functools.lru_cache(maxsize=16)  # the decision time: one for all the issuances of a batch's chunk
def use_lapses_at(issued_at: dt.datetime) -> dt.datetime:
    """End of the anniversary day, Beijing time, of the Beijing date of issue."""
    day = endorsement_anniversary(issued_at.astimezone(BEIJING).date())
    return dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=BEIJING)


def residence_start(
    document: Mapping[str, Any], context: EligibilityContext, config: CountyConfig = DEFAULT_CONFIG
) -> dt.date:
    """Start of the residence the decision recognised.

    Registration path: the start of the qualifying registration chain. Conversion path:
    the issue date of the earliest valid Zhejiang permit (mutual recognition carries the
    residence over). The decision date when the records show neither.
    """
    records = ResidenceRecords.of(context.records)
    if document["path"] == "registration_recognition":
        chain = qualifying_chain(records.registrations, config.current_codes, config.max_gap_days, context.as_of)
        if chain is not None:
            return chain.start
    else:
        issued = [p.issued for p in records.permits if p.status == "valid" and in_zhejiang(p.issuer_division)]
        if issued:
            return min(issued)
    return context.as_of


def credential_claims(
    document: Mapping[str, Any],
    context: EligibilityContext,
    issued_at: dt.datetime,
    config: CountyConfig = DEFAULT_CONFIG,
) -> dict[str, Any]:
    """The claims of ``config``'s county for an approved application."""
    applicant = document["applicant"]
    return {
        "ct": CREDENTIAL_TAG,
        NAME_MASKED: mask_name(applicant["name"]),
        ID_MASKED: mask_id(applicant["id_number"]),
        COUNTY: config.county_code,
        "b": BASIS_CODES[document["path"]],
        "ben": benefit_mask(config.benefits),
        "rs": residence_start(document, context, config).isoformat(),
        "_exp": use_lapses_at(issued_at),
    }


def residence_start_of(claims: Mapping[str, Any]) -> dt.date | None:
    """The ``rs`` claim as a date (``None`` for claims of another type or without one)."""
    if claims.get("ct") != CREDENTIAL_TAG or not isinstance(claims.get("rs"), str):
        return None
    try:
        return dt.date.fromisoformat(claims["rs"])
    except ValueError:
        return None


def benefit_check(claims: Mapping[str, Any], benefit: str) -> bool | None:
    """Whether verified claims of a 浙江省居住证 cover ``benefit``.

    ``None`` when the benefit is not one of ours or the claims belong to another
    credential type (another plugin may answer); otherwise whether its bit is set.
    """
    if benefit not in BENEFITS or claims.get("ct") != CREDENTIAL_TAG:
        return None
    mask = claims.get("ben")
    # bool is an int subclass: a forged ``true`` must not read as bit 0
    return type(mask) is int and mask >= 0 and covers(mask, benefit)
