"""How a permit reads on the resident and officer pages: its status, its next endorsement
window and its history in Chinese, built only from :func:`govcred.core.services.lifecycle.permit_view`.

Nothing here decides anything: whether an endorsement is allowed is decided again by
:func:`govcred.core.services.lifecycle.request_endorsement` on every POST; ``can_request`` only hides a
button that would certainly be refused (before the window, or a status that cannot be
endorsed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from govcred.core import models
from govcred.core.clock import BEIJING
from govcred.core.exceptions import Conflict, ValidationError
from govcred.core.services.key_reissue import SUPERSEDED_REASON as REISSUED
from govcred.core.services.permit_cycle import MISSED_ENDORSEMENT
from govcred.core.services.reminders import REMINDER_LABELS, REMINDERS, date_zh
from govcred.core.web.pages.views import FormErrors

STATUS_ZH = models.CREDENTIAL_STATUS_ZH
#: A suspension by the lifecycle sweep, as opposed to one decided by an officer.
MISSED_ZH = "已中止（未按期签注）"
#: What a holder whose permit lapsed needs to know (暂行条例 art. 10).
LATE_EXPLANATION = (
    "您未在签注办理期内办理签注，居住证使用功能已中止。补办签注后即恢复使用；居住年限自补办签注之日起连续计算。"
)
STATUS_CHANGE_ZH = {
    models.VALID: "恢复使用",
    models.SUSPENDED: "中止使用",
    models.REVOKED: "吊销",
    models.REPLACED: "换领/补领",
    models.CANCELLED: "注销",
}


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date
    open: bool

    @property
    def text(self) -> str:
        return f"签注办理期：{date_zh(self.start)}至{date_zh(self.end)}"


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    what: str
    detail: str

    @property
    def day(self) -> str:
        return date_zh(self.at.astimezone(BEIJING).date())


@dataclass(frozen=True)
class PermitPage:
    permit_no: str
    status: str
    status_label: str
    status_reason: str
    current_id: str
    expires_on: str
    residence_start: str
    window: Window | None
    missed_endorsement: bool
    can_request: bool
    reminders: list[str]
    history: list[Event] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.status == models.VALID

    @property
    def late_explanation(self) -> str:
        return LATE_EXPLANATION if self.missed_endorsement else ""

    @property
    def reminder_options(self) -> list[tuple[str, str, bool]]:
        """``(code, label, chosen)`` of every reminder a holder may choose."""
        return [(code, REMINDER_LABELS[code], code in self.reminders) for code in REMINDERS]


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _day_of(text: str) -> str:
    return date_zh(dt.datetime.fromisoformat(text).astimezone(BEIJING).date())


def status_label(status: str, reason: str | None) -> str:
    if status == models.SUSPENDED and reason == MISSED_ENDORSEMENT:
        return MISSED_ZH
    return STATUS_ZH.get(status, status)


def _history(versions: list[dict[str, Any]]) -> list[Event]:
    """Issues, endorsements, lapses and status changes of every version, newest first.

    A superseded version loses its own suspension when a late endorsement replaces it, so a
    lapse shows where a version ran out before the next one was issued."""
    events: list[Event] = []
    oldest_first = list(reversed(versions))
    for i, v in enumerate(oldest_first):
        issued, expires = _when(v["issued_at"]), _when(v["expires_at"])
        previous = oldest_first[i - 1] if i else None
        if previous is None:
            what = "首次签发"
        elif previous["status_reason"] == REISSUED:
            what = f"因安全原因重新签发，内容和有效期不变（第 {v['version']} 版）"
        elif issued > _when(previous["expires_at"]):
            what = f"补办签注，恢复使用（第 {v['version']} 版）"
        else:
            what = f"签注（第 {v['version']} 版）"
        events.append(Event(issued, what, f"有效期至 {_day_of(v['expires_at'])}"))
        following = oldest_first[i + 1] if i + 1 < len(oldest_first) else None
        if following is not None and _when(following["issued_at"]) > expires:
            events.append(Event(expires, "逾期未签注，中止使用", MISSED_ENDORSEMENT))
        changed = _when(v["status_changed_at"])
        if changed is not None and v["status"] != models.SUPERSEDED:
            events.append(Event(changed, STATUS_CHANGE_ZH.get(v["status"], v["status"]), v["status_reason"] or ""))
    return sorted(events, key=lambda e: e.at, reverse=True)


def permit_page(view: dict[str, Any]) -> PermitPage:
    """The page's reading of ``lifecycle.permit_view(...)``."""
    current = view["history"][0]
    reason = current["status_reason"] or ""
    missed = current["status"] == models.SUSPENDED and reason == MISSED_ENDORSEMENT
    raw = view["endorsement_window"]
    window = (
        Window(dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"]), raw["open"]) if raw else None
    )
    endorsable_status = current["status"] == models.VALID or missed
    return PermitPage(
        permit_no=view["permit_no"],
        status=current["status"],
        status_label=status_label(current["status"], reason),
        status_reason=reason,
        current_id=current["id"],
        expires_on=_day_of(current["expires_at"]),
        residence_start=date_zh(dt.date.fromisoformat(view["residence_start"])) if view["residence_start"] else "",
        window=window,
        missed_endorsement=missed,
        can_request=window is not None and endorsable_status and (window.open or view["lapsed"]),
        reminders=list(view["reminders"]),
        history=_history(view["history"]),
    )


def queue_rows(rows: list[dict[str, Any]], queue: str) -> list[dict[str, Any]]:
    """The officer queue's rows (from ``lifecycle.permit_queue``) with their status and window in Chinese.
    Every permit of the ``suspended`` queue was suspended for a missed endorsement."""
    reason = MISSED_ENDORSEMENT if queue == "suspended" else None
    shown = []
    for row in rows:
        raw = row["endorsement_window"]
        window = (
            Window(dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"]), queue == "window_open")
            if raw
            else None
        )
        shown.append(
            dict(
                row,
                status_label=status_label(row["status"], reason),
                window_text=window.text if window else "",
                expires_on=_day_of(row["expires_at"]),
                since=_day_of(row["status_changed_at"]) if row["status_changed_at"] else "",
            )
        )
    return shown


def endorsement_refusal(exc: Conflict | ValidationError) -> tuple[FormErrors, list[dict[str, Any]], int]:
    """The page's errors, the findings to list (every reason of a refusal) and the HTTP status."""
    if isinstance(exc, ValidationError):
        return FormErrors.from_exception(exc), [], 400
    errors = FormErrors()
    errors.add("endorse", exc.message, exc.code)
    return errors, exc.details.get("findings", []), 409
