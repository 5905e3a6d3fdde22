"""``govcred reconcile --date YYYY-MM-DD [--json]``: one Beijing day against the platform."""

from __future__ import annotations

import datetime as dt
import json

import click


def _day(_ctx, _param, value: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"不是有效日期（YYYY-MM-DD）：{value[:20]}") from None


@click.command("reconcile")
@click.option("--date", "day", required=True, callback=_day, metavar="YYYY-MM-DD", help="The Beijing day to reconcile.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def reconcile(app, day: dt.date, as_json: bool) -> None:
    """对账: compare a day's pushed records with the platform's acknowledgement and re-push
    what it lacks or holds differently (exit 1 while anything is missing or different)."""
    from govcred.plugins.provincial_push.channel import INSTANCE_NAME, audit_reconciliation

    runtime = app.runtime
    push = runtime.pm.get_plugin(INSTANCE_NAME)
    with runtime.uow() as uow:
        result = push.reconcile(uow.outbox, day)
        audit_reconciliation(uow, result, actor="cli")
        uow.commit()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"{result['date']} 对账：本地 {result['local']} 条，省平台确认 {result['acknowledged']} 条，"
            f"缺失 {len(result['missing'])} 条，不一致 {len(result['different'])} 条，已重新推送 {result['requeued']} 条"
        )
        for name, ids in (("缺失", result["missing"]), ("不一致", result["different"])):
            for identifier in ids:
                click.echo(f"  {name}  {identifier}")
    if result["missing"] or result["different"]:
        raise SystemExit(1)
