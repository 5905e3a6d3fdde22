"""``govcred alerts send``: the officers' morning digest and deadline escalations now;
``govcred officer contact NAME --phone P``: where an officer is told."""

from __future__ import annotations

import click

from govcred.core.cli.admin import officer
from govcred.core.cli.context import AppContext, echo_json, pass_app


@click.group()
def alerts() -> None:
    """Officers' alerts (what is due today, what is overdue)."""


@alerts.command("send")
@click.option("--json", "as_json", is_flag=True, help="Print what was sent as JSON.")
@pass_app
def alerts_send(app: AppContext, as_json: bool) -> None:
    """Queue this morning's digest (working days from 08:00 Beijing) and new escalations;
    a second run the same day queues nothing again. Servers do this every hour."""
    from govcred.core.services.alerts import send_alerts

    run = send_alerts(app.runtime.collaborators)
    if as_json:
        echo_json(run.as_dict())
        return
    if not run.digest_sent:
        click.echo(f"{run.date} 非工作日或未到 8:00，不发送每日提醒")
    click.echo(
        f"今日到期 {len(run.due_today)} 件，已超期 {len(run.overdue)} 件；"
        f"新发提醒 {run.digests_queued} 条，超期督办 {run.escalations_queued} 条"
    )


@officer.command("contact")
@click.argument("username")
@click.option("--phone", required=True, help="Mobile number for the morning alert and escalations.")
@pass_app
def officer_contact(app: AppContext, username: str, phone: str) -> None:
    """Set the mobile number an officer is alerted on (stored encrypted)."""
    from govcred.core.services.alerts import set_officer_phone

    set_officer_phone(app.runtime.collaborators, username, phone, actor="cli")
    click.echo(f"已设置 {username} 的提醒手机号 {phone[:3]}****{phone[-4:]}")


COMMANDS = (alerts,)
