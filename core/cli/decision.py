"""`govcred decision replay APP_ID [--live] [--json]`: judge a recorded decision again.

Exit status 0 when the replay gives the recorded findings, 1 when it differs, 2 when the
application has no replayable decision.
"""

from __future__ import annotations

import click

from govcred.core.cli.context import AppContext, echo_json, pass_app
from govcred.core.exceptions import NotFound

SEVERITY_ZH = {"blocking": "不符合", "advisory": "提示"}


def _codes(findings: list[dict]) -> list[str]:
    return [f["code"] for f in findings]


def _finding_lines(title: str, findings: list[dict]) -> None:
    if findings:
        click.echo(title)
        for f in findings:
            click.echo(f"  - [{f['code']}] {SEVERITY_ZH.get(f['severity'], f['severity'])}：{f['message_zh']}")


def _text(result) -> None:
    basis = result.basis
    click.echo(f"规则集（审批时）：{basis.ruleset}")
    if result.current_ruleset != basis.ruleset:
        click.echo(f"规则集（现在）：{result.current_ruleset}")
    intact = "一致" if result.document_intact else "不一致：申请材料在审批后被改动"
    click.echo(f"申请材料摘要：{basis.input_digest}（{intact}）")
    click.echo(f"人口记录快照摘要：{basis.records_digest}（审批日 {basis.as_of.isoformat()}）")
    click.echo("按今日人口记录重新判断" if result.live else "按审批时的人口记录快照重新判断")
    if result.identical:
        click.echo(f"结果一致：{', '.join(_codes(result.recorded)) or '无不符合情形'}")
        return
    click.echo("结果不一致：")
    _finding_lines("审批时有、现在没有：", result.only_recorded)
    _finding_lines("现在有、审批时没有：", result.only_replayed)


@click.group("decision")
def decision() -> None:
    """审批记录：按审批依据重新判断（重放）。"""


@decision.command("replay")
@click.argument("app_id")
@click.option("--live", is_flag=True, help="按今日的人口记录判断（而非审批时的快照）。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_app
def replay_command(app: AppContext, app_id: str, live: bool, as_json: bool) -> None:
    """重放 APP_ID 的审批：同一申请材料、同一审批日，得出的不符合情形是否与记录一致。"""
    from govcred.core.services.replay import replay

    try:
        result = replay(app.runtime.collaborators, app_id, live=live)
    except NotFound as exc:
        click.echo(f"错误 [{exc.code}]: {exc.message}", err=True)
        raise click.exceptions.Exit(2) from None
    if as_json:
        echo_json(
            {
                "identical": result.identical,
                "recorded": _codes(result.recorded),
                "replayed": _codes(result.replayed),
                "ruleset": result.basis.ruleset,
            }
        )
    else:
        _text(result)
    if not result.identical:
        raise click.exceptions.Exit(1)


COMMANDS = (decision,)
