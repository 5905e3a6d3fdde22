"""`govcred eligibility check FILE`: a dry-run decision on an application document.

Nothing is stored and no live records source is asked: the person's registrations and
existing permit are read from the document itself (the credential type's
``records_from_document``).
Exit status 0 eligible, 1 not eligible, 2 invalid document.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from govcred.core.clock import Clock
from govcred.core.exceptions import ValidationError
from govcred.core.file_problems import UNREADABLE, unreadable

SEVERITY_ZH = {"blocking": "不符合", "advisory": "提示"}


def _plugin_manager(obj):
    pm = getattr(obj, "pm", None)
    if pm is None:
        from govcred.core.plugins import get_plugin_manager

        settings = obj.settings
        pm = get_plugin_manager(disabled=settings.disable_plugins or None, settings=settings)
    return pm


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return Clock().today_beijing()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"“{value}”不是 YYYY-MM-DD 日期", param_hint="--as-of") from None


def _fail(errors: list[tuple[str, str, str]], as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {"eligible": None, "errors": [{"field": f, "code": c, "message": m} for f, c, m in errors]},
                ensure_ascii=False,
            )
        )
    else:
        click.echo("申请材料有误，请逐项修改：", err=True)
        for field, code, message in errors:
            click.echo(f"  - {field or '(文件)'}: {message} [{code}]", err=True)
    raise click.exceptions.Exit(2)


@click.group("eligibility")
def eligibility() -> None:
    """资格预审：不保存、不查询人口库，按申请表所填记录判断是否符合条件。"""


@eligibility.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", default=None, help="审核日期 YYYY-MM-DD（默认北京时间今天）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_context
def check(ctx: click.Context, file: Path, as_of: str | None, as_json: bool) -> None:
    """判断申请表是否符合条件；退出码 0 符合，1 不符合，2 申请表无效。"""
    from govcred.core.plugins import collect_credential_types
    from govcred.core.services.eligibility import dry_run

    on = _as_of(as_of)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except UNREADABLE as exc:  # not UTF-8, not JSON, nested too deep, unreadable
        _fail([("", "JSON_INVALID", f"不是有效的 JSON 文件：{unreadable(exc)}")], as_json)
    obj = ctx.find_root().obj
    pm = _plugin_manager(obj)
    try:
        findings = dry_run(pm, obj.settings, collect_credential_types(pm), document, on)
    except ValidationError as exc:
        _fail([(e.field, e.code, e.message) for e in exc.errors], as_json)
    eligible = not any(f.blocking for f in findings)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "eligible": eligible,
                    "path": document.get("path"),
                    "as_of": on.isoformat(),
                    "findings": [f.as_dict() for f in findings],
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(f"审核日期：{on.isoformat()}　结论：{'符合条件' if eligible else '不符合条件'}")
        for f in findings:
            click.echo(f"  [{SEVERITY_ZH[f.severity]}] {f.code}：{f.message_zh}（依据：{f.basis}）")
    if not eligible:
        raise click.exceptions.Exit(1)


COMMANDS = [eligibility]
