"""``govcred report``: the bureau's figures for a period, as text, JSON or spreadsheet files."""

from __future__ import annotations

from pathlib import Path

import click

from govcred.core.cli.context import AppContext, console_admin, echo_json, pass_app


def _text(figures: dict, first: str, last: str) -> None:
    apps, deadlines, wd = figures["applications"], figures["deadlines"], figures["working_days_to_decision"]
    decided = deadlines["decided_on_time"] + deadlines["decided_late"]
    share = f"{deadlines['decided_on_time'] / decided:.0%}" if decided else "—"
    click.echo(f"统计期间 {first} 至 {last}（北京时间）")
    click.echo(
        f"  申请：提交 {apps['submitted']}，受理 {apps['accepted']}，补正 {apps['returned']}，"
        f"批准 {apps['approved']}，不予办理 {apps['rejected']}，撤回 {apps['withdrawn']}"
    )
    click.echo(
        f"  时限：按期办结 {deadlines['decided_on_time']}，超期办结 {deadlines['decided_late']}（按期率 {share}），"
        f"在办已超期 {deadlines['open_overdue']}，今日到期 {deadlines['open_due_today']}"
    )
    median = "—" if wd["median"] is None else wd["median"]
    p90 = "—" if wd["p90"] is None else wd["p90"]
    click.echo(f"  办理用时（工作日）：中位数 {median}，90% 分位 {p90}")
    channels = "，".join(f"{name} {n}" for name, n in figures["channels"].items())
    click.echo(f"  渠道：{channels}")
    reasons = "，".join(f"{code} {n}" for code, n in figures["rejection_reasons"].items()) or "无"
    click.echo(f"  不予办理原因：{reasons}")
    ratings = figures["ratings"]
    mean = "—" if ratings["mean"] is None else ratings["mean"]
    click.echo(f"  好差评：{ratings['count']} 条，平均 {mean} 分")
    d = figures["deliveries"]
    click.echo(
        f"  核验 {figures['verifications']} 次；消息投递成功 {d['delivered']}，重试中 {d['failed']}，死信 {d['dead']}"
    )


@click.command("report")
@click.option("--from", "first", required=True, metavar="YYYY-MM-DD", help="First day (Beijing), included.")
@click.option("--to", "last", required=True, metavar="YYYY-MM-DD", help="Last day (Beijing), included.")
@click.option("--channel", default=None, metavar="online|window", help="Only this intake channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the masked applications as CSV.",
)
@click.option("--xlsx", "xlsx_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write them as XLSX.")
@pass_app
def report(
    app: AppContext,
    first: str,
    last: str,
    channel: str | None,
    as_json: bool,
    csv_out: Path | None,
    xlsx_out: Path | None,
) -> None:
    """The bureau's figures for a period: volumes, deadlines kept, reasons, ratings, deliveries."""
    from govcred.core.report_files import csv_bytes, xlsx_bytes
    from govcred.core.services.reports import EXPORT_COLUMNS, ReportPeriod, export_rows, summary

    period = ReportPeriod.parse(first, last, channel)  # every bad option at once
    deps, admin = app.runtime.collaborators, console_admin()
    figures = summary(deps, admin, period)
    if csv_out or xlsx_out:
        headers = [label for _key, label in EXPORT_COLUMNS]
        rows = export_rows(deps, admin, period)
        for path, render in ((csv_out, csv_bytes), (xlsx_out, xlsx_bytes)):
            if path is not None:
                path.write_bytes(render(headers, rows))
                click.echo(f"已导出 {len(rows)} 条申请到 {path}", err=True)
    if as_json:
        echo_json(figures)
    else:
        _text(figures, first, last)


COMMANDS = (report,)
