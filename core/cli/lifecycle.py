"""``govcred lifecycle``: the sweep, endorsement, replacement, cancellation and reminders of a
permit from the console. Acting on a permit names a stored officer (``--as USERNAME``), so the
audit log says who did it and the same role checks apply as on the web."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from govcred.core.cli.context import AppContext, echo_json, officer_principal, pass_app
from govcred.core.clock import BEIJING
from govcred.core.file_problems import UNREADABLE, unreadable
from govcred.core.models import CREDENTIAL_STATUS_ZH


def _as_of(value: str | None) -> dt.datetime | None:
    """An ISO date or datetime; without an offset it is Beijing time."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "须为 ISO 8601 日期或时间，如 2027-03-02 或 2027-03-02T01:00+08:00", param_hint="--as-of"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def _officer(app: AppContext, username: str):
    return officer_principal(app, username)


def _print_permit(view: dict) -> None:
    click.echo(
        f"证号 {view['permit_no']}  状态 {CREDENTIAL_STATUS_ZH.get(view['status'], view['status'])}"
        f"{'（已过签注期）' if view['lapsed'] else ''}"
    )
    if view["residence_start"]:
        click.echo(f"  连续居住起算日 {view['residence_start']}")
    if view["endorsement_window"]:
        click.echo(f"  {view['endorsement_window']['text']}")
    click.echo(f"  短信提醒 {', '.join(view['reminders']) or '无'}")
    for version in view["history"]:
        click.echo(
            f"  v{version['version']}  {CREDENTIAL_STATUS_ZH.get(version['status'], version['status'])}  "
            f"签发 {version['issued_at'][:10]}  有效至 {version['expires_at'][:10]}"
            f"{'  ' + version['status_reason'] if version['status_reason'] else ''}"
        )


@click.group()
def lifecycle() -> None:
    """The permit after issue: yearly endorsement (签注), suspension sweep, replacement, cancellation."""


@lifecycle.command("sweep")
@click.option("--as-of", "as_of", default=None, help="Run as of this time (ISO 8601; default now).")
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def sweep_command(app: AppContext, as_of: str | None, batch: int, as_json: bool) -> None:
    """Suspend permits whose anniversary passed without endorsement; queue due reminders."""
    from govcred.core.jobs import SWEEP, run_exclusively
    from govcred.core.services.sweep import run_sweep

    rt = app.runtime
    now = _as_of(as_of)
    # the same lease as the servers' daily sweep: never two sweeps at once
    report = run_exclusively(rt.job_place(), SWEEP, lambda: run_sweep(rt.collaborators, now=now, batch=batch))
    if as_json:
        echo_json({**report.as_dict(), "suspended_permits": report.suspended_permits})
        return
    click.echo(
        f"签注检查 (sweep) 截至 {report.as_of.astimezone(BEIJING):%Y-%m-%d %H:%M}：中止 {report.suspended} 证，"
        f"提醒 {report.reminders} 条，{report.batches} 批，用时 {report.seconds:.1f} 秒"
    )


