"""``govcred credential``: show a credential, write its QR, revoke / suspend / reinstate it, and
re-issue what a revoked signing key signed."""

from __future__ import annotations

from pathlib import Path

import click

from govcred.core.cli.context import AppContext, console_admin, echo_json, pass_app
from govcred.core.models import credential_status_zh

STATUS_OF_ACTION = {"revoke": "revoked", "suspend": "suspended", "reinstate": "valid"}


@click.group()
def credential() -> None:
    """Issued credentials (证件)."""


def _status_command(action: str) -> click.Command:
    @click.command(action, help=f"{action.capitalize()} a credential; the reason is sent to the holder.")
    @click.argument("credential_id")
    @click.option("--reason", required=True, help="原因（中文，将告知持证人）")
    @pass_app
    def command(app: AppContext, credential_id: str, reason: str) -> None:
        from govcred.core.services.credential_status import change_status

        changed = change_status(
            app.runtime.collaborators,
            credential_id,
            STATUS_OF_ACTION[action],
            reason=reason,
            principal=console_admin(app),
        )
        click.echo(
            f"证件 {changed.id} 状态已变更为“{credential_status_zh(changed.status)}” (status is now {changed.status})"
        )

    return command


for _action in STATUS_OF_ACTION:
    credential.add_command(_status_command(_action))


def _load(app: AppContext, credential_id: str):
    rt = app.runtime
    with rt.uow(readonly=True) as uow:
        found = uow.credentials.get(credential_id)
    return rt, found


@credential.command("show")
@click.argument("credential_id")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: AppContext, credential_id: str, as_json: bool) -> None:
    """Show a credential (masked claims, status, validity)."""
    from govcred.core.services.credential_status import credential_view

    rt, found = _load(app, credential_id)
    view = credential_view(found, rt.settings.issuer)
    if as_json:
        echo_json(view)
        return
    for name, value in view.items():
        click.echo(f"{name:18} {value}")


@credential.command("qr")
@click.argument("credential_id")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="PNG file to write")
@click.option("--scale", type=click.IntRange(1, 64), default=6, show_default=True)
@pass_app
def qr(app: AppContext, credential_id: str, out: str, scale: int) -> None:
    """Write the credential's QR code as a PNG."""
    from govcred.core.qr import make_qr, render_png

    _, found = _load(app, credential_id)
    Path(out).write_bytes(render_png(found.token, scale=scale))
    click.echo(f"已写入 (written) {out}: QR version {make_qr(found.token).version}")


@credential.command("reissue")
@click.option("--signed-by", "kid", required=True, help="The revoked signing key (see govcred keys list).")
@click.option("--chunk", type=click.IntRange(1, 1000), default=200, show_default=True, help="Permits per transaction.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def reissue(app: AppContext, kid: str, chunk: int, as_json: bool) -> None:
    """Sign again, with the active key, every permit in use that a revoked key signed: same
    permit number, claims and validity, a new version; the holder is told by SMS and the
    provincial platform gets the new record. Safe to run again: what is done is not redone."""
    report = reissue_credentials(app, kid, chunk)
    if as_json:
        echo_json(report.as_dict())
        return
    print_reissue(report)


def reissue_credentials(app: AppContext, kid: str, chunk: int = 200):
    from govcred.core.services.key_reissue import reissue_signed_by

    return reissue_signed_by(app.runtime.collaborators, console_admin(app), kid, chunk=chunk)


def print_reissue(report) -> None:
    click.echo(
        f"已用签名密钥 {report.signed_with} 重新签发 {len(report.reissued)} 张证件（原密钥 {report.kid}），"
        f"{report.transactions} 个事务 (re-issued {len(report.reissued)} credentials)"
    )


COMMANDS = [credential]
