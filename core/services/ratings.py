"""好差评: after a decision the applicant rates the service, 1 to 5 with an optional comment.

One rating per application, by its owner, once it is decided (approved or rejected); the
comment is kept encrypted (it is free text), administrators read ratings on the operations
page and count them in the report.
"""

from __future__ import annotations

from typing import Any

from govcred.core import models
from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import AuthenticationRequired, Conflict, ErrorList, PermissionDenied
from govcred.core.repository.ratings import Rating
from govcred.core.services.collaborators import Collaborators

MAX_COMMENT = 500
DECIDED = (models.APPROVED, models.REJECTED)


def check_rating(score: Any, comment: Any) -> tuple[int, str]:
    """The score and comment as given, or every problem at once."""
    errors = ErrorList()
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors.add("score", "SCORE_INVALID", "请选择 1 到 5 分")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        errors.add("comment", "COMMENT_INVALID", "评价内容必须是文字")
        comment = ""
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        errors.add("comment", "COMMENT_TOO_LONG", f"评价内容最多 {MAX_COMMENT} 字")
    errors.raise_if_any()
    return score, comment


def rate_service(deps: Collaborators, principal: Principal | None, app_id: str, score: Any, comment: Any) -> Rating:
    """The owner rates a decided application's service (once)."""
    if principal is None:
        raise AuthenticationRequired("请先登录")
    if principal.kind != "resident":
        raise PermissionDenied("只有申请人本人可以评价")
    score, comment = check_rating(score, comment)
    now = deps.clock.now()
    with deps.uow() as uow:
        app = uow.applications.get_for_owner(app_id, principal.id)
        if app.state not in DECIDED:
            raise Conflict("办结后才能评价", code="NOT_DECIDED")
        uow.ratings.add(app.id, score, comment, app.channel, now)
        uow.audit.append(
            actor=principal.audit_actor,
            role="resident",
            action="application.rated",
            object_type="application",
            object_id=app.id,
            details={"score": score, "comment": bool(comment)},
        )
        uow.commit()
    return Rating(app.id, score, comment, now)


def rating_of(deps: Collaborators, principal: Principal | None, app_id: str) -> Rating | None:
    """The rating of an application its owner (or an officer) may see."""
    from govcred.core.services.intake import get_application

    app, _decision = get_application(deps, app_id, principal)
    with deps.uow(readonly=True) as uow:
        return uow.ratings.for_application(app.id)