@lifecycle.command("show")
@click.argument("permit_no")
@click.option("--as", "username", required=True, help="Officer username.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, permit_no: str, username: str, as_json: bool) -> None:
    """Status, endorsement window and history of a permit."""
    from govcred.core.services.lifecycle import permit_view

    view = permit_view(app.runtime.collaborators, permit_no, _officer(app, username))
    echo_json(view) if as_json else _print_permit(view)


@lifecycle.command("endorse")
@click.argument("permit_no")
@click.option("--as", "username", required=True, help="The clerk at the window.")
@click.option(
    "--conditions",
    "conditions_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of the holder's current conditions, when they changed.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def endorse(app: AppContext, permit_no: str, username: str, conditions_file: str | None, as_json: bool) -> None:
    """Endorse a permit at the window (re-checks the conditions; late = reinstated)."""
    from govcred.core.exceptions import Conflict
    from govcred.core.services.lifecycle import request_endorsement

    conditions = None
    if conditions_file:
        try:
            conditions = json.loads(Path(conditions_file).read_text(encoding="utf-8"))
        except UNREADABLE as exc:  # a traceback before: the clerk's file, not a bug
            raise click.BadParameter(
                f"文件 {conditions_file} 无法作为条件列表 (JSON) 读取：{unreadable(exc)}", param_hint="--conditions"
            ) from None
    try:
        result = request_endorsement(
            app.runtime.collaborators, permit_no, _officer(app, username), "window", conditions=conditions
        )
    except Conflict as exc:
        for finding in exc.details.get("findings", ()):
            if finding["severity"] == "blocking":
                click.echo(f"  - [{finding['code']}] {finding['message_zh']}（{finding['basis']}）", err=True)
        raise
    credential = result.credential
    summary = {
        "permit_no": credential.permit_no,
        "version": credential.version,
        "late": result.late,
        "expires_at": credential.expires_at.isoformat(),
        "residence_start": credential.residence_start.isoformat() if credential.residence_start else None,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"已{'补办' if result.late else '办理'}签注：证号 {credential.permit_no} 第 {credential.version} 版，"
        f"有效至 {credential.expires_at.astimezone(BEIJING):%Y-%m-%d}"
        + (f"，连续居住自 {credential.residence_start} 起计算" if result.late else "")
    )


@lifecycle.command("replace")
@click.argument("permit_no")
@click.option("--as", "username", required=True, help="The clerk at the window.")
@click.option("--reason", type=click.Choice(["damaged", "lost"]), required=True, help="换领 damaged / 补领 lost")
@pass_app
def replace(app: AppContext, permit_no: str, username: str, reason: str) -> None:
    """换领/补领: a new permit number; the old credential stops verifying at once."""
    from govcred.core.services.lifecycle import replace_permit

    credential = replace_permit(app.runtime.collaborators, permit_no, _officer(app, username), "window", reason=reason)
    click.echo(
        f"已{'换领' if reason == 'damaged' else '补领'}：新证号 {credential.permit_no}，原证号 {permit_no} 已作废"
    )


@lifecycle.command("cancel")
@click.argument("permit_no")
@click.option("--as", "username", required=True, help="A reviewer or admin.")
@click.option("--reason", type=click.Choice(["local_hukou", "left_county"]), required=True)
@click.option("--note", default="", help="Details for the record (Chinese, up to 200 characters).")
@pass_app
def cancel(app: AppContext, permit_no: str, username: str, reason: str, note: str) -> None:
    """注销 a permit: the holder obtained local hukou or left the county."""
    from govcred.core.services.lifecycle import cancel_permit

    credential = cancel_permit(app.runtime.collaborators, permit_no, _officer(app, username), reason=reason, note=note)
    click.echo(f"已注销：证号 {credential.permit_no}（{credential.status_reason}）")


@lifecycle.command("reminders")
@click.argument("permit_no")
@click.option("--as", "username", required=True, help="The clerk recording the holder's choice.")
@click.option(
    "--set",
    "chosen",
    default=None,
    help="Comma-separated: endorsement_due, week_before, after_suspension (empty: none).",
)
@pass_app
def reminders(app: AppContext, permit_no: str, username: str, chosen: str | None) -> None:
    """Show, or set (--set), the SMS reminders the holder wants."""
    from govcred.core.services.lifecycle import permit_view, set_reminders
    from govcred.core.services.reminders import REMINDER_LABELS

    principal = _officer(app, username)
    if chosen is not None:
        set_reminders(
            app.runtime.collaborators, permit_no, principal, [r.strip() for r in chosen.split(",") if r.strip()]
        )
    current = permit_view(app.runtime.collaborators, permit_no, principal)["reminders"]
    for name, label in REMINDER_LABELS.items():
        click.echo(f"  [{'x' if name in current else ' '}] {name}  {label}")


COMMANDS = [lifecycle]
