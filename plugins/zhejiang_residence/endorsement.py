"""签注 (yearly endorsement), 换领/补领 (replacement) of a 浙江省居住证 after issue.

The permit is endorsed once a year, within the month before each anniversary of issue
(暂行条例 art. 10; 浙江条例 art. 19). The credential's ``exp`` is the end of the anniversary
day (Beijing), so the anniversary is read back from ``expires_at`` and the window is the
month before it: anniversary 2027-03-01 -> 2027-02-01 .. 2027-02-28 (a matching day that does
not exist falls on the month's last day, as in 民法典 art. 202).

An endorsement covers the next anniversary whose window has not opened yet: on time it is
the anniversary after the current one; a late endorsement covers the first anniversary that
is still more than a month away, so the holder is never asked to endorse again at once.
The anniversaries stay anchored on the date of issue (浙江条例 art. 19: "自证件签发之日起每满
一年"); what restarts on a late endorsement is the continuous-residence start (``rs``).

Endorsement re-checks only what can change after issue: the hukou (a holder who obtained
local hukou is no longer a migrant), the residence in the county and the three conditions.
"不再符合申领条件的，不予签注" (浙江条例 art. 19).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

from govcred.core import BEIJING, Credential, EligibilityContext, Finding
from govcred.plugins.zhejiang_residence.claims import credential_claims, endorsement_anniversary
from govcred.plugins.zhejiang_residence.county import DEFAULT_CONFIG, CountyConfig
from govcred.plugins.zhejiang_residence.rules import _conditions, _local_hukou, _residence

ENDORSEMENT, REPLACEMENT = "endorsement", "replacement"


def month_before(day: dt.date) -> dt.date:
    """The matching day one month earlier, or that month's last day when it has none."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def anniversary_of(credential: Credential) -> dt.date:
    """The anniversary a credential's use lapses on (its ``exp`` as a Beijing date)."""
    return credential.expires_at.astimezone(BEIJING).date()


def window_for(anniversary: dt.date) -> tuple[dt.date, dt.date]:
    """The month before ``anniversary``: ``(first_day, last_day)``, both inclusive."""
    return month_before(anniversary), anniversary - dt.timedelta(days=1)


def next_anniversary(current: dt.date, endorsed_on: dt.date) -> dt.date:
    """The anniversary an endorsement on ``endorsed_on`` runs to (see the module docstring)."""
    following = endorsement_anniversary(current)
    while window_for(following)[0] <= endorsed_on:
        following = endorsement_anniversary(following)
    return following


def lapse_at(anniversary: dt.date) -> dt.datetime:
    """End of the anniversary day, Beijing time (as :func:`claims.use_lapses_at`)."""
    return dt.datetime(anniversary.year, anniversary.month, anniversary.day, 23, 59, 59, tzinfo=BEIJING)


def endorsement_findings(
    document: Mapping[str, Any], context: EligibilityContext, config: CountyConfig = DEFAULT_CONFIG
) -> list[Finding]:
    """Every reason ``config``'s county may not endorse the permit on ``context.as_of``
    (empty: endorse it)."""
    out: list[Finding] = []
    _local_hukou(out, document["applicant"]["hukou_division"], config)
    _residence(out, document["residence"]["division"], config)
    _conditions(out, document.get("conditions") or (), config, context.as_of)
    return out


def reissue_claims(
    kind: str,
    document: Mapping[str, Any],
    context: EligibilityContext,
    issued_at: dt.datetime,
    config: CountyConfig = DEFAULT_CONFIG,
) -> dict[str, Any]:
    """Claims of the credential that an endorsement or a replacement issues.

    The masked name, county, basis and benefits are recomputed from the document; ``rs`` is
    the residence start core decided (restarted by a late endorsement), else the previous
    version's; ``_exp`` is the next anniversary (endorsement) or the previous ``exp``
    (replacement: a new card does not move the endorsement cycle).
    """
    previous: Credential = context.extra["previous_credential"]
    claims = credential_claims(document, context, issued_at, config)
    start = context.extra.get("residence_start")
    claims["rs"] = start.isoformat() if start else previous.claims.get("rs", claims["rs"])
    if kind == ENDORSEMENT:
        endorsed_on = issued_at.astimezone(BEIJING).date()
        claims["_exp"] = lapse_at(next_anniversary(anniversary_of(previous), endorsed_on))
    else:
        claims["_exp"] = previous.expires_at
    return claims
