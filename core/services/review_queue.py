"""The reviewers' queue: one page at a time, earliest deadline first, flagged due today /
overdue (Beijing time), with the counts by state, channel and due date that the filters show.

No request loads the whole queue: a page is at most :data:`MAX_PAGE` rows found by keyset
(``next`` is an opaque cursor naming the last row), and the counts are aggregate queries.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from govcred.core import models
from govcred.core.accounts.officers import Principal, require_role
from govcred.core.clock import BEIJING
from govcred.core.exceptions import ErrorList
from govcred.core.services.collaborators import Collaborators
from govcred.core.services.decisions import DECIDING_ROLES
from govcred.core.services.intake import CHANNELS

DEFAULT_PAGE = 50
MAX_PAGE = 200
DUE_FILTERS = ("today", "overdue")


@dataclass(frozen=True)
class QueueItem:
    application: models.Application
    due_today: bool
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    #: the cursor of the next page, None on the last one
    next: str | None
    counts: dict[str, dict[str, int]]


def encode_cursor(app: models.Application) -> str:
    key = [app.deadline.isoformat() if app.deadline else None, app.created_at.isoformat(), app.id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[dt.datetime | None, dt.datetime, str] | None:
    """The (deadline, created_at, id) a cursor names, or None when it is not one of ours."""
    try:
        deadline, created_at, app_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        parsed = (
            dt.datetime.fromisoformat(deadline) if deadline is not None else None,
            dt.datetime.fromisoformat(created_at),
            app_id,
        )
    except (ValueError, TypeError):
        return None
    if not isinstance(app_id, str) or any(v is not None and v.tzinfo is None for v in parsed[:2]):
        return None
    return parsed


def check_paging(errors: ErrorList, after: str | None, limit: object) -> tuple | None:
    """The cursor ``after`` names (None on the first page); a bad ``limit`` or cursor is added to
    ``errors``, with the other problems of the request."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        errors.add("limit", "LIMIT_INVALID", f"limit 须为 1 至 {MAX_PAGE} 的整数")
    cursor = decode_cursor(after) if isinstance(after, str) and after else None
    if after not in (None, "") and cursor is None:  # a JSON body may hold any type
        errors.add("after", "CURSOR_INVALID", "after 不是有效的翻页位置，请从第一页重新开始")
    return cursor


def start_of_tomorrow(now: dt.datetime) -> dt.datetime:
    """Midnight after ``now``, Beijing time: what is due before it is due today."""
    return dt.datetime.combine(now.astimezone(BEIJING).date() + dt.timedelta(days=1), dt.time(), BEIJING)


def due_window(now: dt.datetime, due: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The deadlines (from, before) that the ``due`` filter (``today``, ``overdue``, None) keeps."""
    return {"today": (now, start_of_tomorrow(now)), "overdue": (None, now)}.get(due or "", (None, None))


def review_queue(
    deps: Collaborators,
    principal: Principal,
    *,
    states: Sequence[str] = (models.ACCEPTED,),
    channel: str | None = None,
    due: str | None = None,
    after: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> QueuePage:
    """One page of the applications to decide; every problem with the filters reported at once."""
    require_role(principal, *DECIDING_ROLES)
    errors = ErrorList()
    for i, state in enumerate(states):
        if state not in models.APPLICATION_STATES:
            errors.add(f"state[{i}]", "STATE_INVALID", f"未知的状态：{state[:20]}")
    if channel is not None and channel not in CHANNELS:
        errors.add("channel", "CHANNEL_INVALID", "受理渠道必须是 online 或 window")
    if due not in (None, *DUE_FILTERS):
        errors.add("due", "DUE_INVALID", "due 只能是 today 或 overdue")
    cursor = check_paging(errors, after, limit)
    errors.raise_if_any()
    now = deps.clock.now()
    tomorrow = start_of_tomorrow(now)
    window = due_window(now, due)
    with deps.uow(readonly=True) as uow:
        apps = uow.applications.queue_page(
            states,
            channel=channel,
            deadline_from=window[0],
            deadline_before=window[1],
            after=cursor,
            limit=limit + 1,  # one more tells whether there is a next page
        )
        counts = uow.applications.queue_counts(states, now, tomorrow)
    page = list(apps[:limit])
    items = [_item(app, now, tomorrow) for app in page]
    return QueuePage(items, encode_cursor(page[-1]) if len(apps) > limit else None, counts)


def _item(app: models.Application, now: dt.datetime, tomorrow: dt.datetime) -> QueueItem:
    overdue = app.deadline is not None and app.deadline < now
    due_today = app.deadline is not None and not overdue and app.deadline < tomorrow
    return QueueItem(app, due_today, overdue)
