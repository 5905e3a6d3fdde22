"""``govcred application``: one application for the window and for checks -- its receipt as
a PDF, and what it is (state, 办件编号, deadline, findings) as JSON."""

from __future__ import annotations

from pathlib import Path

import click

from govcred.core.cli.context import AppContext, console_admin, echo_json, pass_app


@click.group()
def application() -> None:
    """Applications (申请): receipt, details."""


@application.command("receipt")
@click.argument("app_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF 文件")
@pass_app
def receipt(app: AppContext, app_id: str, out: Path) -> None:
    """Write the 受理回执 (A4 PDF) of an accepted application."""
    from govcred.core.services.receipts import receipt_pdf

    data = receipt_pdf(app.runtime.collaborators, app_id, console_admin())
    out.write_bytes(data)
    click.echo(f"受理回执已写入 {out}（{len(data)} 字节）")


@application.command("form")
@click.argument("app_id", required=False)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF 文件")
@pass_app
def form(app: AppContext, app_id: str | None, out: Path) -> None:
    """Write the printed application form: blank without APP_ID, else prefilled."""
    from govcred.core.services.paper_forms import form_pdf

    data = form_pdf(app.runtime.collaborators, app_id, console_admin())
    out.write_bytes(data)
    click.echo(f"{'申请表' if app_id else '空白申请表'}已写入 {out}（{len(data)} 字节）")


@application.command("show")
@click.argument("app_id")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, app_id: str, as_json: bool) -> None:
    """State, 办件编号, deadline and findings of one application (masked)."""
    from govcred.core.services.application_view import application_view

    view = application_view(app.runtime.collaborators, app_id, console_admin())
    if as_json:
        echo_json(view)
        return
    click.echo(f"{view['reference']}  {view['state']}  期限 {_deadline_zh(view)}")
    for finding in view["findings"]:
        click.echo(f"  [{finding['severity']}] {finding['code']}: {finding['message_zh']}")


def _deadline_zh(view: dict) -> str:
    """The deadline as the receipt and the status page say it (a Beijing date, 含), not the UTC
    instant the JSON carries (``2026-12-08T15:59:59+00:00``: the end of 8 December in Beijing)."""
    import datetime as dt

    from govcred.core.services.receipts import date_zh

    if not view["deadline"]:
        return "-"
    due = f"{date_zh(dt.datetime.fromisoformat(view['deadline']))}（含）前"
    return f"{due}（暂定）" if view.get("deadline_provisional") else due


COMMANDS = (application,)
