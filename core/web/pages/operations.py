"""The administrators' operations page (运行情况): the bureau's figures for a period as charts
and tables, the latest ratings, and the period's applications to download.

Figures come from :mod:`govcred.core.services.reports`, the same service behind
``govcred report``; each chart is a separate SVG (:mod:`.charts`) beside its table.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request

from govcred.core.clock import BEIJING
from govcred.core.exceptions import ValidationError
from govcred.core.services import reports
from govcred.core.web.authn import current_principal
from govcred.core.web.context import runtime_of
from govcred.core.web.pages import charts
from govcred.core.web.pages.views import FormErrors, officer_required

bp = Blueprint("operations", __name__, url_prefix="/officer/operations")
ADMIN = ("admin",)
#: the period shown when none is asked for: the last 30 Beijing days, today included
DEFAULT_DAYS = 30


def _form() -> dict[str, str]:
    today = runtime_of().clock.now().astimezone(BEIJING).date()
    args = request.args
    return {
        "from": args.get("from") or (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": args.get("to") or today.isoformat(),
        "channel": args.get("channel") or "",
    }


def _period(form: dict[str, str]) -> reports.ReportPeriod:
    return reports.ReportPeriod.parse(form["from"], form["to"], form["channel"] or None)


@bp.get("/")
@officer_required(*ADMIN)
def page():
    form = _form()
    try:
        period = _period(form)
    except ValidationError as exc:
        return render_template("officer/operations.html", form=form, errors=FormErrors(exc.errors), view=None), 400
    rt = runtime_of()
    view = reports.operations(rt.collaborators, current_principal(), period)
    with rt.uow(readonly=True) as uow:
        ratings = uow.ratings.recent(20)
    return render_template(
        "officer/operations.html",
        form=form,
        errors=FormErrors(),
        view=view,
        ratings=ratings,
        query={k: v for k, v in form.items() if v},
    )


#: beyond this many days a line of days is unreadable: the chart shows weeks instead
MAX_DAILY_POINTS = 62


def volume_buckets(daily: list[tuple[dt.date, int, int]]) -> list[tuple[str, int, int]]:
    """``(label, submitted, decided)`` per day, or per Monday-started week for long periods."""
    if len(daily) <= MAX_DAILY_POINTS:
        return [(day.strftime("%m-%d"), s, d) for day, s, d in daily] or [("", 0, 0)]
    weeks: dict[dt.date, list[int]] = {}
    for day, s, d in daily:
        week = weeks.setdefault(day - dt.timedelta(days=day.weekday()), [0, 0])
        week[0] += s
        week[1] += d
    return [(monday.strftime("%m-%d"), s, d) for monday, (s, d) in weeks.items()]


def _svg(body: bytes) -> Response:
    response = Response(body, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = charts.CHART_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/charts/<name>.svg")
@officer_required(*ADMIN)
def chart(name: str):
    form = _form()
    try:
        period = _period(form)
    except ValidationError:
        return _svg(charts.reasons_bar([])), 400
    view = reports.operations(runtime_of().collaborators, current_principal(), period)
    figures = view.summary
    if name == "reasons":
        pairs = [(view.reason_labels[code], n) for code, n in figures["rejection_reasons"].items()]
        return _svg(charts.reasons_bar(pairs))
    if name == "daily":
        buckets = volume_buckets(view.daily)
        title = "每日申请量与办结量" if len(view.daily) <= MAX_DAILY_POINTS else "每周申请量与办结量（周一起）"
        return _svg(charts.volume_line(title, *zip(*buckets, strict=True)))
    if name == "on-time":
        deadlines = figures["deadlines"]
        return _svg(charts.on_time_gauge(deadlines["decided_on_time"], deadlines["decided_late"]))
    if name == "reviewers":
        rows = view.reviewers
        return _svg(
            charts.reviewers_bar([r["reviewer"] for r in rows], [r["on_time"] for r in rows], [r["late"] for r in rows])
        )
    return Response("未知的图表", status=404, mimetype="text/plain")
