"""`govcred calendar`: the working-day clock for county administrators.

The root group (core/cli.py) puts an object with ``settings`` on the click context; the data
directory for imported notices is ``settings.data_dir``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from govcred.core.calendar.working import BUILT_IN, WorkingCalendar, import_notice, load_calendar
from govcred.core.clock import BEIJING
from govcred.core.exceptions import ConfigError, ValidationError

WEEKDAYS = "一二三四五六日"


def _data_dir(ctx: click.Context) -> Path:
    settings = getattr(ctx.find_root().obj, "settings", None)
    if settings is None:
        raise click.UsageError("未配置数据目录（--data-dir 或 GOVCRED_DATA_DIR）")
    return Path(settings.data_dir)


def _calendar(ctx: click.Context) -> WorkingCalendar:
    try:
        return load_calendar(_data_dir(ctx))
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc


def _parse_accepted(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        except ValueError:
            raise click.BadParameter(
                f"“{value}”不是 ISO-8601 时间，例如 2026-09-18T10:30:00+08:00", param_hint="--accepted"
            ) from None
    # A clerk types local time: a time without an offset is Beijing time.
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（星期{WEEKDAYS[day.weekday()]}）"


@click.group("calendar")
def calendar() -> None:
    """工作日日历：办结期限计算、导入年度节假日安排。"""


@calendar.command("deadline")
@click.option("--accepted", required=True, help="受理时间，ISO-8601；无时区时按北京时间。")
@click.option(
    "--days", "working_days", type=click.IntRange(min=1), default=2, show_default=True, help="承诺办结的工作日数。"
)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_context
def deadline_command(ctx: click.Context, accepted: str, working_days: int, as_json: bool) -> None:
    """计算受理后第 N 个工作日的办结期限。"""
    accepted_at = _parse_accepted(accepted)
    working_calendar = _calendar(ctx)
    try:
        result = working_calendar.deadline(accepted_at, working_days)
    except ValidationError as exc:
        raise click.BadParameter("；".join(e.message for e in exc.errors), param_hint="--accepted") from exc
    if as_json:
        click.echo(
            json.dumps(
                {
                    "deadline": result.at.astimezone(BEIJING).isoformat(),
                    "provisional": result.provisional,
                    "due_date": result.due_date.isoformat(),
                },
                ensure_ascii=False,
            )
        )
        return
    local = accepted_at.astimezone(BEIJING)
    click.echo(f"受理时间：{_chinese_date(local.date())} {local:%H:%M}（北京时间）")
    click.echo(f"办结期限：{_chinese_date(result.due_date)} 23:59:59（北京时间），受理次日起第 {working_days} 个工作日")
    if result.provisional:
        click.echo("注意：该期限落入尚未导入国务院节假日安排的年份，仅按周末和法定节假日推算，为暂定结果。")
        for message in working_calendar.warnings(local.date()):
            click.echo(message, err=True)


@calendar.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, file: Path) -> None:
    """导入一年的国务院办公厅节假日安排（JSON 文件）。"""
    data_dir = _data_dir(ctx)
    try:
        previous = load_calendar(data_dir).sources
    except ConfigError:
        previous = {}  # a broken stored file must not block importing its replacement
    try:
        table = import_notice(file, data_dir)
    except ValidationError as exc:
        click.echo(f"导入失败，共 {len(exc.errors)} 处错误：", err=True)
        for error in exc.errors:
            click.echo(f"  {error.field}: {error.message} [{error.code}]", err=True)
        ctx.exit(2)
    days_off = sum(len(h.days) for h in table.holidays)
    was = previous.get(table.year)
    action = "已替换" if was is not None else "已导入"
    origin = "（原为内置数据）" if was == BUILT_IN else ""
    click.echo(f"{action} {table.year} 年节假日安排{origin}：{table.source_notice.reference()}")
    click.echo(f"  发布日期 {table.source_notice.published.isoformat()}，{table.source_notice.url}")
    for holiday in table.holidays:
        click.echo(
            f"  {holiday.name}：{holiday.days[0].isoformat()} 至 {holiday.days[-1].isoformat()}，共 {len(holiday.days)} 天"
        )
    makeup = "、".join(d.isoformat() for d in table.makeup_workdays) or "无"
    click.echo(f"  调休上班日：{makeup}")
    click.echo(f"  放假日合计 {days_off} 天；已写入 {data_dir / 'calendar' / f'cn-{table.year}.json'}")
    _recompute_deadlines(ctx.find_root().obj)


def _recompute_deadlines(obj) -> None:
    """Make the stored provisional deadlines final on the calendar just imported."""
    if not hasattr(type(obj), "runtime"):  # a context without a database: nothing is stored
        return
    import sqlalchemy as sa

    from govcred.core.cli.context import console_admin
    from govcred.core.exceptions import GovcredError
    from govcred.core.services.deadlines import recompute_provisional_deadlines

    try:
        result = recompute_provisional_deadlines(obj.runtime.collaborators, console_admin())
    except (GovcredError, sa.exc.SQLAlchemyError) as exc:
        # the notice is imported either way; the deadlines are counted again at the next import
        click.echo(f"未能重新计算已受理申请的暂定办结期限（{exc}），请在数据库可用后再次导入该通知。", err=True)
        return
    click.echo(
        f"已重新计算 {result.checked} 件暂定办结期限：{result.moved} 件期限变动，{result.still_provisional} 件仍为暂定"
    )


@calendar.command("show")
@click.option("--year", type=int, help="只显示该年的放假安排明细。")
@click.pass_context
def show_command(ctx: click.Context, year: int | None) -> None:
    """列出已覆盖的年份及其通知出处。"""
    working_calendar = _calendar(ctx)
    tables = working_calendar.tables
    if year is not None:
        if year not in tables:
            raise click.ClickException(f"{year} 年尚无节假日安排，请用 govcred calendar import 导入")
        tables = {year: tables[year]}
    for table_year, table in tables.items():
        source = working_calendar.sources.get(table_year, BUILT_IN)
        origin = "内置" if source == BUILT_IN else f"导入：{source}"
        click.echo(
            f"{table_year}  {table.source_notice.reference()}  发布 {table.source_notice.published.isoformat()}  [{origin}]"
        )
        click.echo(f"      {table.source_notice.url}")
        if year is not None:
            for holiday in table.holidays:
                days = "、".join(d.isoformat() for d in holiday.days)
                click.echo(f"      {holiday.name}：{days}")
            makeup = "、".join(d.isoformat() for d in table.makeup_workdays) or "无"
            click.echo(f"      调休上班日：{makeup}")
    end = working_calendar.covered_through
    click.echo(f"覆盖至：{end.isoformat() if end else '无'}")
